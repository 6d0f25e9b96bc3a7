"""Welfare checks: each worker's status in a crisis, and its history.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "welfare_statuses",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(36), nullable=False),
        sa.Column("worker_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("how", sa.String(8), nullable=True),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_welfare_statuses_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welfare_statuses")),
        sa.UniqueConstraint("crisis_id", "worker_id", name="uq_welfare_statuses_crisis_id"),
    )
    with op.batch_alter_table("welfare_statuses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_welfare_statuses_crisis_id"), ["crisis_id"])
        batch_op.create_index(batch_op.f("ix_welfare_statuses_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_welfare_statuses_worker_id"), ["worker_id"])

    op.create_table(
        "welfare_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("status_id", sa.String(36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("previous", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("how", sa.String(8), nullable=True),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["welfare_statuses.id"],
            name=op.f("fk_welfare_events_status_id_welfare_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welfare_events")),
    )
    with op.batch_alter_table("welfare_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_welfare_events_status_id"), ["status_id"])


def downgrade() -> None:
    op.drop_table("welfare_events")
    op.drop_table("welfare_statuses")
