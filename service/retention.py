"""Retention: registrations past their time are erased, and each erasure is logged."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import WORKER
from service.db import utcnow
from service.flows.erasure import forget_everywhere
from service.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from service.idempotency import IdempotentResponse
from service.messaging.models import InboundMessage, OutboundMessage
from service.registry.models import Worker
from service.registry.protect import NO_USABLE_PHONE, Protector
from service.registry.service import changed, erase_fields

_INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
_OUTBOUND = OutboundMessage.__table__  # type: ignore[attr-defined]


async def erase_expired_workers(
    session: AsyncSession, *, now: datetime | None = None, retention: timedelta, limit: int = 1000
) -> int:
    """Erase live workers whose ``retain_until`` has passed, or who were last updated more than
    ``retention`` ago and did not ask to stay registered. Returns how many were erased."""
    now = now or utcnow()
    query = (
        select(Worker)
        .where(col(Worker.erased_at).is_(None))
        .where(
            or_(
                col(Worker.retain_until) < now,
                (col(Worker.updated_at) < now - retention) & col(Worker.stay_registered).is_(False),
            )
        )
        .order_by(col(Worker.pk))
        .limit(limit)
    )
    expired = (await session.exec(query)).all()
    for worker in expired:
        erase_fields(worker)
        session.add(worker)
    await session.flush()
    await forget_everywhere(session, [w.id for w in expired])
    for worker in expired:
        changed(session, worker)
        record(
            session,
            actor=WORKER,
            action="worker.erase",
            subject_type="worker",
            subject_id=worker.id,
            detail={"reason": "retention"},
        )
    return len(expired)


async def forget_idempotency_keys(session: AsyncSession, *, now: datetime | None = None) -> None:
    cutoff = (now or utcnow()) - IDEMPOTENCY_RETENTION
    await session.execute(
        delete(IdempotentResponse).where(col(IdempotentResponse.created_at) < cutoff)
    )


async def hash_missing_phones(
    session: AsyncSession, protector: Protector, *, limit: int = 5000
) -> int:
    """Give the keyed phone hash to registrations made before it existed (or imported without
    it): welfare replies are matched on it. How many were done in this batch."""
    rows = (
        await session.exec(
            select(Worker)
            .where(col(Worker.phone_hash).is_(None), col(Worker.phone_sealed).is_not(None))
            .where(col(Worker.erased_at).is_(None))
            .order_by(col(Worker.pk))
            .limit(limit)
        )
    ).all()
    for worker in rows:
        phone = protector.open(worker, "phone")
        worker.phone_hash = (
            protector.phone_hash(phone, country=worker.country, nationality=worker.nationality)
            or NO_USABLE_PHONE
        )
        session.add(worker)
    return len(rows)


async def forget_message_texts(session: AsyncSession, *, before: datetime) -> int:
    """What workers' phones sent, and the numbers of unknown senders, are kept sealed until
    ``before`` (``messages_retention_days``): then the texts go; the counts and states stay."""
    connection = await session.connection()
    result = await connection.execute(
        update(_INBOUND)
        .where(_INBOUND.c.received_at < before)
        .where(_INBOUND.c.text_sealed.is_not(None) | _INBOUND.c.from_sealed.is_not(None))
        .values(text_sealed=None, from_sealed=None)
    )
    await connection.execute(
        update(_OUTBOUND)
        .where(_OUTBOUND.c.created_at < before)
        .where(_OUTBOUND.c.to_sealed.is_not(None))
        .values(to_sealed=None)
    )
    return int(result.rowcount or 0)
