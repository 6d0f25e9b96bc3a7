"""Repatriation: cases per worker and crisis with their history, movements, their legs, seats.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "movements",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("organised_by", sa.String(36), nullable=True),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_movements_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movements")),
    )
    op.create_index(op.f("ix_movements_crisis_id"), "movements", ["crisis_id"])
    op.create_table(
        "repatriation_cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(36), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(200), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("consent", sa.String(10), nullable=False),
        sa.Column("consent_at", TS, nullable=True),
        sa.Column("consent_by", sa.String(120), nullable=True),
        sa.Column("passport", sa.String(20), nullable=False),
        sa.Column("family", sa.Integer(), nullable=False),
        sa.Column("needs", JSON, nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("movement_id", sa.String(36), nullable=True),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_repatriation_cases_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repatriation_cases")),
        sa.UniqueConstraint(
            "crisis_id", "worker_id", "kind", name="uq_repatriation_cases_crisis_id"
        ),
    )
    op.create_index(op.f("ix_repatriation_cases_crisis_id"), "repatriation_cases", ["crisis_id"])
    op.create_index(
        op.f("ix_repatriation_cases_movement_id"), "repatriation_cases", ["movement_id"]
    )
    op.create_index(
        op.f("ix_repatriation_cases_nationality"), "repatriation_cases", ["nationality"]
    )
    op.create_index(op.f("ix_repatriation_cases_state"), "repatriation_cases", ["state"])
    op.create_index(op.f("ix_repatriation_cases_worker_id"), "repatriation_cases", ["worker_id"])
    op.create_table(
        "movement_legs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("movement_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("origin", sa.String(120), nullable=False),
        sa.Column("destination", sa.String(120), nullable=False),
        sa.Column("departs_at", TS, nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("cost_per_place", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["movements.id"],
            name=op.f("fk_movement_legs_movement_id_movements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movement_legs")),
        sa.UniqueConstraint("movement_id", "seq", name="uq_movement_legs_movement_id"),
    )
    op.create_index(op.f("ix_movement_legs_movement_id"), "movement_legs", ["movement_id"])
    op.create_table(
        "repatriation_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("previous", sa.String(16), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["repatriation_cases.id"],
            name=op.f("fk_repatriation_events_case_id_repatriation_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repatriation_events")),
    )
    op.create_index(op.f("ix_repatriation_events_case_id"), "repatriation_events", ["case_id"])
    op.create_table(
        "movement_seats",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("leg_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("boarded_at", TS, nullable=True),
        sa.Column("arrived_at", TS, nullable=True),
        sa.Column("checked_by", sa.String(120), nullable=True),
        sa.ForeignKeyConstraint(
            ["leg_id"],
            ["movement_legs.id"],
            name=op.f("fk_movement_seats_leg_id_movement_legs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movement_seats")),
        sa.UniqueConstraint("leg_id", "case_id", name="uq_movement_seats_leg_id"),
    )
    op.create_index(op.f("ix_movement_seats_case_id"), "movement_seats", ["case_id"])
    op.create_index(op.f("ix_movement_seats_leg_id"), "movement_seats", ["leg_id"])
    op.create_table(
        "funds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds")),
    )
    op.create_table(
        "fund_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("crisis_id", sa.String(36), nullable=True),
        sa.Column("movement_id", sa.String(36), nullable=True),
        sa.Column("against", sa.String(36), nullable=True),
        sa.Column("worker_id", sa.String(36), nullable=True),
        sa.Column("debtor_org_id", sa.String(36), nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("override", sa.String(300), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["fund_id"],
            ["funds.id"],
            name=op.f("fk_fund_entries_fund_id_funds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_entries")),
    )
    for column in ("crisis_id", "debtor_org_id", "fund_id", "movement_id"):
        op.create_index(op.f(f"ix_fund_entries_{column}"), "fund_entries", [column])


def downgrade() -> None:
    op.drop_table("fund_entries")
    op.drop_table("funds")
    op.drop_table("movement_seats")
    op.drop_table("repatriation_events")
    op.drop_table("movement_legs")
    op.drop_table("repatriation_cases")
    op.drop_table("movements")
