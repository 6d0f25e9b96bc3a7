"""Emitting events into the outbox (in the caller's transaction), fanning them out to the
subscriptions, and delivering them in order (the HTTP side is ``integrations.webhooks``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as select_rows
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.safe_url import Policy
from integrations.webhooks import CONCURRENCY, Signer, event_body, post_event
from service.db import UTCDateTime, metadata, new_id, session_scope, utcnow
from service.registry.protect import Protector
from service.settings import Environment, Settings
from service.webhooks.models import OutboxEvent, WebhookSubscription

log = logging.getLogger("lifeline.webhooks")

EVENT_TYPES = (
    "crisis.opened",
    "crisis.updated",
    "task.assigned",
    "task.updated",
    "task.handed_off",
    "task.escalated",
    "alert.received",
)
MAX_ATTEMPTS = 12
LOCK = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s ... capped at an hour: twelve tries span about three hours."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(attempts - 1, 0)))


def url_policy(settings: Settings) -> Policy:
    """Where webhooks may go: public addresses, and the receivers the deployment allows;
    https except in development."""
    return Policy.parse(
        settings.webhook_allow_hosts.split(","),
        require_https=settings.env is not Environment.DEVELOPMENT,
    )


#: Crisis timeline entries and the webhook event each becomes.
CRISIS_EVENTS = {
    "opened": "crisis.opened",
    "zone_changed": "crisis.updated",
    "phase_changed": "crisis.updated",
    "alert_level_changed": "crisis.updated",
    "title_changed": "crisis.updated",
    "severity_changed": "crisis.updated",
    "stood_down": "crisis.updated",
    "task_created": "task.assigned",
    "task_updated": "task.updated",
    "task_handed_off": "task.handed_off",
    "task_escalated": "task.escalated",
}


def emit(
    session: AsyncSession,
    *,
    type: str,
    subject: str,
    data: dict[str, Any],
    organization_id: str | None = None,
) -> OutboxEvent:
    """Write an event to the outbox in the caller's transaction: it commits with the change, or
    not at all. The worker fans it out to the subscriptions that may see it."""
    event = OutboxEvent(
        **event_values(type=type, subject=subject, data=data, organization_id=organization_id)
    )
    session.add(event)
    return event


def event_values(
    *, type: str, subject: str, data: dict[str, Any], organization_id: str | None = None
) -> dict[str, Any]:
    """The outbox row of an event, for callers that write it with a statement of their own
    (still in the transaction of the change)."""
    return {
        "id": new_id(),
        "type": type,
        "subject": subject,
        "occurred_at": utcnow(),
        "organization_id": organization_id,
        "fanned_out": False,
        "data": data,
    }


_EVENTS = metadata.tables["outbox_events"]
_DELIVERIES = metadata.tables["webhook_deliveries"]


async def fan_out(session: AsyncSession, *, limit: int = 1000) -> int:
    """One delivery per event and subscription that wants it and may see it. On PostgreSQL the
    events being fanned out are locked, so that two workers never make the same deliveries."""
    query = (
        select_rows(_EVENTS.c.id, _EVENTS.c.type, _EVENTS.c.subject, _EVENTS.c.organization_id)
        .where(_EVENTS.c.fanned_out.is_(False))
        .order_by(_EVENTS.c.id)
        .limit(limit)
    )
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = (await connection.execute(query)).all()
    if not events:
        return 0
    subscriptions = (
        await session.exec(
            select(WebhookSubscription).where(col(WebhookSubscription.active).is_(True))
        )
    ).all()
    now = utcnow()
    made = [
        {
            "id": new_id(),
            "event_id": event.id,
            "subscription_id": s.id,
            "subject": event.subject,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for event in events
        for s in subscriptions
        if event.type in s.events
        and (
            event.organization_id is None
            or s.sees_all
            or s.organization_id == event.organization_id
        )
    ]
    if made:
        await connection.execute(insert(_DELIVERIES), made)
    await connection.execute(
        update(_EVENTS).where(_EVENTS.c.id.in_([e.id for e in events])).values(fanned_out=True)
    )
    return len(made)


async def _claim(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    limit: int,
    lease: timedelta = LOCK,
) -> list[str]:
    """Take due deliveries for this worker. On PostgreSQL rows are skipped when another worker
    holds them (SKIP LOCKED); either way a claim is a lease that expires if the worker dies."""
    if engine.dialect.name != "postgresql":
        # SQLite has no row locks: claims are serialised in the process (one worker per file).
        async with _claim_lock:
            return await _claim_rows(engine, limit, lease)
    return await _claim_rows(engine, limit, lease)


_claim_lock = asyncio.Lock()


async def _claim_rows(engine: AsyncEngine, limit: int, lease: timedelta) -> list[str]:
    now = utcnow()
    query = (
        select_rows(_DELIVERIES.c.id)
        .where(_DELIVERIES.c.status == "pending")
        .where(_DELIVERIES.c.next_attempt_at <= now)
        .where(_DELIVERIES.c.locked_until.is_(None) | (_DELIVERIES.c.locked_until < now))
        .order_by(_DELIVERIES.c.event_id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    async with engine.begin() as connection:
        ids = list((await connection.execute(query)).scalars())
        if ids:
            await connection.execute(
                update(_DELIVERIES)
                .where(_DELIVERIES.c.id.in_(ids))
                .values(locked_until=now + lease)
            )
    return ids


async def deliver_due(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    protector: Protector,
    *,
    limit: int = 500,
    concurrency: int = CONCURRENCY,
    lease: timedelta = LOCK,
) -> dict[str, int]:
    """Deliver what is due; return counts by outcome.

    Deliveries to one subscriber about one subject go one after the other, in event order, and
    stop at the first failure (the later ones wait for it); different subjects go in parallel,
    up to ``concurrency`` at a time. The outcomes are written back in two statements a batch.
    """
    counts = {"delivered": 0, "retry": 0, "dead": 0, "waiting": 0}
    async with session_scope(maker) as session:
        await fan_out(session, limit=max(limit, 1000))
    claimed = await _claim(engine, maker, limit, lease)
    if not claimed:
        return counts
    outcomes: list[dict[str, Any]] = []
    try:
        await _deliver(engine, maker, client, protector, claimed, counts, outcomes, concurrency)
    finally:
        # What was sent is recorded even if this worker is stopped midway (SIGTERM), and every
        # other delivery of the claim let go at once, so that another worker takes it without
        # waiting for the lease; if even this fails, the claim runs out with its lease. A
        # delivery cut off in flight is sent again: at least once, deduplicated by the
        # receiver on its ``Lifeline-Event-Id``.
        tried = {o["b_id"] for o in outcomes}
        await _record(engine, outcomes, [d for d in claimed if d not in tried])
    return counts


async def _deliver(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    protector: Protector,
    claimed: list[str],
    counts: dict[str, int],
    outcomes: list[dict[str, Any]],
    concurrency: int,
) -> None:
    """Post the claimed deliveries, appending each attempt's outcome to ``outcomes``."""
    async with engine.connect() as connection:
        deliveries = (
            await connection.execute(
                select_rows(
                    _DELIVERIES.c.id,
                    _DELIVERIES.c.event_id,
                    _DELIVERIES.c.subscription_id,
                    _DELIVERIES.c.subject,
                    _DELIVERIES.c.attempts,
                    _EVENTS.c.type,
                    _EVENTS.c.occurred_at,
                    _EVENTS.c.data,
                )
                .join(_EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id)
                .where(_DELIVERIES.c.id.in_(claimed))
                .order_by(_DELIVERIES.c.event_id)
            )
        ).all()
        wanted = {d.subscription_id for d in deliveries}
        # The oldest pending event of each (subscriber, subject): a group starts only from there.
        heads = {
            (row[0], row[1]): row[2]
            for row in (
                await connection.execute(
                    select_rows(
                        _DELIVERIES.c.subscription_id,
                        _DELIVERIES.c.subject,
                        func.min(_DELIVERIES.c.event_id),
                    )
                    .where(_DELIVERIES.c.status == "pending")
                    .where(_DELIVERIES.c.subscription_id.in_(wanted))
                    .group_by(_DELIVERIES.c.subscription_id, _DELIVERIES.c.subject)
                )
            ).all()
        }
    async with maker() as session:
        subscriptions = {
            s.id: s
            for s in (
                await session.exec(
                    select(WebhookSubscription).where(col(WebhookSubscription.id).in_(wanted))
                )
            ).all()
        }
    signers = {
        s.id: Signer(
            protector.sealer.open(s.secret_sealed, record_id=s.id, field="webhook_secret") or ""
        )
        for s in subscriptions.values()
    }
    groups: dict[tuple[str, str], list[Any]] = {}
    for delivery in deliveries:
        groups.setdefault((delivery.subscription_id, delivery.subject), []).append(delivery)
    bodies: dict[str, bytes] = {}
    gate = asyncio.Semaphore(concurrency)

    async def run(group: list[Any]) -> None:
        first = group[0]
        if heads.get((first.subscription_id, first.subject)) != first.event_id:
            # An earlier event of this subject is still pending elsewhere (let go with the rest).
            counts["waiting"] += len(group)
            return
        async with gate:
            for n, delivery in enumerate(group):
                subscription = subscriptions[delivery.subscription_id]
                body = bodies.get(delivery.event_id)
                if body is None:
                    body = bodies[delivery.event_id] = event_body(
                        event_id=delivery.event_id,
                        type=delivery.type,
                        occurred_at=delivery.occurred_at,
                        data=delivery.data,
                    )
                status, error, refused = await post_event(
                    client, signers[subscription.id], subscription.url, delivery.event_id, body
                )
                outcome = {
                    "b_id": delivery.id,
                    "status": "pending",
                    "attempts": delivery.attempts + 1,
                    "next_attempt_at": None,
                    "last_status": status,
                    "last_error": error,
                    "delivered_at": None,
                }
                outcomes.append(outcome)
                if status is not None and 200 <= status < 300:
                    outcome["status"], outcome["delivered_at"] = "delivered", utcnow()
                    counts["delivered"] += 1
                    continue
                if refused or outcome["attempts"] >= MAX_ATTEMPTS:
                    # A refused address is refused again at every try: no point in retrying.
                    outcome["status"] = "dead"
                    counts["dead"] += 1
                    log.warning(
                        "webhook delivery dead", extra={"delivery": delivery.id, "error": error}
                    )
                else:
                    outcome["next_attempt_at"] = utcnow() + backoff(outcome["attempts"])
                    counts["retry"] += 1
                # In order: the rest waits for this one (let go with the rest).
                counts["waiting"] += len(group) - n - 1
                return

    await asyncio.gather(*(run(g) for g in groups.values()))


async def _record(engine: AsyncEngine, outcomes: list[dict[str, Any]], released: list[str]) -> None:
    """The delivery log of a batch: each attempt's outcome, and the claims let go."""
    async with engine.begin() as connection:
        if outcomes:
            await connection.execute(
                update(_DELIVERIES)
                .where(_DELIVERIES.c.id == bindparam("b_id"))
                .values(
                    status=bindparam("status"),
                    attempts=bindparam("attempts"),
                    next_attempt_at=func.coalesce(
                        bindparam("next_attempt_at", type_=UTCDateTime()),
                        _DELIVERIES.c.next_attempt_at,
                    ),
                    last_status=bindparam("last_status"),
                    last_error=bindparam("last_error"),
                    delivered_at=bindparam("delivered_at"),
                    locked_until=None,
                ),
                outcomes,
            )
        if released:
            await connection.execute(
                update(_DELIVERIES).where(_DELIVERIES.c.id.in_(released)).values(locked_until=None)
            )


def types_ok(events: Sequence[str]) -> list[str]:
    return [e for e in events if e not in EVENT_TYPES]
