"""The background worker: periodic jobs, each run by one process at a time.

Asked to stop (SIGTERM, as an orchestrator stops a container, or Ctrl-C), it starts no new job,
lets the one it is running finish within ``worker_stop_grace_s``, else cancels it (its
transaction rolled back, its claims let go, its advisory lock released), disposes of its engine
and exits 0: another worker takes over at once, without waiting for a lease to run out
(docs/decisions/0026-worker-faults.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import database_unavailable, make_engine, make_sessionmaker, session_scope
from service.locks import singleton
from service.retention import erase_expired_workers, forget_idempotency_keys
from service.settings import Settings

log = logging.getLogger("lifeline.worker")


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval_s: float
    run: Callable[[async_sessionmaker[AsyncSession]], Awaitable[str]]


def housekeeping_jobs(settings: Settings) -> list[Job]:
    retention = timedelta(days=settings.worker_retention_days)

    async def retention_job(maker: async_sessionmaker[AsyncSession]) -> str:
        total = 0
        while True:
            async with session_scope(maker) as session:
                erased = await erase_expired_workers(session, retention=retention)
            total += erased
            if erased == 0:
                return f"{total} registrations erased"

    async def keys_job(maker: async_sessionmaker[AsyncSession]) -> str:
        async with session_scope(maker) as session:
            await forget_idempotency_keys(session)
        return "expired idempotency keys forgotten"

    async def phones_job(maker: async_sessionmaker[AsyncSession]) -> str:
        from service.registry.protect import Protector
        from service.retention import hash_missing_phones

        protector, total = Protector.from_settings(settings), 0
        while True:
            async with session_scope(maker) as session:
                done = await hash_missing_phones(session, protector)
            total += done
            if done == 0:
                return f"{total} phones hashed"

    async def names_job(maker: async_sessionmaker[AsyncSession]) -> str:
        from service.family_links.service import index_names
        from service.registry.protect import Protector

        protector, total = Protector.from_settings(settings), 0
        while True:
            async with session_scope(maker) as session:
                done = await index_names(session, protector)
            total += done
            if done == 0:
                return f"{total} workers' name keys made"

    async def links_job(maker: async_sessionmaker[AsyncSession]) -> str:
        from service.db import utcnow
        from service.family_links.service import anonymise_expired

        now = utcnow()
        async with session_scope(maker) as session:
            done = await anonymise_expired(
                session,
                requests_before=now - timedelta(days=settings.tracing_retention_days),
                listings_before=now - timedelta(days=settings.listing_retention_days),
            )
        return f"{done['requests']} tracing requests anonymised, {done['listings']} listings ended"

    async def texts_job(maker: async_sessionmaker[AsyncSession]) -> str:
        from service.db import utcnow
        from service.retention import forget_message_texts

        before = utcnow() - timedelta(days=settings.messages_retention_days)
        async with session_scope(maker) as session:
            forgotten = await forget_message_texts(session, before=before)
        return f"{forgotten} message texts forgotten"

    async def escalation_job(maker: async_sessionmaker[AsyncSession]) -> str:
        from service.tasks.escalation import escalate_due

        async with session_scope(maker) as session:
            escalated = await escalate_due(session)
        return f"{len(escalated)} tasks escalated"

    return [
        Job("escalation", 30.0, escalation_job),
        Job("retention", settings.housekeeping_interval_s, retention_job),
        Job("idempotency-keys", settings.housekeeping_interval_s, keys_job),
        Job("phone-hashes", settings.housekeeping_interval_s, phones_job),
        Job("message-texts", settings.housekeeping_interval_s, texts_job),
        Job("name-keys", 30.0, names_job),
        Job("family-links-retention", settings.housekeeping_interval_s, links_job),
    ]


def sitrep_jobs(settings: Settings) -> list[Job]:
    """Each crisis's situation report of the day, kept with it: the first run of a day keeps
    it, later runs that day find it kept (``service.flows.kept_sitreps``)."""

    async def sitrep_job(maker: async_sessionmaker[AsyncSession]) -> str:
        from service.flows.kept_sitreps import keep_daily

        done = await keep_daily(maker, threshold=settings.suppress_below)
        failed = f", {done['failed']} failed" if done["failed"] else ""
        return f"{done['kept']} crises' reports kept, {done['had']} kept already today{failed}"

    return [Job("sitreps", settings.housekeeping_interval_s, sitrep_job)]


def audit_jobs(settings: Settings, engine: AsyncEngine) -> list[Job]:
    """The audit chain: every event not yet chained gets its link (``service.audit.chain``).
    The outcome names the chain's head, so that the logs, kept outside the database, hold a
    trail of heads to check the chain against (``lifeline audit verify --anchor``)."""
    from service.audit.chain import chain_key, chain_pending

    key = chain_key(settings)

    async def chain_job(maker: async_sessionmaker[AsyncSession]) -> str:
        # run_once already holds "lifeline:audit-chain", the lock `lifeline audit chain` takes.
        run = await chain_pending(engine, key)
        return f"{run.chained} audit events chained, head {run.head_seq}:{run.head_hash}"

    return [Job("audit-chain", settings.audit_chain_interval_s, chain_job)]


def crisis_jobs(engine: AsyncEngine) -> list[Job]:
    """The pass from alerts to crises, every two seconds, over this process's exposure index."""
    from geo.admin import AdminAreas
    from service.exposure.index import RegisterIndex
    from service.flows.alert_pass import process_pending
    from service.geowork import default_workers

    index = RegisterIndex(engine)
    geometry = default_workers()

    async def crisis_job(maker: async_sessionmaker[AsyncSession]) -> str:
        if not index.ready.is_set():
            await index.build()
            # The shipped boundaries, read once before the first pass, as the API does at start:
            # read inside the pass, they took the first alert's geometry deadline (3 s and more
            # on a busy machine) and a worker just restarted marked it too complex, for good.
            await asyncio.to_thread(AdminAreas.load)
        await index.refresh()
        # run_once already holds "lifeline:crises": the pass itself runs here, unlocked.
        outcomes = await process_pending(maker, index=index, geometry=geometry)
        return ", ".join(f"{o.result}" for o in outcomes) or "nothing pending"

    return [Job("crises", 2.0, crisis_job)]


