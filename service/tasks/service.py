"""Task use cases: create (from playbooks or by hand), read what one may, change with If-Match,
comment; when the last predecessor is done, the next organisation is told (the hand-off).

An organisation that handed a task on keeps reading it, and changes it no more: it handed it when
a coordinator moved the task from it to another organisation, or when its own task, one that
the next task waited for (``after``), was done and the next task sits with another organisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.changes import Guard, who
from service.crises.models import Crisis, CrisisEvent
from service.crises.service import event as crisis_event
from service.crises.service import task_event
from service.db import metadata, new_id, utcnow
from service.directory.models import Organization
from service.errors import Forbidden, InvalidInput, PreconditionFailed
from service.lookups import get_or_404, not_found
from service.pagination import Page, paginate
from service.tasks.models import (
    TRANSITIONS,
    HandOffReason,
    Task,
    TaskChange,
    TaskComment,
    TaskHandOff,
    TaskStatus,
)
from service.tasks.schemas import TaskPublic
from service.users.service import check_assignee

#: The tables, for the statements that write them without loading objects.
_TABLES = metadata.tables
_TASKS = _TABLES["tasks"]
#: Built once: building a statement costs about as much as running it.
_READ_TASK = core_select(_TASKS).where(_TASKS.c.id == bindparam("task_id"))
OPEN_STATES = {TaskStatus.OPEN.value, TaskStatus.ACKNOWLEDGED.value, TaskStatus.BLOCKED.value}


def sees_all(actor: Principal) -> bool:
    return actor.role in {Role.ADMIN, Role.COORDINATOR}


def visible(actor: Principal, task: Task) -> bool:
    """May change it: coordinators, and the organisation that holds it."""
    return sees_all(actor) or (
        task.assignee_org is not None and task.assignee_org == actor.organization_id
    )


async def handed_by(session: AsyncSession, actor: Principal, task_id: str) -> bool:
    """The actor's organisation handed this task on (and may read it)."""
    if actor.organization_id is None:
        return False
    found = await session.exec(
        select(TaskHandOff.id).where(
            TaskHandOff.task_id == task_id, TaskHandOff.from_org == actor.organization_id
        )
    )
    return found.first() is not None


async def _handed_elsewhere(session: AsyncSession, actor: Principal, task: Task) -> None:
    """Raise for a task the actor may not change: 403 if its organisation handed it on (it knows
    the task exists), else 404."""
    if await handed_by(session, actor, task.id):
        holder = await session.get(Organization, task.assignee_org) if task.assignee_org else None
        raise Forbidden(
            f"Your organisation handed this task on to "
            f"{holder.slug if holder else 'the coordinators'}: it is theirs to change now. "
            "You can still read it and its comments"
        )
    raise not_found("task", task.id)


async def _record_hand_off(
    session: AsyncSession, *, task_id: str, from_org: str, to_org: str | None, reason: str
) -> None:
    """Once per task and organisation: the first hand-off says when and why."""
    if from_org == to_org:
        return
    known = await session.exec(
        select(TaskHandOff.id).where(
            TaskHandOff.task_id == task_id, TaskHandOff.from_org == from_org
        )
    )
    if known.first() is None:
        session.add(TaskHandOff(task_id=task_id, from_org=from_org, to_org=to_org, reason=reason))


