"""Task use cases: create (from playbooks or by hand), read what one may, change with If-Match,
comment; when the last predecessor is done, the next organisation is told (the hand-off)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.crises.models import Crisis
from service.crises.service import event as crisis_event
from service.crises.service import task_event
from service.db import utcnow
from service.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from service.tasks.models import TRANSITIONS, Task, TaskChange, TaskComment, TaskStatus

OPEN_STATES = {TaskStatus.OPEN.value, TaskStatus.ACKNOWLEDGED.value, TaskStatus.BLOCKED.value}


def sees_all(actor: Principal) -> bool:
    return actor.role in {Role.ADMIN, Role.COORDINATOR}


def visible(actor: Principal, task: Task) -> bool:
    return sees_all(actor) or (
        task.assignee_org is not None and task.assignee_org == actor.organization_id
    )


def _who(actor: Principal) -> str:
    return actor.organization_slug or actor.channel


async def create_task(
    session: AsyncSession, *, crisis: Crisis, actor: Principal, values: dict[str, Any]
) -> Task:
    task = Task(crisis_id=crisis.id, exercise=crisis.exercise, **values)
    if task.after:
        task.status = TaskStatus.BLOCKED.value
    session.add(task)
    await session.flush()
    session.add(TaskChange(task_id=task.id, actor=_who(actor), changes={"created": task.key}))
    crisis_event(
        session,
        crisis,
        "task_created",
        actor,
        task_id=task.id,
        key=task.key,
        assignee_org=task.assignee_org,
        coverage_gap=task.coverage_gap,
    )
    return task


async def existing_keys(session: AsyncSession, crisis_id: str) -> dict[str, str]:
    """Key → task id of the crisis's tasks: what the playbooks must not plan again."""
    rows = (await session.exec(select(Task).where(Task.crisis_id == crisis_id))).all()
    return {t.key: t.id for t in rows}


async def get_task(session: AsyncSession, *, actor: Principal, task_id: str) -> Task:
    task = await session.get(Task, task_id)
    if task is None or not visible(actor, task):
        raise NotFound(f"No task with id {task_id}")
    return task


async def list_tasks(
    session: AsyncSession,
    *,
    actor: Principal,
    limit: int,
    after_id: str | None,
    org: str | None,
    status: str | None,
    crisis: str | None,
    due_before: datetime | None,
) -> Sequence[Task]:
    query = select(Task).order_by(col(Task.id)).limit(limit)
    if not sees_all(actor):
        query = query.where(Task.assignee_org == (actor.organization_id or ""))
    if after_id:
        query = query.where(col(Task.id) > after_id)
    if org:
        query = query.where(Task.assignee_org == org)
    if status:
        query = query.where(Task.status == status)
    if crisis:
        query = query.where(Task.crisis_id == crisis)
    if due_before:
        query = query.where(col(Task.due_at) < due_before)
    return (await session.exec(query)).all()


async def change_task(
    session: AsyncSession,
    *,
    actor: Principal,
    task_id: str,
    if_match: int | None,
    changes: dict[str, Any],
) -> Task:
    task = await get_task(session, actor=actor, task_id=task_id)
    if if_match is None:
        raise PreconditionFailed(
            "Send If-Match with the version you read", extra={"current_version": task.version}
        )
    if if_match != task.version:
        raise PreconditionFailed(
            f"The task changed since version {if_match}; read it again",
            extra={"current_version": task.version},
        )
    if "assignee_org" in changes and not sees_all(actor):
        raise Forbidden("Only coordinators reassign a task to another organisation")
    before: dict[str, Any] = {}
    if "status" in changes:
        new = TaskStatus(changes["status"])
        if new.value != task.status and new not in TRANSITIONS[TaskStatus(task.status)]:
            raise InvalidInput(
                f"A task cannot go from {task.status} to {new.value}",
                errors=[{"loc": ["body", "status"], "msg": f"not allowed after {task.status}"}],
            )
    for name, value in changes.items():
        if getattr(task, name) != value:
            before[name] = getattr(task, name)
            setattr(task, name, value)
    if not before:
        return task
    task.version += 1
    task.updated_at = utcnow()
    session.add(task)
    session.add(
        TaskChange(
            task_id=task.id,
            actor=_who(actor),
            changes={
                k: {"from": _plain(v), "to": _plain(getattr(task, k))} for k, v in before.items()
            },
        )
    )
    task_event(
        session,
        crisis_id=task.crisis_id,
        exercise=task.exercise,
        kind="task_updated",
        actor=actor,
        task_id=task.id,
        fields=",".join(sorted(before)),
        assignee_org=task.assignee_org,
        status=task.status,
    )
    if task.status == TaskStatus.DONE.value:
        await _hand_off(session, task, actor)
    await session.flush()
    return task


async def _hand_off(session: AsyncSession, done: Task, actor: Principal) -> None:
    """Unblock the tasks waiting on ``done`` whose predecessors are now all done."""
    waiting = (
        await session.exec(
            select(Task).where(
                Task.crisis_id == done.crisis_id, Task.status == TaskStatus.BLOCKED.value
            )
        )
    ).all()
    for task in waiting:
        if done.id not in task.after:
            continue
        predecessors = (await session.exec(select(Task).where(col(Task.id).in_(task.after)))).all()
        if all(p.status == TaskStatus.DONE.value for p in predecessors):
            task.status = TaskStatus.OPEN.value
            task.version += 1
            task.updated_at = utcnow()
            session.add(task)
            session.add(
                TaskChange(
                    task_id=task.id,
                    actor=_who(actor),
                    changes={"status": {"from": "blocked", "to": "open"}},
                )
            )
            task_event(
                session,
                crisis_id=task.crisis_id,
                exercise=task.exercise,
                kind="task_handed_off",
                actor=actor,
                task_id=task.id,
                from_task=done.id,
                to_org=task.assignee_org,
            )


async def stand_down_tasks(
    session: AsyncSession, crisis: Crisis, actor: Principal
) -> tuple[int, int]:
    """Tasks not yet started are cancelled; those under way are flagged for a human."""
    cancelled = flagged = 0
    for task in (await session.exec(select(Task).where(Task.crisis_id == crisis.id))).all():
        if task.status in OPEN_STATES:
            task.status = TaskStatus.CANCELLED.value
            cancelled += 1
        elif task.status == TaskStatus.IN_PROGRESS.value:
            task.needs_review = True
            flagged += 1
        else:
            continue
        task.version += 1
        task.updated_at = utcnow()
        session.add(task)
    crisis_event(session, crisis, "tasks_stood_down", actor, cancelled=cancelled, flagged=flagged)
    return cancelled, flagged


async def add_comment(
    session: AsyncSession, *, actor: Principal, task_id: str, body: str
) -> TaskComment:
    task = await get_task(session, actor=actor, task_id=task_id)
    comment = TaskComment(task_id=task.id, author_org=actor.organization_id, body=body)
    session.add(comment)
    await session.flush()
    return comment


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
