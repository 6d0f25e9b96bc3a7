"""Workers' employer and recruitment agency, linked to the directory when they are in it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recruitment_agency", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("employer_org_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("agency_org_id", sa.String(36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_workers_agency_org_id"), ["agency_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_workers_employer_org_id"), ["employer_org_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_employer_org_id"))
        batch_op.drop_index(batch_op.f("ix_workers_agency_org_id"))
        batch_op.drop_column("agency_org_id")
        batch_op.drop_column("employer_org_id")
        batch_op.drop_column("recruitment_agency")
