"""Task use cases: create (from playbooks or by hand), read what one may, change with If-Match,
comment; when the last predecessor is done, the next organisation is told (the hand-off)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.models import AuditEvent
from service.audit.service import take_pending
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.crises.models import Crisis
from service.crises.service import event as crisis_event
from service.crises.service import task_event, task_event_values
from service.db import metadata, new_id, utcnow
from service.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from service.tasks.models import TRANSITIONS, Task, TaskChange, TaskComment, TaskStatus

#: The tables, for the statements that write them without loading objects.
_TABLES = metadata.tables
_TASKS = _TABLES["tasks"]
#: Built once: building a statement costs about as much as running it.
_READ_TASK = core_select(_TASKS).where(_TASKS.c.id == bindparam("task_id"))
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


#: What a PATCH may change.
CHANGEABLE = ("status", "assignee_org", "assignee_user", "due_at")


async def change_task(
    session: AsyncSession,
    *,
    actor: Principal,
    task_id: str,
    if_match: int | None,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Change a task at the version the caller read; return the task as it now is.

    The hot path of the API: the task is read once, and the update (guarded by the version, so
    that of two writers with the same ``If-Match`` one gets 412), its history entry, its
    timeline entry, its outbox event and the call's audit row are written together.
    """
    connection = await session.connection()
    found = await connection.execute(_READ_TASK, {"task_id": task_id})
    row = found.mappings().first()
    if row is None or not (sees_all(actor) or row["assignee_org"] == actor.organization_id):
        raise NotFound(f"No task with id {task_id}")
    task = dict(row)
    if if_match is None:
        raise PreconditionFailed(
            "Send If-Match with the version you read", extra={"current_version": task["version"]}
        )
    if if_match != task["version"]:
        raise PreconditionFailed(
            f"The task changed since version {if_match}; read it again",
            extra={"current_version": task["version"]},
        )
    if "assignee_org" in changes and not sees_all(actor):
        raise Forbidden("Only coordinators reassign a task to another organisation")
    if "status" in changes:
        new = TaskStatus(changes["status"])
        if new.value != task["status"] and new not in TRANSITIONS[TaskStatus(task["status"])]:
            raise InvalidInput(
                f"A task cannot go from {task['status']} to {new.value}",
                errors=[{"loc": ["body", "status"], "msg": f"not allowed after {task['status']}"}],
            )
    before = {k: task[k] for k, v in changes.items() if task[k] != v}
    if not before:
        return task
    task.update({k: changes[k] for k in before})
    task["version"] += 1
    task["updated_at"] = utcnow()
    history = {
        "id": new_id(),
        "task_id": task_id,
        "at": task["updated_at"],
        "actor": _who(actor),
        "changes": {k: {"from": _plain(v), "to": _plain(task[k])} for k, v in before.items()},
    }
    timeline: dict[str, Any] | None
    outbox: dict[str, Any] | None
    timeline, outbox = task_event_values(
        crisis_id=task["crisis_id"],
        exercise=task["exercise"],
        kind="task_updated",
        actor=actor,
        detail={
            "task_id": task_id,
            "fields": ",".join(sorted(before)),
            "assignee_org": task["assignee_org"],
            "status": task["status"],
        },
    )
    if actor.channel != "api" and timeline is not None:
        # Not an API call: the timeline entry also needs an audit row of its own.
        task_event(
            session,
            crisis_id=task["crisis_id"],
            exercise=task["exercise"],
            kind="task_updated",
            actor=actor,
            **timeline["detail"],
        )
        timeline = outbox = None
    if not await _write_change(session, task, if_match, history, timeline, outbox):
        current = (await session.exec(select(Task.version).where(col(Task.id) == task_id))).first()
        raise PreconditionFailed(
            f"The task changed since version {if_match}; read it again",
            extra={"current_version": current},
        )
    if task["status"] == TaskStatus.DONE.value:
        await _hand_off(session, task["crisis_id"], task_id, actor)
        await session.flush()
    return task


