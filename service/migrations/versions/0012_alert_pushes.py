"""What followed an alert: the crisis pass's outcome on each version, and who pushed which.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-16
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alert_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("crisis_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("tasks", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("why", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("handled_at", TS, nullable=True))
    op.create_table(
        "alert_pushes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("received", sa.String(16), nullable=False),
        sa.Column("pushed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_pushes_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_pushes")),
        sa.UniqueConstraint(
            "alert_id", "version", "organization_id", name="uq_alert_pushes_alert_id"
        ),
    )
    with op.batch_alter_table("alert_pushes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_pushes_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_pushes_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_pushes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_pushes_organization_id"))
        batch_op.drop_index(batch_op.f("ix_alert_pushes_alert_id"))
    op.drop_table("alert_pushes")
    with op.batch_alter_table("alert_versions", schema=None) as batch_op:
        batch_op.drop_column("handled_at")
        batch_op.drop_column("why")
        batch_op.drop_column("tasks")
        batch_op.drop_column("crisis_id")
        batch_op.drop_column("result")
