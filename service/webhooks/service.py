"""Emitting events into the outbox (in the caller's transaction), and delivering them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import new_id, session_scope, utcnow
from service.registry.protect import Protector
from service.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription

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
TIMEOUT_S = 10.0


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s ... capped at an hour: twelve tries span about three hours."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(attempts - 1, 0)))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


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


async def fan_out(session: AsyncSession, *, limit: int = 1000) -> int:
    """One delivery per event and subscription that wants it and may see it."""
    events = (
        await session.exec(
            select(OutboxEvent)
            .where(col(OutboxEvent.fanned_out).is_(False))
            .order_by(col(OutboxEvent.id))
            .limit(limit)
        )
    ).all()
    if not events:
        return 0
    subscriptions = (
        await session.exec(
            select(WebhookSubscription).where(col(WebhookSubscription.active).is_(True))
        )
    ).all()
    made = 0
    for event in events:
        for s in subscriptions:
            if event.type in s.events and (
                event.organization_id is None
                or s.sees_all
                or s.organization_id == event.organization_id
            ):
                session.add(
                    WebhookDelivery(event_id=event.id, subscription_id=s.id, subject=event.subject)
                )
                made += 1
        event.fanned_out = True
        session.add(event)
    await session.flush()
    return made


async def _claim(
    engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], limit: int
) -> list[str]:
    """Take due deliveries for this worker. On PostgreSQL rows are skipped when another worker
    holds them (SKIP LOCKED); either way a claim is a lease that expires if the worker dies."""
    if engine.dialect.name != "postgresql":
        # SQLite has no row locks: claims are serialised in the process (one worker per file).
        async with _claim_lock:
            return await _claim_rows(engine, maker, limit)
    return await _claim_rows(engine, maker, limit)


_claim_lock = asyncio.Lock()


async def _claim_rows(
    engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], limit: int
) -> list[str]:
    now = utcnow()
    async with session_scope(maker) as session:
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .where(col(WebhookDelivery.next_attempt_at) <= now)
            .where(
                (col(WebhookDelivery.locked_until).is_(None))
                | (col(WebhookDelivery.locked_until) < now)
            )
            .order_by(col(WebhookDelivery.event_id))
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = (await session.exec(query)).all()
        for row in rows:
            row.locked_until = now + LOCK
            session.add(row)
        return [r.id for r in rows]


async def deliver_due(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    protector: Protector,
    *,
    limit: int = 500,
    concurrency: int = 32,
) -> dict[str, int]:
    """Deliver what is due; return counts by outcome.

    Deliveries to one subscriber about one subject go one after the other, in event order, and
    stop at the first failure (the later ones wait for it); different subjects go in parallel.
    """
    counts = {"delivered": 0, "retry": 0, "dead": 0, "waiting": 0}
    async with session_scope(maker) as session:
        await fan_out(session)
    claimed = await _claim(engine, maker, limit)
    if not claimed:
        return counts
    async with session_scope(maker) as session:
        deliveries = list(
            (
                await session.exec(
                    select(WebhookDelivery).where(col(WebhookDelivery.id).in_(claimed))
                )
            ).all()
        )
        events = {
            e.id: e
            for e in (
                await session.exec(
                    select(OutboxEvent).where(
                        col(OutboxEvent.id).in_({d.event_id for d in deliveries})
                    )
                )
            ).all()
        }
        subscriptions = {
            s.id: s
            for s in (
                await session.exec(
                    select(WebhookSubscription).where(
                        col(WebhookSubscription.id).in_({d.subscription_id for d in deliveries})
                    )
                )
            ).all()
        }
        # The oldest pending event of each (subscriber, subject): a group starts only from there.
        heads = {
            (row[0], row[1]): row[2]
            for row in (
                await session.exec(
                    select(
                        WebhookDelivery.subscription_id,
                        WebhookDelivery.subject,
                        func.min(WebhookDelivery.event_id),
                    )
                    .where(WebhookDelivery.status == "pending")
                    .where(col(WebhookDelivery.subscription_id).in_(set(subscriptions)))
                    .group_by(col(WebhookDelivery.subscription_id), col(WebhookDelivery.subject))
                )
            ).all()
        }
    groups: dict[tuple[str, str], list[WebhookDelivery]] = {}
    for delivery in sorted(deliveries, key=lambda d: d.event_id):
        groups.setdefault((delivery.subscription_id, delivery.subject), []).append(delivery)
    secrets = {
        s.id: protector.sealer.open(s.secret_sealed, record_id=s.id, field="webhook_secret") or ""
        for s in subscriptions.values()
    }
    gate = asyncio.Semaphore(concurrency)

    async def run(group: list[WebhookDelivery]) -> None:
        first = group[0]
        if heads.get((first.subscription_id, first.subject)) != first.event_id:
            for delivery in group:  # an earlier event of this subject is still pending elsewhere
                delivery.locked_until = None
                counts["waiting"] += 1
            return
        async with gate:
            for n, delivery in enumerate(group):
                subscription = subscriptions[delivery.subscription_id]
                status, error = await _post(
                    client, secrets[subscription.id], subscription, events[delivery.event_id]
                )
                delivery.attempts += 1
                delivery.locked_until = None
                delivery.last_status, delivery.last_error = status, error
                if status is not None and 200 <= status < 300:
                    delivery.status, delivery.delivered_at = "delivered", utcnow()
                    counts["delivered"] += 1
                    continue
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = "dead"
                    counts["dead"] += 1
                    log.warning(
                        "webhook delivery dead", extra={"delivery": delivery.id, "error": error}
                    )
                else:
                    delivery.next_attempt_at = utcnow() + backoff(delivery.attempts)
                    counts["retry"] += 1
                for later in group[n + 1 :]:  # in order: the rest waits for this one
                    later.locked_until = None
                    counts["waiting"] += 1
                return

    await asyncio.gather(*(run(g) for g in groups.values()))
    async with session_scope(maker) as session:
        for delivery in deliveries:
            session.add(delivery)
    return counts


async def _post(
    client: httpx.AsyncClient,
    secret: str,
    subscription: WebhookSubscription,
    event: OutboxEvent,
) -> tuple[int | None, str | None]:
    body = json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.data,
        },
        separators=(",", ":"),
    ).encode()
    timestamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "Lifeline-Event-Id": event.id,
        "Lifeline-Timestamp": str(timestamp),
        "Lifeline-Signature": sign(secret, timestamp, body),
        "User-Agent": "Lifeline-Webhooks/0.1",
    }
    try:
        response = await client.post(
            subscription.url, content=body, headers=headers, timeout=TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}"
    return response.status_code, None if response.is_success else f"answered {response.status_code}"


def types_ok(events: Sequence[str]) -> list[str]:
    return [e for e in events if e not in EVENT_TYPES]
