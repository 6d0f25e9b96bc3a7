"""Crises: zones (versioned), linked alerts, exposure snapshots, timeline; alerts processed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crises",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("alert_level", sa.Integer(), nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("stood_down", sa.Boolean(), nullable=False),
        sa.Column("countries", JSON, nullable=False),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crises")),
    )
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crises_hazard"), ["hazard"], unique=False)
        batch_op.create_index(batch_op.f("ix_crises_phase"), ["phase"], unique=False)
        batch_op.create_index(batch_op.f("ix_crises_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "crisis_alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("alert_version", sa.String(100), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_crisis_alerts_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_alerts")),
        sa.UniqueConstraint("crisis_id", "alert_id", name="uq_crisis_alerts_crisis_id"),
    )
    with op.batch_alter_table("crisis_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_alerts_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crisis_alerts_crisis_id"), ["crisis_id"], unique=False)

    op.create_table(
        "crisis_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(length=36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_crisis_events_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_events")),
    )
    with op.batch_alter_table("crisis_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_events_crisis_id"), ["crisis_id"], unique=False)

    op.create_table(
        "crisis_zones",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("geometry", JSON, nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_crisis_zones_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_zones")),
        sa.UniqueConstraint("crisis_id", "version", name="uq_crisis_zones_crisis_id"),
    )
    with op.batch_alter_table("crisis_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_zones_crisis_id"), ["crisis_id"], unique=False)

    op.create_table(
        "exposure_snapshots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("crisis_id", sa.String(length=36), nullable=False),
        sa.Column("zone_version", sa.Integer(), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_exposure_snapshots_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_snapshots")),
    )
    with op.batch_alter_table("exposure_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exposure_snapshots_crisis_id"), ["crisis_id"], unique=False
        )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processed_version", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("processed_version")

    with op.batch_alter_table("exposure_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exposure_snapshots_crisis_id"))

    op.drop_table("exposure_snapshots")
    with op.batch_alter_table("crisis_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_zones_crisis_id"))

    op.drop_table("crisis_zones")
    with op.batch_alter_table("crisis_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_events_crisis_id"))

    op.drop_table("crisis_events")
    with op.batch_alter_table("crisis_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_alerts_crisis_id"))
        batch_op.drop_index(batch_op.f("ix_crisis_alerts_alert_id"))

    op.drop_table("crisis_alerts")
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crises_updated_at"))
        batch_op.drop_index(batch_op.f("ix_crises_phase"))
        batch_op.drop_index(batch_op.f("ix_crises_hazard"))

    op.drop_table("crises")
