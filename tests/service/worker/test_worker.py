"""The worker's housekeeping: retention erases and logs; a job runs in one process at a time."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlmodel import select

from service.audit.models import AuditEvent
from service.db import session_scope, utcnow
from service.locks import singleton
from service.registry.models import Worker
from service.worker import Job, housekeeping_jobs, run_once
from tests.conftest import settings_for, unique


async def test_expired_registrations_are_erased_and_logged(app: FastAPI) -> None:
    now = utcnow()
    async with session_scope(app.state.sessionmaker) as session:
        old = Worker(
            nationality="NPL",
            legal_basis="vital_interest",
            source="crisis_intake",
            lat=3.1,
            lon=101.6,
            country="MYS",
            identity_hash=unique("h"),
            retain_until=now - timedelta(days=1),
        )
        staying = Worker(
            nationality="NPL",
            legal_basis="consent",
            source="self",
            lat=3.1,
            lon=101.6,
            country="MYS",
            identity_hash=unique("h"),
            stay_registered=True,
            updated_at=now - timedelta(days=4000),
        )
        stale = Worker(
            nationality="NPL",
            legal_basis="consent",
            source="self",
            lat=3.1,
            lon=101.6,
            country="MYS",
            identity_hash=unique("h"),
            updated_at=now - timedelta(days=4000),
        )
        session.add_all([old, staying, stale])
    settings = settings_for(app.state.settings.database_url)
    outcome = await run_once(app.state.engine, housekeeping_jobs(settings))
    assert outcome["retention"].endswith("registrations erased")
    async with session_scope(app.state.sessionmaker) as session:
        rows = {
            w.id: w
            for w in (
                await session.exec(
                    select(Worker).where(Worker.id.in_([old.id, staying.id, stale.id]))
                )
            ).all()
        }  # type: ignore[attr-defined]
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.subject_id == old.id))
        ).all()
    assert rows[old.id].erased_at is not None and rows[old.id].lat is None
    assert rows[stale.id].erased_at is not None
    assert rows[staying.id].erased_at is None
    assert [(e.action, e.channel, e.detail) for e in events] == [
        ("worker.erase", "worker", {"reason": "retention"})
    ]


async def test_a_job_runs_in_one_process_at_a_time(app: FastAPI) -> None:
    ran: list[str] = []

    async def job(_: object) -> str:
        ran.append("x")
        return "done"

    jobs = [Job("exclusive-test", 1.0, job)]
    async with singleton(app.state.engine, "lifeline:exclusive-test") as mine:
        assert mine
        outcome = await run_once(app.state.engine, jobs)
    assert outcome == {"exclusive-test": "skipped: running elsewhere"}
    assert ran == []
    assert (await run_once(app.state.engine, jobs)) == {"exclusive-test": "done"}


async def test_a_failing_job_does_not_stop_the_others(app: FastAPI) -> None:
    async def broken(_: object) -> str:
        raise RuntimeError("boom")

    async def fine(_: object) -> str:
        return "ok"

    outcome = await run_once(app.state.engine, [Job("broken", 1, broken), Job("fine", 1, fine)])
    assert outcome == {"broken": "failed: RuntimeError", "fine": "ok"}


async def test_message_texts_are_forgotten_after_their_retention_and_the_counts_stay(
    app: FastAPI,
) -> None:
    """What phones sent and the numbers messages went to are kept sealed for
    ``messages_retention_days``; then the worker forgets them, and each message's state and
    outcome (what the counts are made of) stay."""
    from service.messaging.models import InboundMessage, OutboundMessage

    settings = settings_for(app.state.settings.database_url)
    now = utcnow()
    old = now - timedelta(days=settings.messages_retention_days, hours=1)
    recent = now - timedelta(days=settings.messages_retention_days - 1)
    async with session_scope(app.state.sessionmaker) as session:
        inbound = {
            when: InboundMessage(
                gateway="drill",
                provider_id=unique("p"),
                received_at=when,
                from_sealed="sealed-number",
                text_sealed="sealed-text",
                state="read",
                outcome="safe",
            )
            for when in (old, recent)
        }
        outbound = {
            when: OutboundMessage(
                to_sealed="sealed-number",
                step="ask",
                kind="welfare",
                language="en",
                gateway="drill",
                state="delivered",
                created_at=when,
            )
            for when in (old, recent)
        }
        session.add_all([*inbound.values(), *outbound.values()])
        ids = {when: (inbound[when].id, outbound[when].id) for when in (old, recent)}
    outcome = await run_once(app.state.engine, housekeeping_jobs(settings))
    assert outcome["message-texts"].endswith("message texts forgotten"), outcome
    async with session_scope(app.state.sessionmaker) as session:
        for when, kept in ((old, False), (recent, True)):
            got_in = await session.get(InboundMessage, ids[when][0])
            got_out = await session.get(OutboundMessage, ids[when][1])
            assert got_in is not None and got_out is not None
            assert (got_in.text_sealed is not None) is kept
            assert (got_in.from_sealed is not None) is kept
            assert (got_out.to_sealed is not None) is kept
            assert got_in.state == "read" and got_in.outcome == "safe"
            assert got_out.state == "delivered"
