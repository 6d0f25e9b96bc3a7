"""Repatriation: eligibility rules per crisis; how a case was opened (by an officer, from a
welfare reply, in bulk) and whether the family at home is told.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "repatriation_rules",
        sa.Column("crisis_id", sa.String(36), nullable=False),
        sa.Column("repatriation_level", sa.Integer(), nullable=False),
        sa.Column("relocation_level", sa.Integer(), nullable=False),
        sa.Column("nationalities", JSON, nullable=False),
        sa.Column("admin1", JSON, nullable=False),
        sa.Column("priority", JSON, nullable=False),
        sa.Column("set_by", sa.String(120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_repatriation_rules_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("crisis_id", name=op.f("pk_repatriation_rules")),
    )
    op.add_column(
        "repatriation_cases",
        sa.Column("source", sa.String(16), nullable=False, server_default="officer"),
    )
    op.add_column("repatriation_cases", sa.Column("reply_id", sa.String(36), nullable=True))
    op.add_column(
        "repatriation_cases",
        sa.Column("tell_family", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("repatriation_cases", sa.Column("family_phone_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repatriation_cases") as batch_op:
        batch_op.drop_column("family_phone_sealed")
        batch_op.drop_column("tell_family")
        batch_op.drop_column("reply_id")
        batch_op.drop_column("source")
    op.drop_table("repatriation_rules")