async def create_task(
    session: AsyncSession, *, crisis: Crisis, actor: Principal, values: dict[str, Any]
) -> Task:
    task = Task(crisis_id=crisis.id, exercise=crisis.exercise, **values)
    if task.assignee_user is not None:
        await check_assignee(session, user_id=task.assignee_user, organization_id=task.assignee_org)
    if task.after:
        task.status = TaskStatus.BLOCKED.value
    session.add(task)
    await session.flush()
    session.add(TaskChange(task_id=task.id, actor=who(actor), changes={"created": task.key}))
    await crisis_event(
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


async def has_task(session: AsyncSession, crisis_id: str, key: str) -> bool:
    """Whether the crisis has the task of ``key``: one indexed lookup, not the crisis's tasks."""
    found = await session.exec(
        select(Task.id).where(Task.crisis_id == crisis_id, Task.key == key).limit(1)
    )
    return found.first() is not None


async def get_task(session: AsyncSession, *, actor: Principal, task_id: str) -> Task:
    """The task if the actor may read it: coordinators, its holder, and whoever handed it on."""
    task = await session.get(Task, task_id)
    if task is None or not (visible(actor, task) or await handed_by(session, actor, task_id)):
        raise not_found("task", task_id)
    return task


async def task_to_change(session: AsyncSession, *, actor: Principal, task_id: str) -> Task:
    """The task if the actor may change it (a 403 for what it handed on, else a 404)."""
    task = await get_or_404(session, Task, task_id, noun="task")
    if not visible(actor, task):
        await _handed_elsewhere(session, actor, task)
    return task


async def list_tasks(
    session: AsyncSession,
    *,
    actor: Principal,
    limit: int,
    cursor: str | None,
    org: str | None = None,
    status: str | None = None,
    crisis: str | None = None,
    due_before: datetime | None = None,
    handed_off: bool = False,
) -> Page[Task]:
    """Tasks by id; ``handed_off``: those the actor's organisation handed on and no longer holds
    (for every role), else what the actor holds (coordinators: everything)."""
    query = select(Task)
    own = actor.organization_id or ""
    if handed_off:
        query = query.where(
            col(Task.id).in_(select(TaskHandOff.task_id).where(TaskHandOff.from_org == own)),
            or_(col(Task.assignee_org).is_(None), col(Task.assignee_org) != own),
        )
    elif not sees_all(actor):
        query = query.where(Task.assignee_org == own)
    if org:
        query = query.where(Task.assignee_org == org)
    if status:
        query = query.where(Task.status == status)
    if crisis:
        query = query.where(Task.crisis_id == crisis)
    if due_before:
        query = query.where(col(Task.due_at) < due_before)
    return await paginate(session, query, key=[col(Task.id)], limit=limit, cursor=cursor)


#: What a PATCH may change.
CHANGEABLE = ("status", "assignee_org", "assignee_user", "due_at")


async def change_task(
    session: AsyncSession,
    *,
    actor: Principal,
    task_id: str,
    if_match: int,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Change a task at the version the caller read; return the task as it now is.

    The hot path of the API: the task is read once, and the update (guarded by the version, so
    that of two writers with the same ``If-Match`` one gets 412), its history entry, its
    timeline entry, its outbox event and its audit event are written together (one statement on
    PostgreSQL: ``service.changes``).
    """
    connection = await session.connection()
    found = await connection.execute(_READ_TASK, {"task_id": task_id})
    row = found.mappings().first()
    if row is None:
        raise not_found("task", task_id)
    if not (sees_all(actor) or row["assignee_org"] == actor.organization_id):
        await _handed_elsewhere(session, actor, Task(**row))
    task = dict(row)
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
    if task["assignee_user"] is not None and {"assignee_user", "assignee_org"} & set(before):
        # A person of the organisation that holds the task, the new one if it moves.
        await check_assignee(
            session, user_id=task["assignee_user"], organization_id=task["assignee_org"]
        )
    task["version"] += 1
    task["updated_at"] = utcnow()
    history = {
        "id": new_id(),
        "task_id": task_id,
        "at": task["updated_at"],
        "actor": who(actor),
        "changes": {k: {"from": _plain(v), "to": _plain(task[k])} for k, v in before.items()},
    }
    recorded = await task_event(
        session,
        crisis_id=task["crisis_id"],
        exercise=task["exercise"],
        kind="task_updated",
        actor=actor,
        guard=Guard(
            table=_TASKS,
            id=task_id,
            version=if_match,
            values={k: task[k] for k in (*CHANGEABLE, "version", "updated_at")},
            rows=[(_TABLES["task_changes"], history)],
        ),
        task_id=task_id,
        fields=",".join(sorted(before)),
        assignee_org=task["assignee_org"],
        status=task["status"],
    )
    if not recorded:
        current = (await session.exec(select(Task.version).where(col(Task.id) == task_id))).first()
        raise PreconditionFailed(
            f"The task changed since version {if_match}; read it again",
            extra={"current_version": current},
        )
    if before.get("assignee_org"):
        await _record_hand_off(
            session,
            task_id=task_id,
            from_org=before["assignee_org"],
            to_org=task["assignee_org"],
            reason=HandOffReason.REASSIGNED,
        )
        await session.flush()
    if task["status"] == TaskStatus.DONE.value:
        await _hand_off(session, task["crisis_id"], task_id, actor)
        await session.flush()
    return task


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
                    actor=who(actor),
                    changes={"status": {"from": "blocked", "to": "open"}},
                )
            )
            for org in {p.assignee_org for p in predecessors if p.assignee_org}:
                await _record_hand_off(
                    session,
                    task_id=task.id,
                    from_org=org,
                    to_org=task.assignee_org,
                    reason=HandOffReason.PREDECESSOR_DONE,
                )
            await task_event(
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
    await crisis_event(
        session, crisis, "tasks_stood_down", actor, cancelled=cancelled, flagged=flagged
    )
    return cancelled, flagged


async def add_comment(
    session: AsyncSession, *, actor: Principal, task_id: str, body: str
) -> TaskComment:
    """A comment by whoever may change the task. The timeline says who commented on which task
    and when, never the text: everyone who reads the crisis reads its timeline."""
    task = await task_to_change(session, actor=actor, task_id=task_id)
    comment = TaskComment(task_id=task.id, author_org=actor.organization_id, body=body)
    session.add(comment)
    await session.flush()
    await task_event(
        session,
        crisis_id=task.crisis_id,
        exercise=task.exercise,
        kind="task_commented",
        actor=actor,
        task_id=task.id,
        comment_id=comment.id,
        author_org=comment.author_org,
    )
    return comment


#: A comment as it is read: the comment, and its author's slug and name.
CommentRow = tuple[TaskComment, str | None, str | None]


async def list_comments(
    session: AsyncSession,
    *,
    actor: Principal,
    task_id: str,
    limit: int,
    cursor: str | None,
) -> Page[CommentRow]:
    """The task's comments, oldest first (ties in time by id), for whoever may read the task."""
    await get_task(session, actor=actor, task_id=task_id)
    query = (
        select(TaskComment, Organization.slug, Organization.name)
        .outerjoin(Organization, col(Organization.id) == col(TaskComment.author_org))
        .where(TaskComment.task_id == task_id)
    )
    key = [col(TaskComment.created_at), col(TaskComment.id)]
    return await paginate(session, query, key=key, limit=limit, cursor=cursor)


#: What a task's answer adds to the row: its holder's slug and name, how many comments it has.
Details = tuple[str | None, str | None, int]


async def details(session: AsyncSession, task_ids: Sequence[str]) -> dict[str, Details]:
    """Task id → details, for any number of tasks in one query."""
    if not task_ids:
        return {}
    comments = (
        core_select(func.count())
        .select_from(TaskComment)
        .where(col(TaskComment.task_id) == col(Task.id))
        .scalar_subquery()
    )
    rows = await session.exec(
        select(Task.id, Organization.slug, Organization.name, comments)
        .outerjoin(Organization, col(Organization.id) == col(Task.assignee_org))
        .where(col(Task.id).in_(task_ids))
    )
    return {task_id: (slug, name, int(count)) for task_id, slug, name, count in rows.all()}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def as_public(session: AsyncSession, rows: Sequence[Any]) -> list[TaskPublic]:
    """Tasks (rows or dicts) as answered, each with its holder's slug and name and its comment
    count: one query for them all."""
    items = [TaskPublic.model_validate(t) for t in rows]
    found = await details(session, [t.id for t in items])
    for item in items:
        slug, name, comments = found.get(item.id, (None, None, 0))
        item.assignee_org_slug, item.assignee_org_name, item.comments = slug, name, comments
    return items


@dataclass(frozen=True, slots=True)
class BoardChange:
    """Whose task boards a batch of recorded changes alters: the organisations that hold the
    tasks changed and those that handed them on (``orgs``), and coordinators, who see every task,
    whenever a task changed at all (``tasks``: how many task changes the batch held)."""

    tasks: int
    orgs: frozenset[str]

    def concerns(self, actor: Principal) -> bool:
        """The actor's board shows one of the tasks changed: what ``list_tasks`` gives it."""
        if not self.tasks:
            return False
        return sees_all(actor) or (
            actor.organization_id is not None and actor.organization_id in self.orgs
        )


NO_CHANGE = BoardChange(tasks=0, orgs=frozenset())


async def recorded_since(session: AsyncSession, *, floor: str) -> list[str]:
    """The ids of the timeline entries from the id ``floor`` on (``service.db.id_floor``): every
    change of a task is one (``service.changes``), and their ids sort by time, so this reads a
    range of the primary key and nothing else."""
    found = await session.exec(select(CrisisEvent.id).where(col(CrisisEvent.id) >= floor))
    return list(found.all())


async def board_change(session: AsyncSession, entry_ids: Sequence[str]) -> BoardChange:
    """Whose boards the timeline entries ``entry_ids`` alter: a task's entry names its task, a
    crisis-wide one about tasks (``tasks_stood_down``) its crisis; entries of other kinds alter
    no board."""
    if not entry_ids:
        return NO_CHANGE
    entries = (
        await session.exec(
            select(CrisisEvent.crisis_id, CrisisEvent.kind, CrisisEvent.detail).where(
                col(CrisisEvent.id).in_(entry_ids), col(CrisisEvent.kind).startswith("task")
            )
        )
    ).all()
    task_ids = {str(d["task_id"]) for _, _, d in entries if d.get("task_id")}
    crisis_ids = {c for c, _, d in entries if not d.get("task_id")}
    if not entries:
        return NO_CHANGE
    which = or_(col(Task.id).in_(task_ids), col(Task.crisis_id).in_(crisis_ids))
    holders = await session.exec(
        select(Task.assignee_org).where(which, col(Task.assignee_org).is_not(None)).distinct()
    )
    handed = await session.exec(
        select(TaskHandOff.from_org)
        .join(Task, col(Task.id) == col(TaskHandOff.task_id))
        .where(which)
        .distinct()
    )
    orgs = {o for o in holders.all() if o} | set(handed.all())
    return BoardChange(tasks=len(entries), orgs=frozenset(orgs))
