"""Who handed each task on: the organisation keeps reading what it handed, and to whom.

Filled from what the database already holds: a reassignment in a task's history hands it from
the organisation it left; a task no longer blocked was handed on by the organisations of the
tasks it waited for (``after``) that are not its own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-14
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _existing(connection: sa.Connection) -> list[dict[str, Any]]:
    """The hand-offs the tasks and their history already show, one per task and organisation."""
    tasks = {
        row.id: (row.assignee_org, row.status, _json(row.after) or [])
        for row in connection.execute(sa.text("SELECT id, assignee_org, status, after FROM tasks"))
    }
    found: dict[tuple[str, str], dict[str, Any]] = {}
    now = datetime.now(UTC)
    for row in connection.execute(sa.text("SELECT task_id, at, changes FROM task_changes")):
        moved = (_json(row.changes) or {}).get("assignee_org")
        if isinstance(moved, dict) and moved.get("from") and row.task_id in tasks:
            found.setdefault(
                (row.task_id, moved["from"]),
                {"to_org": moved.get("to"), "reason": "reassigned", "at": row.at or now},
            )
    for task_id, (assignee, status, after) in tasks.items():
        if status == "blocked":
            continue
        for predecessor in after:
            org = tasks.get(predecessor, (None, None, None))[0]
            if org and org != assignee:
                found.setdefault(
                    (task_id, org), {"to_org": assignee, "reason": "predecessor_done", "at": now}
                )
    return [
        {"id": str(uuid.uuid4()), "task_id": task_id, "from_org": org, **rest}
        for (task_id, org), rest in found.items()
    ]


def upgrade() -> None:
    handoffs = op.create_table(
        "task_handoffs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("from_org", sa.String(36), nullable=False),
        sa.Column("to_org", sa.String(36), nullable=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_handoffs_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_handoffs")),
        sa.UniqueConstraint("task_id", "from_org", name="uq_task_handoffs_task_id"),
    )
    with op.batch_alter_table("task_handoffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_handoffs_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_handoffs_from_org"), ["from_org"], unique=False)
    rows = _existing(op.get_bind())
    if rows:
        op.bulk_insert(handoffs, rows)


def downgrade() -> None:
    with op.batch_alter_table("task_handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_handoffs_from_org"))
        batch_op.drop_index(batch_op.f("ix_task_handoffs_task_id"))
    op.drop_table("task_handoffs")
