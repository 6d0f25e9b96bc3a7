"""Drop the indexes on workers' employer and agency ids.

No query filters on them: the exposure index reads both columns into memory and counts by them
there. Each index cost every registration and import a B-tree insert (a bulk import into
PostgreSQL spent about a fifth of its database time on the two).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_employer_org_id"))
        batch_op.drop_index(batch_op.f("ix_workers_agency_org_id"))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workers_agency_org_id"), ["agency_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_workers_employer_org_id"), ["employer_org_id"], unique=False
        )
