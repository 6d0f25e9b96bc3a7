"""Sending what the outbox holds: each message claimed under a lease, its phone read from the
register at the moment it goes (an erased worker gets nothing), handed to its gateway at the
gateway's pace, and its outcome written back; then the welfare statuses that follow (reached:
``contacted``; a number the gateway refuses for good: ``unreachable``).

Exactly one message per person and step: the outbox row is planned once (a unique key), and a
sender killed mid-send lets its claim go with the lease, so that another sends it again with the
same key, which a gateway that knows idempotency keys takes as the same message. Outcomes are
written back every ``FLUSH_EVERY`` messages, each batch with the welfare statuses it implies in
one transaction, so that a crash resends at most that many and never loses a status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.messaging import base, templates
from integrations.messaging.phones import normalise
from integrations.messaging.registry import gateway as adapter_for
from service.audit.service import record
from service.auth.principal import WORKER
from service.crises.models import Crisis
from service.db import session_scope, utcnow
from service.messaging import service as messaging
from service.messaging.models import MessageState, OutboundMessage, Step
from service.registry.models import Worker
from service.registry.protect import Protector
from service.settings import Settings
from service.welfare import service as welfare
from service.welfare.models import WelfareCheck, WelfareOutcome

log = logging.getLogger("lifeline.sending")
_WORKERS = Worker.__table__  # type: ignore[attr-defined]
#: Outcomes written back at least this often (messages): what a crash may send twice at most.
FLUSH_EVERY = 100
#: Messages in flight to a gateway at once, per sender: past about 16 the HTTP client's own
#: work grows faster than the gateway's answers come (bench/welfare.py).
CONCURRENCY = 16
#: Reached: a status still ``unknown`` (or left ``no_answer``, ``unreachable`` by an earlier
#: check) becomes ``contacted``.
_REACHED_FROM = frozenset(
    {WelfareOutcome.UNKNOWN, WelfareOutcome.NO_ANSWER, WelfareOutcome.UNREACHABLE}
)


class Pace:
    """A gateway's rate limit in this process: one message every ``1/rate`` seconds, in bursts
    of at most one second's worth."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.burst = max(1.0, rate)
        self.next = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            self.next = max(self.next, now - self.interval * self.burst) + self.interval
            delay = self.next - now
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class Sender:
    """What one sending process keeps between rounds: its clients' pace per gateway, and the
    opened texts of the checks it has sent for."""

    settings: Settings
    protector: Protector
    paces: dict[str, Pace] = field(default_factory=dict)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)

    def pace(self, gateway: str) -> Pace:
        found = self.paces.get(gateway)
        if found is None:
            found = self.paces[gateway] = Pace(self.settings.messages_rate_per_s)
        return found

    def callback(self, gateway: str) -> str | None:
        public = self.settings.messages_public_url
        return f"{public.rstrip('/')}/api/v1/messages/inbound/{gateway}" if public else None


def _phone(protector: Protector, worker: Any) -> str | None:
    raw = protector.sealer.open(worker.phone_sealed, record_id=worker.id, field="phone")
    if not raw:
        return None
    return normalise(raw, worker.country) or normalise(raw, worker.nationality)


async def _load(
    session: AsyncSession, ids: list[str]
) -> tuple[list[OutboundMessage], dict[str, Any], dict[str, WelfareCheck]]:
    messages = list(
        (await session.exec(select(OutboundMessage).where(col(OutboundMessage.id).in_(ids)))).all()
    )
    worker_ids = sorted({m.worker_id for m in messages if m.worker_id})
    columns = _WORKERS.c
    connection = await session.connection()
    found = await connection.execute(
        sa_select(
            columns.id,
            columns.phone_sealed,
            columns.country,
            columns.nationality,
            columns.erased_at,
        ).where(columns.id.in_(worker_ids))
    )
    workers = {w.id: w for w in found.all()}
    check_ids = sorted({m.check_id for m in messages if m.check_id})
    checks = {
        c.id: c
        for c in (
            await session.exec(select(WelfareCheck).where(col(WelfareCheck.id).in_(check_ids)))
        ).all()
    }
    return messages, workers, checks


