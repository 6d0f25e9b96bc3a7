"""The outbox of messages to workers' phones and what comes back: claiming what is due (a lease,
so that a sender killed mid-send lets it go), recording what the gateway said, delivery receipts,
inbound messages stored once, and the phones that said STOP.

Who gets a message is decided by the flows that plan them (``service.flows.welfare_checks``);
sending, which reads the register's phones, is ``service.flows.sending``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as select_rows
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.messaging.base import DeliveryState, GatewayConfig, Receipt
from service.db import UTCDateTime, insert_rows, utcnow
from service.messaging.models import (
    InboundMessage,
    MessageState,
    OutboundMessage,
    PhoneStop,
)
from service.settings import Settings

OUT = OutboundMessage.__table__  # type: ignore[attr-defined]
STOPS = PhoneStop.__table__  # type: ignore[attr-defined]
#: A sender holds what it claimed this long: past it, another sender may take it again (with the
#: same key: where the gateway knows idempotency keys, it is still one message).
LEASE = timedelta(seconds=60)
#: Tries before a message is given up: with the backoff below, more than two hours of a gateway
#: that is down or refusing, so that an hour's outage loses nothing.
MAX_ATTEMPTS = 20
#: What a receipt may move a message from: a late "sent" never undoes a "delivered".
_RANK = {
    MessageState.PENDING.value: 0,
    MessageState.SENT.value: 1,
    MessageState.DELIVERED.value: 2,
    MessageState.FAILED.value: 3,
    MessageState.UNDELIVERABLE.value: 3,
    MessageState.CANCELLED.value: 4,
}
_RECEIPT_STATE = {
    DeliveryState.QUEUED: MessageState.SENT,
    DeliveryState.SENT: MessageState.SENT,
    DeliveryState.DELIVERED: MessageState.DELIVERED,
    DeliveryState.FAILED: MessageState.FAILED,
    DeliveryState.UNDELIVERABLE: MessageState.UNDELIVERABLE,
}


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """5 s, 10 s, 20 s... up to 10 min between tries; never sooner than the gateway asked."""
    seconds = min(600.0, 5.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=max(seconds, retry_after or 0.0))


def gateway_kind(settings: Settings, *, drill: bool) -> str:
    """The gateway a message goes through: an exercise's always the drill gateway."""
    return "drill" if drill else settings.messages_gateway


def gateway_config(settings: Settings, kind: str) -> GatewayConfig:
    """One gateway's settings, as its adapter takes them."""
    if kind == "drill":
        return GatewayConfig(
            name="drill",
            secret=settings.messages_drill_secret,
            senders=settings.messages_senders,
            default_sender=settings.messages_default_sender,
            path=settings.messages_drill_file,
        )
    return GatewayConfig(
        name=kind,
        account=settings.messages_account,
        secret=settings.messages_secret,
        base_url=settings.messages_base_url,
        signature_method=settings.messages_signature_method,
        senders=settings.messages_senders,
        default_sender=settings.messages_default_sender,
    )


_claim_lock = asyncio.Lock()


async def claim(engine: AsyncEngine, limit: int, lease: timedelta | None = None) -> list[str]:
    """Take up to ``limit`` due messages for this sender, oldest first, for ``lease`` (``LEASE``
    when not given). On PostgreSQL rows another sender holds are skipped (SKIP LOCKED); on
    SQLite claims are serialised in the process."""
    if engine.dialect.name != "postgresql":
        async with _claim_lock:
            return await _claim_rows(engine, limit, lease or LEASE)
    return await _claim_rows(engine, limit, lease or LEASE)


async def release(engine: AsyncEngine, ids: Sequence[str]) -> None:
    """Let go of claimed messages that were not tried (a sender stopping midway): another sender
    takes them at once rather than when the lease runs out."""
    if not ids:
        return
    async with engine.begin() as connection:
        await connection.execute(
            update(OUT)
            .where(OUT.c.id.in_(list(ids)))
            .where(OUT.c.state == MessageState.PENDING.value)
            .values(locked_until=None)
        )