async def _write_change(
    session: AsyncSession,
    task: dict[str, Any],
    version: int,
    history: dict[str, Any],
    timeline: dict[str, Any] | None,
    outbox: dict[str, Any] | None,
) -> bool:
    """Update the task if it is still at ``version`` and write the rows that go with the change;
    False (and nothing written) if another writer got there first."""
    values = {k: task[k] for k in (*CHANGEABLE, "version", "updated_at")}
    connection = await session.connection()
    if connection.dialect.name == "postgresql" and timeline is not None and outbox is not None:
        audit = take_pending(session)
        if len(audit) == 1:
            return await _write_change_pg(
                session, task, version, values, history, timeline, outbox, audit[0]
            )
        for event in audit:
            session.add(event)
    await session.flush()
    updated = await connection.execute(
        update(_TASKS)
        .where(_TASKS.c.id == task["id"], _TASKS.c.version == version)
        .values(**values)
    )
    if updated.rowcount != 1:
        return False
    await connection.execute(insert(_TABLES["task_changes"]).values(**history))
    if timeline is not None:
        await connection.execute(insert(_TABLES["crisis_events"]).values(**timeline))
    if outbox is not None:
        await connection.execute(insert(_TABLES["outbox_events"]).values(**outbox))
    return True


#: One round trip on PostgreSQL: each insert takes its row from the update's, so that a stale
#: version writes nothing at all.
_CHANGE_PG = text(
    """
WITH changed AS (
    UPDATE tasks SET status = :status, assignee_org = :assignee_org,
        assignee_user = :assignee_user, due_at = :due_at, version = :new_version,
        updated_at = :updated_at
    WHERE id = :task_id AND version = :version
    RETURNING id
), history AS (
    INSERT INTO task_changes (id, task_id, at, actor, changes)
    SELECT :h_id, id, CAST(:updated_at AS TIMESTAMPTZ), :h_actor, CAST(:h_changes AS JSONB)
    FROM changed
), timeline AS (
    INSERT INTO crisis_events (id, crisis_id, at, kind, actor, detail)
    SELECT :t_id, :t_crisis_id, CAST(:t_at AS TIMESTAMPTZ), :t_kind, :t_actor,
        CAST(:t_detail AS JSONB)
    FROM changed
), outbox AS (
    INSERT INTO outbox_events (id, type, subject, occurred_at, organization_id, fanned_out, data)
    SELECT :o_id, :o_type, :o_subject, CAST(:o_occurred_at AS TIMESTAMPTZ), :o_organization_id,
        false, CAST(:o_data AS JSONB)
    FROM changed
), audit AS (
    INSERT INTO audit_events (at, channel, request_id, token_id, organization_id, role, action,
        outcome, subject_type, subject_id, purpose, detail)
    SELECT CAST(:a_at AS TIMESTAMPTZ), :a_channel, :a_request_id, :a_token_id,
        :a_organization_id, :a_role, :a_action, :a_outcome, :a_subject_type, :a_subject_id,
        :a_purpose, CAST(:a_detail AS JSONB)
    FROM changed
)
SELECT count(*) FROM changed
"""
)


async def _write_change_pg(
    session: AsyncSession,
    task: dict[str, Any],
    version: int,
    values: dict[str, Any],
    history: dict[str, Any],
    timeline: dict[str, Any],
    outbox: dict[str, Any],
    audit: AuditEvent,
) -> bool:
    params: dict[str, Any] = {
        "status": values["status"],
        "assignee_org": values["assignee_org"],
        "assignee_user": values["assignee_user"],
        "due_at": values["due_at"],
        "new_version": values["version"],
        "updated_at": values["updated_at"],
        "task_id": task["id"],
        "version": version,
        "h_id": history["id"],
        "h_actor": history["actor"],
        "h_changes": json.dumps(history["changes"]),
        **{f"t_{k}": v for k, v in timeline.items()},
        "t_detail": json.dumps(timeline["detail"]),
        **{f"o_{k}": v for k, v in outbox.items() if k != "fanned_out"},
        "o_data": json.dumps(outbox["data"]),
        **{f"a_{c}": getattr(audit, c) for c in _AUDIT_COLUMNS},
        "a_detail": json.dumps(audit.detail),
    }
    connection = await session.connection()
    written = (await connection.execute(_CHANGE_PG, params)).scalar_one()
    return bool(written)


_AUDIT_COLUMNS = (
    "at",
    "channel",
    "request_id",
    "token_id",
    "organization_id",
    "role",
    "action",
    "outcome",
    "subject_type",
    "subject_id",
    "purpose",
)


async def _hand_off(session: AsyncSession, crisis_id: str, done_id: str, actor: Principal) -> None:
    """Unblock the tasks waiting on ``done_id`` whose predecessors are now all done."""
    waiting = (
        await session.exec(
            select(Task).where(Task.crisis_id == crisis_id, Task.status == TaskStatus.BLOCKED.value)
        )
    ).all()
    for task in waiting:
        if done_id not in task.after:
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
                from_task=done_id,
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
