"""Welfare checks and messages: the checks, the outbox of messages to workers' phones, what came
in, the phones that said STOP, and the keyed hash of each worker's phone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    op.create_table(
        "welfare_checks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(36), nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("started_by", sa.String(120), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=True),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("scope", JSON, nullable=False),
        sa.Column("sender", sa.String(60), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Integer(), nullable=False),
        sa.Column("quiet", sa.Integer(), nullable=False),
        sa.Column("reminder_at", TS, nullable=True),
        sa.Column("reminded_at", TS, nullable=True),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_welfare_checks_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welfare_checks")),
    )
    _indexes("welfare_checks", "crisis_id", "organization_id", "state")

    op.create_table(
        "messages_out",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("check_id", sa.String(36), nullable=True),
        sa.Column("crisis_id", sa.String(36), nullable=True),
        sa.Column("worker_id", sa.String(36), nullable=True),
        sa.Column("reply_to", sa.String(36), nullable=True),
        sa.Column("to_sealed", sa.Text(), nullable=True),
        sa.Column("step", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("provider_id", sa.String(80), nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages_out")),
        sa.UniqueConstraint("check_id", "worker_id", "step", name="uq_messages_out_check_id"),
    )
    _indexes(
        "messages_out", "check_id", "crisis_id", "next_attempt_at", "provider_id", "state",
        "worker_id",
    )  # fmt: skip

    op.create_table(
        "messages_in",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("provider_id", sa.String(80), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("from_hash", sa.String(64), nullable=True),
        sa.Column("from_sealed", sa.Text(), nullable=True),
        sa.Column("text_sealed", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("worker_ids", JSON, nullable=False),
        sa.Column("crisis_ids", JSON, nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("read_by", sa.String(120), nullable=True),
        sa.Column("read_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages_in")),
        sa.UniqueConstraint("gateway", "provider_id", name="uq_messages_in_gateway"),
    )
    _indexes("messages_in", "from_hash", "received_at", "state")

    op.create_table(
        "phone_stops",
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("via", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_phone_stops")),
    )

    op.add_column(
        "crises",
        sa.Column("intake", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("workers", sa.Column("phone_hash", sa.String(64), nullable=True))
    op.create_index(op.f("ix_workers_phone_hash"), "workers", ["phone_hash"])


def downgrade() -> None:
    with op.batch_alter_table("crises") as batch_op:
        batch_op.drop_column("intake")
    op.drop_index(op.f("ix_workers_phone_hash"), table_name="workers")
    with op.batch_alter_table("workers") as batch_op:
        batch_op.drop_column("phone_hash")
    op.drop_table("phone_stops")
    op.drop_table("messages_in")
    op.drop_table("messages_out")
    op.drop_table("welfare_checks")