def _body(sender: Sender, message: OutboundMessage, check: WelfareCheck | None) -> str:
    if check is not None:
        name = f"{message.step}:{message.language}"
        key = (check.id, name)
        text = sender.texts.get(key)
        if text is None:
            text = sender.protector.sealer.open(
                check.texts.get(name), record_id=check.id, field=name
            )
            if text is None:  # a language the check did not plan: rendered as it would have been
                kind = templates.Kind(message.kind)
                values = {"sender": check.sender, "crisis": check.label}
                text = templates.render(kind, message.language, values).body
            sender.texts[key] = text
        return text
    values = {"hotline": sender.settings.messages_hotline or "-"}
    if message.text_sealed is not None:
        values["text"] = (
            sender.protector.sealer.open(message.text_sealed, record_id=message.id, field="text")
            or ""
        )
    return templates.render(templates.Kind(message.kind), message.language, values).body


async def send_due(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    sender: Sender,
    *,
    limit: int = 1000,
) -> dict[str, int]:
    """Send what is due: claim up to ``limit`` messages, send them, record each outcome; the
    statuses that follow. Counts by outcome."""
    counts: dict[str, int] = defaultdict(int)
    # No more than half a lease's worth at the gateway's pace: the claim must be sent before
    # another sender may take it again.
    lease = timedelta(seconds=sender.settings.messages_lease_s)
    pace = sender.settings.messages_rate_per_s * lease.total_seconds() / 2
    ids = await messaging.claim(engine, max(1, min(limit, int(pace))), lease)
    if not ids:
        return dict(counts)
    try:
        async with maker() as session:
            messages, workers, checks = await _load(session, ids)
    except BaseException:
        await messaging.release(engine, ids)
        raise
    protector = sender.protector
    done: list[messaging.Attempt] = []
    gate = asyncio.Semaphore(CONCURRENCY)
    pending_flush: list[tuple[OutboundMessage, messaging.Attempt]] = []
    writing = asyncio.Lock()

    async def flush() -> None:
        batch = pending_flush[:]
        pending_flush.clear()
        async with writing:
            await _write_back(maker, batch)

    async def one(message: OutboundMessage) -> None:
        attempts = message.attempts + 1
        worker = workers.get(message.worker_id or "")
        if message.worker_id and (worker is None or worker.erased_at is not None):
            outcome = messaging.Attempt(
                message.id, MessageState.CANCELLED, attempts, error="erased"
            )
        else:
            to = (
                _phone(protector, worker)
                if worker is not None
                else protector.sealer.open(message.to_sealed, record_id=message.id, field="to")
            )
            # An exercise never reaches a real gateway, whatever the row says.
            kind = "drill" if message.drill else message.gateway
            if to is None:
                outcome = messaging.Attempt(
                    message.id, MessageState.UNDELIVERABLE, attempts, error="no usable phone"
                )
            else:
                outcome = await _send(
                    client, sender, kind, message, to, worker, checks.get(message.check_id or "")
                )
        counts[outcome.state.value] += 1
        done.append(outcome)
        pending_flush.append((message, outcome))
        if len(pending_flush) >= FLUSH_EVERY:
            await flush()

    async def guarded(message: OutboundMessage) -> None:
        async with gate:
            await one(message)

    try:
        await asyncio.gather(*(guarded(m) for m in messages))
    finally:
        # What was tried is recorded even if this sender is stopped midway (SIGTERM), and the
        # rest of the claim let go, so that another sender takes it at once; a sender killed
        # outright lets it go when the lease runs out. A message cut off at the gateway is
        # not recorded: it goes again, with the same key.
        await flush()
        tried = {a.id for a in done}
        await messaging.release(engine, [i for i in ids if i not in tried])
    return dict(counts)


