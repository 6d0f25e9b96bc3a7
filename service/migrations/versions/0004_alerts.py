"""Alerts from every source, their versions and aliases, and the feeds' health.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("external_id", sa.String(300), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("certainty", sa.String(16), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("headline", sa.String(1000), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("onset", TS, nullable=True),
        sa.Column("expires", TS, nullable=True),
        sa.Column("sent", TS, nullable=True),
        sa.Column("geometry", JSON, nullable=True),
        sa.Column("zone", JSON, nullable=True),
        sa.Column("zone_source", sa.String(40), nullable=True),
        sa.Column("languages", JSON, nullable=False),
        sa.Column("countries", JSON, nullable=False),
        sa.Column("url", sa.String(1000), nullable=True),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("versions", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("source", "external_id", name="uq_alerts_source_external_id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_hazard"), ["hazard"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_sent"), ["sent"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "feed_states",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("etag", sa.String(300), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("last_attempt", TS, nullable=True),
        sa.Column("last_success", TS, nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("last_error_at", TS, nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("items_seen", sa.Integer(), nullable=False),
        sa.Column("alerts_new", sa.Integer(), nullable=False),
        sa.Column("alerts_updated", sa.Integer(), nullable=False),
        sa.Column("next_due", TS, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_states")),
    )
    op.create_table(
        "alert_aliases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("alias", sa.String(300), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_aliases_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_aliases")),
        sa.UniqueConstraint("source", "alias", name="uq_alert_aliases_source"),
    )
    with op.batch_alter_table("alert_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_aliases_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "alert_versions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("fetch", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_versions_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_versions")),
        sa.UniqueConstraint("alert_id", "version", name="uq_alert_versions_alert_id"),
    )
    with op.batch_alter_table("alert_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_versions_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_versions_alert_id"))

    op.drop_table("alert_versions")
    with op.batch_alter_table("alert_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_aliases_alert_id"))

    op.drop_table("alert_aliases")
    op.drop_table("feed_states")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_updated_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_alerts_source"))
        batch_op.drop_index(batch_op.f("ix_alerts_sent"))
        batch_op.drop_index(batch_op.f("ix_alerts_hazard"))

    op.drop_table("alerts")
