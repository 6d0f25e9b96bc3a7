"""What workers' phones send us: each message kept once, read, and turned into welfare statuses.

A reply is matched to the people registered with its number by the keyed hash of the number in
E.164 (never by opening the register); a family may share one phone, so a reply may speak for
several people. Read with certainty (``integrations.messaging.replies``), it sets their status in
every open crisis that checks on them (a drill's gateway: only exercises; a real one: only real
crises); SAFE sent unasked also marks them safe in every open crisis whose zone holds them.
What cannot be read goes to a person (``to_read``), never guessed. STOP is honoured at once. A
number the register does not know is answered with the hotline, once a day at most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import shapely
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.messaging import base, replies, templates
from integrations.messaging.phones import normalise
from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import WORKER, Principal
from service.crises.models import Crisis, CrisisZone, Phase
from service.db import new_id, utcnow
from service.errors import Conflict
from service.flows.welfare import record_welfare
from service.lookups import not_found
from service.messaging import service as messaging
from service.messaging.models import (
    InboundMessage,
    InboundState,
    MessageState,
    OutboundMessage,
    Step,
)
from service.registry.access import visibility_clause
from service.registry.locate import Locator
from service.registry.models import Source, Worker
from service.registry.protect import Protector
from service.registry.schemas import WorkerCreate
from service.registry.service import register_worker
from service.welfare.models import WelfareOutcome, WelfareStatus
from service.welfare.service import Outcome

#: An unknown number is told the hotline at most this often.
UNKNOWN_ANSWER_EVERY = timedelta(hours=24)
_OUTCOMES = {
    replies.Outcome.SAFE: WelfareOutcome.SAFE,
    replies.Outcome.NEEDS_HELP: WelfareOutcome.NEEDS_HELP,
}
_THANKS = {
    replies.Outcome.SAFE: templates.Kind.THANKS_SAFE,
    replies.Outcome.NEEDS_HELP: templates.Kind.THANKS_HELP,
}


@dataclass
class Taken:
    """What one inbound request held, and what became of it."""

    messages: int = 0
    repeated: int = 0
    receipts: int = 0
    understood: int = 0
    to_read: int = 0
    unknown_sender: int = 0


async def take(
    session: AsyncSession,
    *,
    gateway: str,
    local: bool,
    items: Sequence[base.InboundMessage | base.Receipt],
    protector: Protector,
    answer_through: str | None = None,
) -> Taken:
    """Record an inbound request's messages and receipts, in the caller's transaction. The
    answers (thanks, STOP, the hotline) go back through ``answer_through`` (default: the gateway
    they came by)."""
    taken = Taken()
    for item in items:
        if isinstance(item, base.Receipt):
            moved = await messaging.apply_receipt(
                session, gateway=gateway, receipt=item, drill=local
            )
            taken.receipts += 1
            if moved is not None and moved.state == MessageState.UNDELIVERABLE.value:
                await _unreachable(session, moved.crisis_id, moved.worker_id, moved.step)
            continue
        taken.messages += 1
        state = await _one(
            session,
            gateway=gateway,
            answer_through=answer_through or gateway,
            drill=local,
            item=item,
            protector=protector,
            pushed=answer_through is not None,
        )
        if state is None:
            taken.repeated += 1
        elif state is InboundState.UNDERSTOOD:
            taken.understood += 1
        elif state is InboundState.TO_READ:
            taken.to_read += 1
        else:
            taken.unknown_sender += 1  # answered; an intake also waits for a person
    return taken


async def _unreachable(
    session: AsyncSession, crisis_id: str | None, worker_id: str | None, step: str
) -> None:
    """A number refused for good after it was taken: its person is ``unreachable`` if they had
    not answered."""
    if not crisis_id or not worker_id or step not in (Step.CHECK.value, Step.REMINDER.value):
        return
    from service.welfare import service as welfare

    crisis = await session.get(Crisis, crisis_id)
    if crisis is not None:
        await welfare.set_many(
            session,
            crisis=crisis,
            worker_ids=[worker_id],
            to=WelfareOutcome.UNREACHABLE,
            only_from=welfare.WAITING,
            actor=WORKER,
            how=None,
        )


async def _one(
    session: AsyncSession,
    *,
    gateway: str,
    answer_through: str,
    drill: bool,
    item: base.InboundMessage,
    protector: Protector,
    pushed: bool = False,
) -> InboundState | None:
    """One message. ``pushed``: an integration's, not a gateway's: it answers no unknown number
    (no SMS to any number an integration names), its STOP waits for a person, and it speaks
    only for people a check asked."""
    e164 = normalise(item.sender)
    from_hash = protector.phone_hash_e164(e164) if e164 else None
    row = InboundMessage(
        id=new_id(),
        gateway=gateway,
        provider_id=provider_key(item.provider_id),
        from_hash=from_hash,
        state=InboundState.TO_READ.value,
        drill=drill,
    )
    row.from_sealed = protector.sealer.seal(item.sender, record_id=row.id, field="from")
    row.text_sealed = protector.sealer.seal(item.body, record_id=row.id, field="text")
    if not await messaging.store_inbound(session, row):
        return None
    understood = replies.understand(item.body)
    workers = (
        list(
            (
                await session.exec(
                    select(Worker).where(
                        Worker.phone_hash == from_hash, col(Worker.erased_at).is_(None)
                    )
                )
            ).all()
        )
        if from_hash
        else []
    )
    row.worker_ids = [w.id for w in workers]
    outcome = understood.outcome
    if not workers:
        taking = await _taking_registrations(session, drill=drill)
        state = InboundState.INTAKE if taking and e164 else InboundState.UNKNOWN_SENDER
        row.crisis_ids = [c.id for c in taking] if state is InboundState.INTAKE else []
        if e164 and not pushed and not await _answered_lately(session, from_hash, row.id):
            _answer(
                session,
                row,
                gateway=answer_through,
                drill=drill,
                kind=templates.Kind.UNKNOWN_SENDER,
                language="en",
                worker=None,
                to=e164,
                protector=protector,
            )
    elif outcome is replies.Outcome.STOP and pushed:
        state = InboundState.TO_READ
    elif outcome is replies.Outcome.STOP:
        assert from_hash is not None
        await messaging.stop(
            session, phone_hash=from_hash, via=f"message {row.id}", worker_ids=row.worker_ids
        )
        state = InboundState.UNDERSTOOD
        _answer(
            session,
            row,
            gateway=answer_through,
            drill=drill,
            kind=templates.Kind.STOPPED,
            language=_language(workers[0]),
            worker=workers[0],
            to=None,
            protector=protector,
        )
    elif outcome is None:
        state = InboundState.TO_READ
        row.crisis_ids = [c.id for c in await _checking(session, workers, drill=drill)]
    else:
        crises = await _checking(session, workers, drill=drill)
        if outcome is replies.Outcome.SAFE and not pushed:
            crises = _unique(crises + await _holding(session, workers, drill=drill))
        if not crises:
            # Nothing asks about them now: a person reads it, rather than it vanishing.
            state = InboundState.TO_READ
        elif await _settled_otherwise(session, workers, crises, _OUTCOMES[outcome]):
            # A status a person settled (deceased, missing, needs help...) is not undone by an
            # SMS read by a machine: a person reads it.
            state = InboundState.TO_READ
            row.crisis_ids = [c.id for c in crises]
        else:
            state = InboundState.UNDERSTOOD
            await record_reading(
                session,
                row=row,
                workers=workers,
                crises=crises,
                outcome=_OUTCOMES[outcome],
                note=understood.words or None,
                by=WORKER,
                protector=protector,
            )
            _answer(
                session,
                row,
                gateway=answer_through,
                drill=drill,
                kind=_THANKS[outcome],
                language=_language(workers[0]),
                worker=workers[0],
                to=None,
                protector=protector,
            )
    row.state = state.value
    row.outcome = (
        outcome.value if outcome is not None and state is not InboundState.TO_READ else None
    )
    session.add(row)
    record(
        session,
        actor=WORKER,
        action="message.received",
        subject_type="message",
        subject_id=row.id,
        detail={
            "gateway": gateway,
            "state": row.state,
            "outcome": row.outcome,
            "workers": row.worker_ids,
            "crises": row.crisis_ids,
        },
    )
    return state


async def record_reading(
    session: AsyncSession,
    *,
    row: InboundMessage,
    workers: Sequence[Worker],
    crises: Sequence[Crisis],
    outcome: WelfareOutcome,
    note: str | None,
    by: Principal,
    protector: Protector,
) -> None:
    """What a message says, for each person it speaks for, in each crisis: their status, and
    no reminder after it."""
    for crisis in crises:
        for worker in workers:
            found = Outcome(worker_id=worker.id, outcome=outcome, note=note, how="reply")
            await record_welfare(session, found, by=by, crisis=crisis, protector=protector)
        await messaging.cancel_pending(
            session,
            [w.id for w in workers],
            reason="answered",
            crisis_id=crisis.id,
            steps=[Step.CHECK.value, Step.REMINDER.value],
        )
    row.crisis_ids = _unique_ids([*row.crisis_ids, *(c.id for c in crises)])


def _unique(crises: list[Crisis]) -> list[Crisis]:
    seen: dict[str, Crisis] = {}
    for crisis in crises:
        seen.setdefault(crisis.id, crisis)
    return list(seen.values())


def _unique_ids(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _language(worker: Worker) -> str:
    return templates.choose_language(list(worker.languages or ()), worker.nationality)


async def _checking(
    session: AsyncSession, workers: Sequence[Worker], *, drill: bool
) -> list[Crisis]:
    """The open crises (of the drill's kind) that check on these people: a welfare status of
    theirs, or a check's message to them."""
    ids = [w.id for w in workers]
    open_ = (Crisis.phase != Phase.CLOSED.value, Crisis.exercise == drill)
    by_status = await session.exec(
        select(Crisis)
        .join(WelfareStatus, col(WelfareStatus.crisis_id) == col(Crisis.id))
        .where(col(WelfareStatus.worker_id).in_(ids), *open_)
    )
    by_message = await session.exec(
        select(Crisis)
        .join(OutboundMessage, col(OutboundMessage.crisis_id) == col(Crisis.id))
        .where(
            col(OutboundMessage.worker_id).in_(ids),
            col(OutboundMessage.check_id).is_not(None),
            *open_,
        )
    )
    found = [*by_status.all(), *by_message.all()]
    return _unique(sorted(found, key=lambda c: (c.created_at, c.id)))


async def _holding(
    session: AsyncSession, workers: Sequence[Worker], *, drill: bool
) -> list[Crisis]:
    """The open crises (of the drill's kind) whose latest zone holds one of these people."""
    placed = [(w.lon, w.lat) for w in workers if w.lat is not None and w.lon is not None]
    if not placed:
        return []
    crises = (
        await session.exec(
            select(Crisis).where(Crisis.phase != Phase.CLOSED.value, Crisis.exercise == drill)
        )
    ).all()
    out = []
    for crisis in crises:
        zone = (
            await session.exec(
                select(CrisisZone.id)
                .where(CrisisZone.crisis_id == crisis.id)
                .order_by(col(CrisisZone.version).desc())
                .limit(1)
            )
        ).first()
        if zone is None:
            continue
        geometry = await _zone(session, zone)
        if any(shapely.contains_xy(geometry, x, y) for x, y in placed):
            out.append(crisis)
    return out


#: Zones read and prepared, by their row (a zone version never changes): a reply must not parse
#: a crisis's outline each time.
_ZONES: dict[str, Any] = {}


async def _zone(session: AsyncSession, zone_id: str) -> Any:
    found = _ZONES.get(zone_id)
    if found is None:
        row = await session.get(CrisisZone, zone_id)
        assert row is not None
        found = shapely.from_geojson(orjson.dumps(row.geometry).decode())
        shapely.prepare(found)
        if len(_ZONES) >= 256:
            _ZONES.pop(next(iter(_ZONES)))
        _ZONES[zone_id] = found
    return found


def provider_key(given: str) -> str:
    """The provider's message id as kept (unique with the gateway): as given, or its hash when
    longer than the column, so that two long ids never collide by truncation."""
    return given if len(given) <= 80 else hashlib.sha256(given.encode()).hexdigest()


async def _settled_otherwise(
    session: AsyncSession,
    workers: Sequence[Worker],
    crises: Sequence[Crisis],
    outcome: WelfareOutcome,
) -> bool:
    """Whether one of these people has, in one of these crises, a settled status other than
    ``outcome``."""
    from service.welfare.service import SETTLED

    rows = await session.exec(
        select(WelfareStatus.status).where(
            col(WelfareStatus.worker_id).in_([w.id for w in workers]),
            col(WelfareStatus.crisis_id).in_([c.id for c in crises]),
        )
    )
    return any(s in SETTLED and s != outcome.value for s in rows.all())


async def _taking_registrations(session: AsyncSession, *, drill: bool) -> list[Crisis]:
    """The open crises (of the drill's kind) that take crisis-time registrations."""
    rows = await session.exec(
        select(Crisis).where(
            Crisis.phase != Phase.CLOSED.value,
            Crisis.exercise == drill,
            col(Crisis.intake).is_(True),
        )
    )
    return list(rows.all())


async def register_sender(
    session: AsyncSession,
    *,
    actor: Principal,
    message_id: str,
    data: WorkerCreate,
    protector: Protector,
    locator: Locator,
) -> tuple[InboundMessage, Worker]:
    """A person called an unknown sender back and registers them: a crisis-time registration
    (``source = crisis_intake``, unverified) with the number that wrote, its message then
    speaking for them (a SAFE or HELP in it sets their status in the crises taking
    registrations). 404 for a message the caller may not read; 409 for one that is no intake."""
    row = await session.get(InboundMessage, message_id)
    visible = await visible_workers(session, actor, row.worker_ids if row else [])
    if row is None or not may_read(actor, row, visible):
        raise not_found("message", message_id)
    if row.state != InboundState.INTAKE.value:
        raise Conflict("This message is not a crisis-time registration waiting for a person")
    phone = protector.sealer.open(row.from_sealed, record_id=row.id, field="from")
    if not phone:
        raise Conflict("The number of this message is no longer kept (retention)")
    asked = data.model_copy(
        update={"phone": phone, "source": Source.CRISIS_INTAKE, "verified": False}
    )
    worker = await register_worker(
        session, actor=actor, protector=protector, locator=locator, data=asked
    )
    row.worker_ids = [worker.id]
    row.state = InboundState.READ.value
    row.read_by = _who(actor)
    row.read_at = utcnow()
    understood = replies.understand(open_text(row, protector) or "")
    if understood.outcome in _OUTCOMES:
        crises = [
            c
            for c in await _taking_registrations(session, drill=row.drill)
            if c.id in row.crisis_ids
        ]
        if crises:
            assert understood.outcome is not None
            await record_reading(
                session,
                row=row,
                workers=[worker],
                crises=crises,
                outcome=_OUTCOMES[understood.outcome],
                note=understood.words or None,
                by=actor,
                protector=protector,
            )
            row.outcome = understood.outcome.value
    session.add(row)
    record(
        session,
        actor=actor,
        action="message.registered",
        subject_type="message",
        subject_id=row.id,
        detail={"worker": worker.id, "crises": row.crisis_ids},
    )
    return row, worker


async def _answered_lately(session: AsyncSession, from_hash: str | None, this: str) -> bool:
    since = utcnow() - UNKNOWN_ANSWER_EVERY
    earlier = (
        await session.exec(
            select(InboundMessage.id).where(
                InboundMessage.from_hash == from_hash,
                col(InboundMessage.state).in_(
                    [InboundState.UNKNOWN_SENDER.value, InboundState.INTAKE.value]
                ),
                InboundMessage.received_at >= since,
                InboundMessage.id != this,
            )
        )
    ).first()
    return earlier is not None


def _answer(
    session: AsyncSession,
    row: InboundMessage,
    *,
    gateway: str,
    drill: bool,
    kind: templates.Kind,
    language: str,
    worker: Worker | None,
    to: str | None,
    protector: Protector,
) -> None:
    """Queue the answer to an inbound message, through the gateway it came by."""
    message = OutboundMessage(
        worker_id=worker.id if worker is not None else None,
        reply_to=row.id,
        step=Step.REPLY.value,
        kind=kind.value,
        language=language,
        gateway=gateway,
        drill=drill,
    )
    if to is not None:
        message.to_sealed = protector.sealer.seal(to, record_id=message.id, field="to")
    session.add(message)


def may_read(actor: Principal, row: InboundMessage, visible: set[str]) -> bool:
    """Who reads a message: those who may read one of the people it speaks for; a message from
    an unknown number, the coordinators and administrators."""
    if not row.worker_ids:
        return actor.role in (Role.ADMIN, Role.COORDINATOR)
    return bool(visible.intersection(row.worker_ids))


async def visible_workers(session: AsyncSession, actor: Principal, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` the caller may read."""
    if not ids:
        return set()
    rows = await session.exec(
        select(Worker.id).where(col(Worker.id).in_(sorted(set(ids))), visibility_clause(actor))
    )
    return set(rows.all())


async def read_message(
    session: AsyncSession,
    *,
    actor: Principal,
    message_id: str,
    outcome: str,
    note: str | None,
    protector: Protector,
) -> InboundMessage:
    """A person read a message nobody could read with certainty, and records what it says:
    for each person it speaks for that the reader may read, in every open crisis checking on
    them. The same reading again changes nothing; 404 for a message the reader may not read."""
    row = await session.get(InboundMessage, message_id)
    visible = await visible_workers(session, actor, row.worker_ids if row else [])
    if row is None or not may_read(actor, row, visible):
        raise not_found("message", message_id)
    if row.state == InboundState.READ.value and row.outcome == outcome:
        return row
    workers = [
        w
        for w in (
            await session.exec(select(Worker).where(col(Worker.id).in_(sorted(visible))))
        ).all()
        if w.erased_at is None
    ]
    if outcome in ("safe", "needs_help"):
        if not workers:
            raise Conflict("This message speaks for nobody in the register: nothing to record")
        crises = await _checking(session, workers, drill=row.drill)
        if outcome == "safe":
            crises = _unique(crises + await _holding(session, workers, drill=row.drill))
        if not crises:
            raise Conflict("No open crisis checks on the people this message speaks for")
        await record_reading(
            session,
            row=row,
            workers=workers,
            crises=crises,
            outcome=WelfareOutcome(outcome),
            note=note,
            by=actor,
            protector=protector,
        )
    elif outcome == "stop" and row.from_hash:
        await messaging.stop(
            session,
            phone_hash=row.from_hash,
            via=f"read by {actor.role.value}",
            worker_ids=row.worker_ids,
        )
    row.state = InboundState.READ.value
    row.outcome = outcome
    row.read_by = _who(actor)
    row.read_at = utcnow()
    session.add(row)
    record(
        session,
        actor=actor,
        action="message.read",
        subject_type="message",
        subject_id=row.id,
        detail={"outcome": outcome, "workers": [w.id for w in workers], "crises": row.crisis_ids},
    )
    return row


def _who(actor: Principal) -> str:
    from service.changes import who

    return who(actor)


def open_text(row: InboundMessage, protector: Protector) -> str | None:
    return protector.sealer.open(row.text_sealed, record_id=row.id, field="text")