async def _write_back(
    maker: async_sessionmaker[AsyncSession],
    batch: list[tuple[OutboundMessage, messaging.Attempt]],
) -> None:
    """A batch of tries and what follows from them, in one transaction: the outcomes, the
    welfare statuses they say something of, the audit. A sender killed between the two never
    leaves a message recorded as sent whose worker is not ``contacted`` (it would not be sent
    again, and nothing else would set the status)."""
    if not batch:
        return
    reached: dict[str, list[str]] = defaultdict(list)  # crisis → workers
    refused: dict[str, list[str]] = defaultdict(list)
    for message, outcome in batch:
        # What a check or a reminder reached says something of the worker's welfare; an answer
        # or a message to their family does not.
        if message.crisis_id and message.step in (Step.CHECK.value, Step.REMINDER.value):
            if outcome.state in (MessageState.SENT, MessageState.DELIVERED):
                reached[message.crisis_id].append(message.worker_id or "")
            elif outcome.state is MessageState.UNDELIVERABLE:
                refused[message.crisis_id].append(message.worker_id or "")
    counts: dict[str, int] = defaultdict(int)
    for _, outcome in batch:
        counts[outcome.state.value] += 1
    async with session_scope(maker) as session:
        await messaging.write_attempts(await session.connection(), [o for _, o in batch])
        await _statuses(session, reached, refused)
        # Every message tried, in the audit log: ids and outcomes, never a text or a number.
        record(
            session,
            actor=WORKER,
            action="messages.sent",
            subject_type="message",
            detail={
                "counts": dict(counts),
                "messages": {o.id: o.state.value for _, o in batch},
            },
        )


async def _send(
    client: httpx.AsyncClient,
    sender: Sender,
    kind: str,
    message: OutboundMessage,
    to: str,
    worker: Any,
    check: WelfareCheck | None,
) -> messaging.Attempt:
    attempts = message.attempts + 1
    config = messaging.gateway_config(sender.settings, kind)
    adapter = adapter_for(kind)
    outbound = base.OutboundMessage(
        key=message.id,
        to=to,
        body=_body(sender, message, check),
        sender=config.sender_for(worker.country if worker is not None else None),
        status_callback=None if adapter.local else sender.callback(kind),
    )
    await sender.pace(kind).wait()
    try:
        sent = await adapter.send(client, config, outbound)
    except base.SendError as exc:
        if exc.permanent:
            return messaging.Attempt(
                message.id, MessageState.UNDELIVERABLE, attempts, error=exc.reason
            )
        if attempts >= messaging.MAX_ATTEMPTS:
            log.warning("message given up", extra={"message": message.id, "error": exc.reason})
            return messaging.Attempt(message.id, MessageState.FAILED, attempts, error=exc.reason)
        return messaging.Attempt(
            message.id,
            MessageState.PENDING,
            attempts,
            error=exc.reason,
            next_attempt_at=utcnow() + messaging.backoff(attempts, exc.retry_after),
        )
    state = (
        MessageState.DELIVERED if sent.state is base.DeliveryState.DELIVERED else MessageState.SENT
    )
    return messaging.Attempt(message.id, state, attempts, provider_id=sent.provider_id)


async def _statuses(
    session: AsyncSession,
    reached: Mapping[str, list[str]],
    refused: Mapping[str, list[str]],
) -> None:
    for crisis_id in sorted(set(reached) | set(refused)):
        crisis = await session.get(Crisis, crisis_id)
        if crisis is None:
            continue
        await welfare.set_many(
            session,
            crisis=crisis,
            worker_ids=reached.get(crisis_id, []),
            to=WelfareOutcome.CONTACTED,
            only_from=_REACHED_FROM,
            actor=WORKER,
            how=None,
        )
        await welfare.set_many(
            session,
            crisis=crisis,
            worker_ids=refused.get(crisis_id, []),
            to=WelfareOutcome.UNREACHABLE,
            only_from=welfare.WAITING,
            actor=WORKER,
            how=None,
        )
