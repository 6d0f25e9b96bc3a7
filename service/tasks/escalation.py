"""Escalation: a task not acknowledged within its ``escalate_after`` is escalated once, visibly,
and keeps its owner. Times come from the database, so a restarted worker misses nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import WORKER
from service.crises.models import Crisis
from service.crises.service import event as crisis_event
from service.db import utcnow
from service.tasks.models import Task, TaskChange, TaskStatus


async def escalate_due(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 500
) -> list[Task]:
    """Escalate every open task past its escalation time; return them. The candidates are read
    in pages of ``limit``, oldest first, to the last: a task's time is its creation plus its
    own delay, so the oldest ones are not the first due, and a first page of tasks with long
    delays once kept a newer task with a short one from ever being escalated."""
    now = now or utcnow()
    escalated: list[Task] = []
    after: tuple[datetime, str] | None = None
    while True:
        query = (
            select(Task)
            .where(Task.status == TaskStatus.OPEN.value)
            .where(col(Task.escalated_at).is_(None))
            .where(col(Task.escalate_after_s).is_not(None))
            .order_by(col(Task.created_at), col(Task.id))
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                (col(Task.created_at) > after[0])
                | ((col(Task.created_at) == after[0]) & (col(Task.id) > after[1]))
            )
        candidates = (await session.exec(query)).all()
        escalated += await _escalate(session, candidates, now)
        if len(candidates) < limit:
            break
        after = (candidates[-1].created_at, candidates[-1].id)
    await session.flush()
    return escalated


async def _escalate(session: AsyncSession, candidates: Sequence[Task], now: datetime) -> list[Task]:
    escalated = []
    for task in candidates:
        assert task.escalate_after_s is not None
        if task.created_at + timedelta(seconds=task.escalate_after_s) > now:
            continue
        task.escalated_at = now
        task.version += 1
        task.updated_at = now
        session.add(task)
        session.add(
            TaskChange(
                task_id=task.id,
                actor="worker",
                changes={"escalated_to": task.escalate_to or "coordinators"},
            )
        )
        crisis = await session.get(Crisis, task.crisis_id)
        if crisis is not None:
            await crisis_event(
                session,
                crisis,
                "task_escalated",
                WORKER,
                task_id=task.id,
                to=task.escalate_to or "coordinators",
                owner=task.assignee_org,
            )
        escalated.append(task)
    return escalated
