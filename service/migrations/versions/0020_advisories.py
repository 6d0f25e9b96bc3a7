"""Advisories: each version of a crisis's public advisory for the workers, as sent in CAP.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("identifier", sa.String(300), nullable=False),
        sa.Column("sender", sa.String(100), nullable=False),
        sa.Column("sent", TS, nullable=False),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("contact", sa.String(100), nullable=False),
        sa.Column("web", sa.String(500), nullable=True),
        sa.Column("references", JSON, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_advisories_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
        sa.UniqueConstraint("crisis_id", "version", name="uq_advisories_crisis_id"),
    )
    op.create_index(op.f("ix_advisories_crisis_id"), "advisories", ["crisis_id"])


def downgrade() -> None:
    op.drop_table("advisories")