def webhook_jobs(settings: Settings, engine: AsyncEngine) -> list[Job]:
    """Deliveries of the outbox, every two seconds."""
    from integrations.webhooks import delivery_client
    from service.registry.protect import Protector
    from service.webhooks.service import deliver_due, url_policy

    protector = Protector.from_settings(settings)
    policy = url_policy(settings)
    lease = timedelta(seconds=settings.webhook_lease_s)

    async def webhook_job(maker: async_sessionmaker[AsyncSession]) -> str:
        async with delivery_client(policy) as client:
            counts = await deliver_due(engine, maker, client, protector, lease=lease)
        return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing due"

    return [Job("webhooks", 2.0, webhook_job)]


def message_jobs(settings: Settings, engine: AsyncEngine) -> list[Job]:
    """Welfare messages: the outbox sent every second (each claim a lease, so that another
    worker takes over what a killed one held), and the checks' reminders and deadlines."""
    import httpx

    from service.auth.principal import WORKER
    from service.flows.sending import Sender, send_due
    from service.flows.welfare_checks import advance
    from service.registry.protect import Protector

    sender = Sender(settings, Protector.from_settings(settings))

    async def send_job(maker: async_sessionmaker[AsyncSession]) -> str:
        total: dict[str, int] = {}
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
            # Until nothing is due: a check to 100,000 people goes out in one run.
            while counts := await send_due(engine, maker, client, sender):
                for name, n in counts.items():
                    total[name] = total.get(name, 0) + n
        return ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "nothing due"

    async def checks_job(maker: async_sessionmaker[AsyncSession]) -> str:
        async with session_scope(maker) as session:
            done = await advance(session, actor=WORKER)
        return ", ".join(f"{k} {v}" for k, v in done.items())

    return [Job("messages", 1.0, send_job), Job("welfare-checks", 30.0, checks_job)]