async def _claim_rows(engine: AsyncEngine, limit: int, lease: timedelta) -> list[str]:
    now = utcnow()
    query = (
        select_rows(OUT.c.id)
        .where(OUT.c.state == MessageState.PENDING.value)
        .where(OUT.c.next_attempt_at <= now)
        .where(OUT.c.locked_until.is_(None) | (OUT.c.locked_until < now))
        .order_by(OUT.c.next_attempt_at, OUT.c.id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    async with engine.begin() as connection:
        ids = list((await connection.execute(query)).scalars())
        if ids:
            await connection.execute(
                update(OUT).where(OUT.c.id.in_(ids)).values(locked_until=now + lease)
            )
    return ids


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try at a message came to."""

    id: str
    state: MessageState
    attempts: int
    provider_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        done = self.state in (MessageState.SENT, MessageState.DELIVERED)
        return {
            "b_id": self.id,
            "b_state": self.state.value,
            "b_attempts": self.attempts,
            "b_provider_id": self.provider_id,
            "b_error": (self.error or "")[:300] or None,
            "b_next": self.next_attempt_at,
            "b_sent_at": now if done else None,
            "b_delivered_at": now if self.state is MessageState.DELIVERED else None,
        }


async def record_attempts(engine: AsyncEngine, attempts: Sequence[Attempt]) -> None:
    """Write a batch of tries back, and let go of their leases: one statement, committed. A
    message already cancelled meanwhile (the person answered, said STOP) stays cancelled."""
    if not attempts:
        return
    async with engine.begin() as connection:
        await write_attempts(connection, attempts)


async def write_attempts(connection: AsyncConnection, attempts: Sequence[Attempt]) -> None:
    """``record_attempts`` in the caller's transaction, for a caller that writes what follows
    from the tries in the same one."""
    if not attempts:
        return
    now = utcnow()
    await connection.execute(
        update(OUT)
        .where(OUT.c.id == bindparam("b_id"))
        .where(OUT.c.state == MessageState.PENDING.value)
        .values(
            state=bindparam("b_state"),
            attempts=bindparam("b_attempts"),
            provider_id=func.coalesce(bindparam("b_provider_id"), OUT.c.provider_id),
            error=bindparam("b_error"),
            next_attempt_at=func.coalesce(
                bindparam("b_next", type_=UTCDateTime()), OUT.c.next_attempt_at
            ),
            sent_at=func.coalesce(bindparam("b_sent_at", type_=UTCDateTime()), OUT.c.sent_at),
            delivered_at=bindparam("b_delivered_at", type_=UTCDateTime()),
            locked_until=None,
        ),
        [a.row(now) for a in attempts],
    )


async def apply_receipt(
    session: AsyncSession, *, gateway: str, receipt: Receipt, drill: bool = False
) -> OutboundMessage | None:
    """A delivery receipt moves its message forward (never back); the message, when it is ours
    and moved, else None. The same receipt twice changes nothing."""
    message = (
        await session.exec(
            select(OutboundMessage).where(
                OutboundMessage.gateway == gateway,
                OutboundMessage.provider_id == receipt.provider_id,
                OutboundMessage.drill == drill,
            )
        )
    ).first()
    if message is None:
        return None
    state = _RECEIPT_STATE[receipt.state]
    final = (MessageState.FAILED, MessageState.UNDELIVERABLE, MessageState.CANCELLED)
    if message.state in final or _RANK[state.value] <= _RANK[message.state]:
        return None
    message.state = state.value
    if state is MessageState.DELIVERED:
        message.delivered_at = utcnow()
    if receipt.error:
        message.error = receipt.error[:300]
    session.add(message)
    return message


async def store_inbound(session: AsyncSession, message: InboundMessage) -> bool:
    """Keep an inbound message once: False when the gateway's id is already known (a
    redelivery), and nothing is written."""
    known = (
        await session.exec(
            select(InboundMessage.id).where(
                InboundMessage.gateway == message.gateway,
                InboundMessage.provider_id == message.provider_id,
            )
        )
    ).first()
    if known is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(message)
            await session.flush()
    except IntegrityError:
        # The same message delivered twice at once: the other request keeps it.
        return False
    return True


async def stopped(session: AsyncSession, hashes: Iterable[str]) -> set[str]:
    """Those of ``hashes`` whose phones said STOP."""
    wanted = sorted(set(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        rows = await session.exec(
            select(PhoneStop.phone_hash).where(col(PhoneStop.phone_hash).in_(chunk))
        )
        found.update(rows.all())
    return found


async def stop(
    session: AsyncSession, *, phone_hash: str, via: str, worker_ids: Sequence[str]
) -> int:
    """A phone asks for no more: recorded (once), and every message still waiting for the people
    registered with it is cancelled at once. How many were cancelled."""
    if await session.get(PhoneStop, phone_hash) is None:
        session.add(PhoneStop(phone_hash=phone_hash, via=via[:120]))
        await session.flush()
    return await cancel_pending(session, worker_ids, reason="stop")


async def cancel_pending(
    session: AsyncSession,
    worker_ids: Sequence[str],
    *,
    reason: str,
    crisis_id: str | None = None,
    steps: Sequence[str] | None = None,
    check_id: str | None = None,
) -> int:
    """Cancel the messages still waiting for these workers (of one crisis, of some steps)."""
    if not worker_ids:
        return 0
    statement = (
        update(OUT)
        .where(OUT.c.worker_id.in_(list(worker_ids)))
        .where(OUT.c.state == MessageState.PENDING.value)
    )
    if crisis_id is not None:
        statement = statement.where(OUT.c.crisis_id == crisis_id)
    if steps is not None:
        statement = statement.where(OUT.c.step.in_(list(steps)))
    if check_id is not None:
        statement = statement.where(OUT.c.check_id == check_id)
    connection = await session.connection()
    result = await connection.execute(
        statement.values(state=MessageState.CANCELLED.value, error=reason, locked_until=None)
    )
    return int(result.rowcount or 0)


async def insert_messages(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue planned messages (each a complete row of ``messages_out``), in the caller's
    transaction: they go out only if what planned them is committed."""
    await insert_rows(await session.connection(), OUT, rows)


async def progress(session: AsyncSession, check_id: str) -> dict[str, dict[str, int]]:
    """A check's messages counted by step and state."""
    rows = await session.exec(
        select(OutboundMessage.step, OutboundMessage.state, func.count())
        .where(OutboundMessage.check_id == check_id)
        .group_by(col(OutboundMessage.step), col(OutboundMessage.state))
    )
    out: dict[str, dict[str, int]] = {}
    for step, state, n in rows.all():
        out.setdefault(step, {})[state] = int(n)
    return out
