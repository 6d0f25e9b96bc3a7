"""Recording a change (``service.changes.record_change``): its timeline entry, outbox event and
audit event, in the caller's transaction, on both databases; one round trip on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.models import AuditEvent
from service.audit.service import record
from service.auth.principal import WORKER
from service.changes import Guard, record_change
from service.crises.models import Crisis, CrisisEvent
from service.db import metadata, session_scope, utcnow
from service.tasks.models import Task, TaskChange
from service.webhooks.models import OutboxEvent
from tests.conftest import unique

TASKS = metadata.tables["tasks"]


async def _task(app: FastAPI) -> Task:
    async with session_scope(app.state.sessionmaker) as session:
        crisis = Crisis(
            title=unique("crisis"),
            hazard="flood",
            severity="severe",
            opened_by="test",
            exercise=True,
        )
        session.add(crisis)
        await session.flush()
        task = Task(crisis_id=crisis.id, key=unique("key"), title="Check on the workers")
        session.add(task)
    return task


def _guard(task: Task, version: int) -> Guard:
    return Guard(
        table=TASKS,
        id=task.id,
        version=version,
        values={"status": "acknowledged", "version": version + 1, "updated_at": utcnow()},
        rows=[
            (
                metadata.tables["task_changes"],
                {
                    "id": unique("change"),
                    "task_id": task.id,
                    "at": utcnow(),
                    "actor": "worker",
                    "changes": {"status": {"from": "open", "to": "acknowledged"}},
                },
            )
        ],
    )


async def _change(session: AsyncSession, task: Task, guard: Guard | None) -> bool:
    return await record_change(
        session,
        actor=WORKER,
        crisis_id=task.crisis_id,
        exercise=True,
        kind="task_updated",
        detail={"task_id": task.id, "status": "acknowledged", "assignee_org": None, "count": 2},
        event={"hazard": "flood"},
        guard=guard,
    )


async def _written(session: AsyncSession, task: Task) -> dict[str, list[Any]]:
    """The rows of the task's crisis: timeline, outbox, audit, history, and the task's version."""
    queries: dict[str, Any] = {
        "timeline": select(CrisisEvent).where(CrisisEvent.crisis_id == task.crisis_id),
        "outbox": select(OutboxEvent).where(OutboxEvent.subject == f"task:{task.id}"),
        "audit": select(AuditEvent).where(AuditEvent.subject_id == task.crisis_id),
        "history": select(TaskChange).where(TaskChange.task_id == task.id),
        "version": select(Task.version).where(col(Task.id) == task.id),
    }
    return {name: list((await session.exec(query)).all()) for name, query in queries.items()}


def _counts(seen: dict[str, list[Any]], *names: str) -> list[int]:
    return [len(seen[name]) for name in names]


#: What a change writes.
THREE = ("timeline", "outbox", "audit")


@pytest.mark.parametrize("guarded", [False, True])
async def test_one_call_writes_the_three_rows_in_the_callers_transaction(
    app: FastAPI, guarded: bool
) -> None:
    task = await _task(app)
    async with app.state.sessionmaker() as session, app.state.sessionmaker() as other:
        assert await _change(session, task, _guard(task, 1) if guarded else None)
        seen = await _written(session, task)
        assert _counts(seen, *THREE) == [1, 1, 1]
        assert seen["history"] if guarded else not seen["history"]
        assert seen["version"] == [2 if guarded else 1]
        # Not yet committed: another transaction sees none of it.
        assert _counts(await _written(other, task), *THREE, "history") == [0, 0, 0, 0]
        await other.rollback()
        await session.commit()
        after = await _written(other, task)
        assert _counts(after, *THREE) == [1, 1, 1]
    audit = after["audit"][0]
    assert (audit.action, audit.subject_type, audit.channel) == (
        "crisis.task_updated",
        "crisis",
        "worker",
    )
    # Ids and counts, as the timeline entry has them.
    assert audit.detail == {
        "task_id": task.id,
        "status": "acknowledged",
        "assignee_org": None,
        "count": 2,
    }


@pytest.mark.parametrize("guarded", [False, True])
async def test_a_rollback_leaves_none(app: FastAPI, guarded: bool) -> None:
    task = await _task(app)
    async with app.state.sessionmaker() as session:
        assert await _change(session, task, _guard(task, 1) if guarded else None)
        await session.flush()
        await session.rollback()
    async with app.state.sessionmaker() as session:
        seen = await _written(session, task)
    assert _counts(seen, *THREE, "history") == [0, 0, 0, 0]
    assert seen["version"] == [1]


async def test_a_stale_guard_writes_none(app: FastAPI) -> None:
    """Nothing of the change, on either database; what the unit of work held stays in it."""
    task = await _task(app)
    async with session_scope(app.state.sessionmaker) as session:
        record(session, actor=WORKER, action="test.pending", subject_id=task.crisis_id)
        assert not await _change(session, task, _guard(task, 7))
    async with app.state.sessionmaker() as session:
        seen = await _written(session, task)
    assert _counts(seen, "timeline", "outbox", "history") == [0, 0, 0]
    assert [a.action for a in seen["audit"]] == ["test.pending"]
    assert seen["version"] == [1]


async def test_the_outbox_event_and_the_timeline_entry_agree(app: FastAPI) -> None:
    task = await _task(app)
    async with session_scope(app.state.sessionmaker) as session:
        assert await _change(session, task, _guard(task, 1))
    async with app.state.sessionmaker() as session:
        seen = await _written(session, task)
    (entry,), (sent,) = seen["timeline"], seen["outbox"]
    assert (entry.kind, sent.type) == ("task_updated", "task.updated")
    assert sent.occurred_at == entry.at
    assert sent.subject == f"task:{task.id}"
    # The event says what the entry says (its empty values left out), and the crisis's context.
    assert sent.data == {
        "crisis_id": entry.crisis_id,
        "kind": entry.kind,
        "exercise": True,
        "hazard": "flood",
        **{k: v for k, v in entry.detail.items() if v is not None},
    }


@contextmanager
def _statements(app: FastAPI) -> Iterator[list[str]]:
    """The statements sent to the database meanwhile."""
    sent: list[str] = []
    engine = app.state.engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_postgresql_takes_one_round_trip_for_a_guarded_change(
    app: FastAPI, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no round trips to save: plain statements")
    task = await _task(app)
    async with session_scope(app.state.sessionmaker) as session:
        await session.exec(
            select(Task.id).where(col(Task.id) == task.id)
        )  # the transaction is open
        # The call's own audit event, as an API route writes it: it goes out with the change.
        record(session, actor=WORKER, action="test.call", subject_id=task.crisis_id)
        with _statements(app) as sent:
            assert await _change(session, task, _guard(task, 1))
        assert len(sent) == 1, sent
    async with app.state.sessionmaker() as session:
        seen = await _written(session, task)
    assert sorted(a.action for a in seen["audit"]) == ["crisis.task_updated", "test.call"]
    assert _counts(seen, "timeline", "outbox", "history") == [1, 1, 1]
    assert seen["version"] == [2]