def feed_jobs(settings: Settings, engine: AsyncEngine) -> list[Job]:
    """Polling: every few seconds, each enabled feed whose time has come (each feed keeps its
    own schedule and backoff in its state row)."""
    import httpx

    from service.feeds.config import load_feeds
    from service.feeds.poller import poll_due

    feeds = load_feeds(settings.feeds_file, reliefweb_appname=settings.reliefweb_appname)

    async def poll_job(maker: async_sessionmaker[AsyncSession]) -> str:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            outcomes = await poll_due(engine, maker, client, feeds)
        return (
            ", ".join(f"{o.feed}: {o.status} (+{o.new} new, {o.updated} updated)" for o in outcomes)
            or "none due"
        )

    return [Job("feeds", 15.0, poll_job)]


async def run_once(
    engine: AsyncEngine, jobs: list[Job], *, stopping: asyncio.Event | None = None
) -> dict[str, str]:
    """Run every job once (skipping those another process is running, and, once ``stopping``
    is set, those not started yet)."""
    maker = make_sessionmaker(engine)
    results: dict[str, str] = {}
    for job in jobs:
        if stopping is not None and stopping.is_set():
            results[job.name] = "skipped: stopping"
            continue
        # The lock's own statements inside the try too: with the database away, taking or
        # releasing it fails like the job would, and the worker goes on to try again later.
        try:
            async with singleton(engine, f"lifeline:{job.name}") as mine:
                if not mine:
                    results[job.name] = "skipped: running elsewhere"
                    continue
                results[job.name] = await job.run(maker)
        except Exception as exc:  # one failing job never stops the others
            if database_unavailable(exc):
                log.warning("job failed: the database is unreachable", extra={"job": job.name})
                results[job.name] = "failed: database unavailable"
            else:
                log.exception("job failed", extra={"job": job.name})
                results[job.name] = f"failed: {type(exc).__name__}"
    return results


async def run_forever(settings: Settings, *, tick_s: float = 1.0) -> None:
    engine = make_engine(settings.database_url)
    jobs = (
        housekeeping_jobs(settings)
        + audit_jobs(settings, engine)
        + feed_jobs(settings, engine)
        + crisis_jobs(engine)
        + sitrep_jobs(settings)
        + webhook_jobs(settings, engine)
        + message_jobs(settings, engine)
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, _stop, stopping, signum)
    log.info("worker started", extra={"jobs": [j.name for j in jobs]})
    try:
        await loop_jobs(
            engine, jobs, tick_s=tick_s, stopping=stopping, grace_s=settings.worker_stop_grace_s
        )
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await engine.dispose()
    log.info("worker stopped")


def _stop(stopping: asyncio.Event, signum: int) -> None:
    if not stopping.is_set():
        log.info("worker stopping", extra={"signal": signal.Signals(signum).name})
    stopping.set()


async def loop_jobs(
    engine: AsyncEngine,
    jobs: list[Job],
    *,
    tick_s: float = 1.0,
    stopping: asyncio.Event | None = None,
    grace_s: float = 5.0,
) -> None:
    """Run each job when its interval has passed, until cancelled or ``stopping`` is set; then
    the run under way has ``grace_s`` to finish before it is cancelled."""
    stopping = stopping or asyncio.Event()
    due = dict.fromkeys((j.name for j in jobs), 0.0)
    loop = asyncio.get_running_loop()
    while not stopping.is_set():
        now = loop.time()
        ready = [j for j in jobs if due[j.name] <= now]
        if ready:
            results = await _run_or_stop(engine, ready, stopping, grace_s)
            if results is None:
                return
            for name, outcome in results.items():
                log.info("job ran", extra={"job": name, "outcome": outcome})
            for job in ready:
                due[job.name] = now + job.interval_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), tick_s)


async def _run_or_stop(
    engine: AsyncEngine, jobs: list[Job], stopping: asyncio.Event, grace_s: float
) -> dict[str, str] | None:
    """``run_once`` over ``jobs``; if ``stopping`` is set meanwhile and the run is not over
    within ``grace_s``, it is cancelled (None)."""
    running = asyncio.ensure_future(run_once(engine, jobs, stopping=stopping))
    asked = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({running, asked}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            await asyncio.wait({running}, timeout=grace_s)
        if running.done():
            return running.result()
        log.warning("job cancelled: the worker is stopping", extra={"grace_s": grace_s})
        return None
    finally:
        asked.cancel()
        if not running.done():
            # Cancelled, the job rolls its transaction back, lets its claims go and releases
            # its lock on the way out (their ``finally`` blocks), and this waits for that.
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
