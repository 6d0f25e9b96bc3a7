"""Task tables: the task, its comments, its history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


#: Which status may follow which. ``blocked`` is set and lifted by the hand-off logic too.
TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset(
        {
            TaskStatus.ACKNOWLEDGED,
            TaskStatus.IN_PROGRESS,
            TaskStatus.BLOCKED,
            TaskStatus.DONE,
            TaskStatus.CANCELLED,
        }
    ),
    TaskStatus.ACKNOWLEDGED: frozenset(
        {TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED, TaskStatus.DONE, TaskStatus.CANCELLED}
    ),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.BLOCKED, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.BLOCKED: frozenset(
        {TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED, TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED}
    ),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("crisis_id", "key", name="uq_tasks_crisis_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    #: The playbook action and its scope (``core.contact_nationals@PHL@MYS``), or ``manual:<id>``.
    key: str = Field(max_length=300)
    playbook: str | None = Field(default=None, max_length=100)
    title: str = Field(max_length=500)
    description: str = Field(default="", sa_type=Text)
    assignee_org: str | None = Field(default=None, max_length=36, index=True)
    assignee_user: str | None = Field(default=None, max_length=200)
    #: The role the playbook asked for (embassy, national_society_host...).
    actor_role: str | None = Field(default=None, max_length=60)
    #: Nobody fills the role: the task sits with the coordinators, visibly.
    coverage_gap: bool = False
    status: str = Field(default=TaskStatus.OPEN.value, max_length=16, index=True)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    escalate_after_s: int | None = None
    escalate_to: str | None = Field(default=None, max_length=36)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    after: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    basis: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    exercise: bool = False
    #: Set when the crisis stood down while the task was under way: a human decides.
    needs_review: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TaskComment(SQLModel, table=True):
    __tablename__ = "task_comments"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    task_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    author_org: str | None = Field(default=None, max_length=36)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TaskChange(SQLModel, table=True):
    """The task's history: every change, who made it, what it was before."""

    __tablename__ = "task_changes"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    task_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    changes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )


class HandOffReason(enum.StrEnum):
    #: A coordinator moved the task from this organisation to another.
    REASSIGNED = "reassigned"
    #: This organisation finished a task the next one waited for (``after``), held by another.
    PREDECESSOR_DONE = "predecessor_done"


class TaskHandOff(SQLModel, table=True):
    """An organisation that handed a task on: it keeps reading it (not changing it)."""

    __tablename__ = "task_handoffs"
    __table_args__ = (UniqueConstraint("task_id", "from_org", name="uq_task_handoffs_task_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    task_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    from_org: str = Field(max_length=36, index=True)
    to_org: str | None = Field(default=None, max_length=36)
    reason: str = Field(max_length=20)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
