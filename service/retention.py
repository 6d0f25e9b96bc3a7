"""Retention: registrations past their time are erased, and each erasure is logged."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import WORKER
from service.db import utcnow
from service.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from service.idempotency import IdempotentResponse
from service.registry.models import Worker
from service.registry.service import changed, erase_fields
from service.welfare.service import forget_notes


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
    await forget_notes(session, [w.id for w in expired])
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
