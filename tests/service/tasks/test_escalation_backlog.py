"""Escalation reads every candidate, not only the oldest page: tasks with long delays made
first never keep a newer task with a short one from being escalated."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from service.auth.principal import WORKER
from service.crises.models import Crisis
from service.db import session_scope, utcnow
from service.tasks.escalation import escalate_due
from service.tasks.service import create_task
from tests.conftest import make_org_in


async def test_a_due_task_behind_a_page_of_waiting_ones_is_escalated(own_app: FastAPI) -> None:
    org = await make_org_in(own_app)
    async with session_scope(own_app.state.sessionmaker) as session:
        crisis = Crisis(
            title="Flood drill", hazard="flood", severity="severe", exercise=True, opened_by="test"
        )
        session.add(crisis)
        await session.flush()

        async def task(key: str, after_s: int) -> str:
            made = await create_task(
                session,
                crisis=crisis,
                actor=WORKER,
                values={
                    "key": key,
                    "title": key,
                    "assignee_org": org,
                    "escalate_after_s": after_s,
                },
            )
            return made.id

        # Three days' delay each, made first: a page of three is all of them.
        waiting = [await task(f"waiting.{i}", 3 * 24 * 3600) for i in range(3)]
        due = await task("due", 60)
    later = utcnow() + timedelta(hours=1)
    async with session_scope(own_app.state.sessionmaker) as session:
        escalated = [t.id for t in await escalate_due(session, now=later, limit=3)]
    assert escalated == [due]
    assert not set(waiting) & set(escalated)
