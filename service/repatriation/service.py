"""Repatriation use cases: cases and their states, consent, eligibility, movements, seats that
are never overbooked, boarding and arrival checks, reconciliation, the manifest.

A seat is taken by one statement per leg, ``booked = booked + n WHERE booked + n <= capacity``:
two officers racing for the last place get one seat and one 409, on PostgreSQL (the second
update waits for the first and reads its result) and on SQLite (one writer) alike. A person
travels every leg of their movement: a full leg refuses the whole assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.changes import who
from service.crises.models import Crisis
from service.crises.service import event as crisis_event
from service.db import utcnow
from service.errors import Conflict, NotFound, PreconditionFailed
from service.lookups import not_found
from service.registry.access import visible_fields
from service.registry.models import Vulnerability, Worker
from service.registry.protect import Protector
from service.registry.service import get_worker
from service.repatriation.models import (
    BEFORE_BOARDING,
    MOVES,
    CaseEvent,
    CaseKind,
    CaseState,
    Consent,
    Leg,
    Movement,
    RepatriationCase,
    RepatriationRules,
    Seat,
    SeatState,
)

_LEGS = Leg.__table__  # type: ignore[attr-defined]
_CASES = RepatriationCase.__table__  # type: ignore[attr-defined]
#: Who goes first (AFML 2011, MICIC guideline 13): each of these raises the priority by one.
PRIORITY = frozenset(
    {
        Vulnerability.PREGNANT.value,
        Vulnerability.DISABILITY.value,
        Vulnerability.MINOR.value,
        Vulnerability.ELDERLY.value,
        Vulnerability.TRAFFICKING_SURVIVOR.value,
    }
)
ASSIGNABLE = frozenset({CaseState.ELIGIBLE.value, CaseState.DOCUMENTS_READY.value})


async def get_case(session: AsyncSession, *, actor: Principal, case_id: str) -> RepatriationCase:
    """The case if the caller may read its worker (``GET /workers/{id}``'s rule); else the 404
    of no such case."""
    case = await session.get(RepatriationCase, case_id)
    if case is None:
        raise not_found("repatriation case", case_id)
    try:
        await get_worker(session, actor=actor, worker_id=case.worker_id)
    except NotFound as exc:
        raise not_found("repatriation case", case_id) from exc
    return case


async def get_movement(session: AsyncSession, movement_id: str) -> Movement:
    found = await session.get(Movement, movement_id)
    if found is None:
        raise not_found("movement", movement_id)
    return found


@dataclass(frozen=True, slots=True)
class Rules:
    """A crisis's eligibility rules: its own (``source`` ``crisis``) or the settings'."""

    repatriation_level: int = 3
    relocation_level: int = 2
    nationalities: frozenset[str] = frozenset()
    admin1: frozenset[str] = frozenset()
    priority: frozenset[str] = PRIORITY
    source: str = "settings"
    version: int = 0
    set_by: str | None = None

    def level(self, kind: CaseKind) -> int:
        return self.relocation_level if kind is CaseKind.RELOCATION else self.repatriation_level


def default_rules(settings: dict[str, Any]) -> Rules:
    """The deployment's rules (``LIFELINE_REPATRIATION_RULES``) for a crisis with none of its
    own; checked when the settings load."""
    return Rules(
        repatriation_level=int(settings.get("repatriation_level", 3)),
        relocation_level=int(settings.get("relocation_level", 2)),
        nationalities=frozenset(settings.get("nationalities", ())),
        admin1=frozenset(settings.get("admin1", ())),
        priority=frozenset(settings.get("priority", PRIORITY)),
    )


async def rules_of(session: AsyncSession, crisis: Crisis, settings: dict[str, Any]) -> Rules:
    own = await session.get(RepatriationRules, crisis.id)
    if own is None:
        return default_rules(settings)
    return Rules(
        repatriation_level=own.repatriation_level,
        relocation_level=own.relocation_level,
        nationalities=frozenset(own.nationalities),
        admin1=frozenset(own.admin1),
        priority=frozenset(own.priority),
        source="crisis",
        version=own.version,
        set_by=own.set_by,
    )


def decide(rules: Rules, crisis: Crisis, kind: CaseKind, worker: Worker) -> tuple[CaseState, str]:
    """Eligibility by the crisis's rules, and the rule that decided, in words (no personal data
    beyond the nationality and the province the rules name)."""
    level = crisis.alert_level or 1
    least = rules.level(kind)
    if level < least:
        return CaseState.NOT_ELIGIBLE, f"alert level {level}, under {least}: no {kind.value} yet"
    if kind is CaseKind.REPATRIATION and worker.international_protection:
        # Never returned to the country they fled (non-refoulement); said without saying why,
        # in words that name no status (a society responder reads the case, not the status).
        return CaseState.NOT_ELIGIBLE, "repatriation is not open to this person under the rules"
    if rules.nationalities and worker.nationality not in rules.nationalities:
        return CaseState.NOT_ELIGIBLE, f"{kind.value} is open to other nationalities"
    if rules.admin1 and worker.admin1 not in rules.admin1:
        return CaseState.NOT_ELIGIBLE, f"{kind.value} is open from other provinces"
    said = f"alert level {level} of at least {least}"
    if rules.nationalities:
        said += f", nationality {worker.nationality}"
    if rules.admin1:
        said += f", province {worker.admin1}"
    return CaseState.ELIGIBLE, f"{said}: {kind.value} open"


def priority_of(worker: Worker, rules: Rules | None = None) -> int:
    counted = PRIORITY if rules is None else rules.priority
    return len(counted.intersection(worker.vulnerabilities or ()))


#: The states a change of the rules decides again: not yet given a seat.
UNDECIDED = (CaseState.REQUESTED.value, CaseState.ELIGIBLE.value, CaseState.NOT_ELIGIBLE.value)


async def set_rules(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    values: dict[str, Any],
    version: int | None,
) -> tuple[Rules, dict[str, int]]:
    """The crisis's own rules (If-Match on their version, 0 for none yet), and every case not
    yet given a seat decided again by them: how many became each state. A case that was
    eligible and no longer is becomes ``not_eligible`` with the rule that says why; a case with
    a seat keeps it (withdrawing a person is a decision of its own)."""
    own = await session.get(RepatriationRules, crisis.id, with_for_update=True)
    current = own.version if own is not None else 0
    if version is not None and version != current:
        raise PreconditionFailed(
            f"The rules changed since version {version}: they are at version {current}"
        )
    if own is None:
        own = RepatriationRules(crisis_id=crisis.id, set_by=who(actor), version=0)
    same = all(
        sorted(getattr(own, name)) == sorted(values[name])
        if isinstance(values[name], list)
        else getattr(own, name) == values[name]
        for name in values
    )
    if not (same and own.version > 0):
        for name, value in values.items():
            setattr(own, name, sorted(value) if isinstance(value, list) else value)
        own.version += 1
        own.set_by = who(actor)
        own.updated_at = utcnow()
        session.add(own)
        await session.flush()
    # The same rules again still decide again the cases opened before the alert level rose;
    # a second time, nothing changes.
    rules = await rules_of(session, crisis, {})
    decided = await decide_again(session, actor=actor, crisis=crisis, rules=rules)
    if decided or not same:
        await crisis_event(
            session, crisis, "repatriation_rules_set", actor, version=own.version, **decided
        )
    return rules, decided


async def decide_again(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, rules: Rules
) -> dict[str, int]:
    """The crisis's cases without a seat decided again (after its rules or its alert level
    changed), their priority with them; how many of each state changed."""
    rows = (
        await session.exec(
            select(RepatriationCase, Worker)
            .join(Worker, col(Worker.id) == col(RepatriationCase.worker_id))
            .where(
                RepatriationCase.crisis_id == crisis.id,
                col(RepatriationCase.state).in_(UNDECIDED),
            )
        )
    ).all()
    changed: dict[str, int] = {}
    for case, worker in rows:
        state, rule = decide(rules, crisis, CaseKind(case.kind), worker)
        priority = priority_of(worker, rules)
        if case.priority != priority:
            case.priority = priority
            session.add(case)
        if case.state == state.value and case.rule == rule:
            continue
        if case.state == state.value:
            case.rule = rule
            session.add(case)
            continue
        case.rule = rule
        set_state(session, case, state, actor, rule=rule)
        changed[state.value] = changed.get(state.value, 0) + 1
    return changed


def _event(
    session: AsyncSession,
    case: RepatriationCase,
    actor: Principal,
    previous: str | None,
    **detail: Any,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id, actor=who(actor), previous=previous, state=case.state, detail=detail
        )
    )


async def timeline(
    session: AsyncSession, crisis: Crisis, case: RepatriationCase, actor: Principal, kind: str
) -> None:
    """The crisis timeline's entry of a case's change: ids and states, no names."""
    await crisis_event(
        session,
        crisis,
        kind,
        actor,
        case_id=case.id,
        worker_id=case.worker_id,
        state=case.state,
        nationality=case.nationality,
    )


async def find_case(
    session: AsyncSession, crisis_id: str, worker_id: str, kind: CaseKind
) -> RepatriationCase | None:
    return (
        await session.exec(
            select(RepatriationCase).where(
                RepatriationCase.crisis_id == crisis_id,
                RepatriationCase.worker_id == worker_id,
                RepatriationCase.kind == kind.value,
            )
        )
    ).first()


def set_state(
    session: AsyncSession,
    case: RepatriationCase,
    to: CaseState,
    actor: Principal,
    **detail: Any,
) -> None:
    previous = case.state
    case.state = to.value
    case.version += 1
    case.updated_at = utcnow()
    session.add(case)
    _event(session, case, actor, previous, **detail)


def check_version(case: RepatriationCase, version: int | None) -> None:
    if version is not None and version != case.version:
        raise PreconditionFailed(
            f"The case changed since version {version}: it is at version {case.version}"
        )


async def move(
    session: AsyncSession,
    *,
    actor: Principal,
    case: RepatriationCase,
    to: CaseState,
    reason: str | None,
) -> bool:
    """A change by hand: one of ``MOVES``, or a withdrawal before boarding (which frees the
    person's seats). False when the case is already there."""
    current = CaseState(case.state)
    if to is current:
        return False
    if to is CaseState.WITHDRAWN:
        if current not in BEFORE_BOARDING:
            raise Conflict(f"A case {current.value} can no longer be withdrawn")
        await free_seats(session, case)
        set_state(session, case, to, actor, reason=reason)
        return True
    if to not in MOVES[current]:
        allowed = ", ".join(sorted(s.value for s in MOVES[current])) or "none by hand"
        raise Conflict(f"A case {current.value} cannot become {to.value} (next: {allowed})")
    set_state(session, case, to, actor, reason=reason)
    return True


async def record_consent(
    session: AsyncSession, *, actor: Principal, case: RepatriationCase, given: bool
) -> bool:
    """Informed consent, asked before a seat. A refusal is recorded and never overridden: an
    assigned person who refuses is withdrawn and their seats freed."""
    consent = Consent.GIVEN if given else Consent.REFUSED
    if case.consent == consent.value:
        return False
    if CaseState(case.state) not in BEFORE_BOARDING:
        raise Conflict("Consent is asked before boarding")
    case.consent = consent.value
    case.consent_at = utcnow()
    case.consent_by = who(actor)
    if not given and case.state in (CaseState.ASSIGNED.value, CaseState.CONFIRMED.value):
        await free_seats(session, case)
        set_state(session, case, CaseState.WITHDRAWN, actor, consent=consent.value)
    else:
        case.version += 1
        case.updated_at = utcnow()
        session.add(case)
        _event(session, case, actor, case.state, consent=consent.value)
    return True


async def legs_of(session: AsyncSession, movement_id: str) -> list[Leg]:
    rows = await session.exec(
        select(Leg).where(Leg.movement_id == movement_id).order_by(col(Leg.seq))
    )
    return list(rows.all())


async def seats_of(session: AsyncSession, case_id: str) -> list[Seat]:
    return list((await session.exec(select(Seat).where(Seat.case_id == case_id))).all())


async def assign(
    session: AsyncSession, *, actor: Principal, movement: Movement, case: RepatriationCase
) -> bool:
    """Put the case (the person and their family) on every leg of the movement, or on none:
    a full leg is a 409 and nothing is taken. False when it already is on this movement."""
    if case.crisis_id != movement.crisis_id:
        raise Conflict("The case and the movement belong to different crises")
    if case.movement_id == movement.id and case.state in (
        CaseState.ASSIGNED.value,
        CaseState.CONFIRMED.value,
    ):
        return False
    if case.state not in ASSIGNABLE:
        raise Conflict(f"A case {case.state} cannot be given a seat (eligible first)")
    if case.consent != Consent.GIVEN.value:
        raise Conflict("Record the person's informed consent before giving them a seat")
    places = 1 + case.family
    legs = await legs_of(session, movement.id)
    # A leg already full (as last committed) refuses at once, before any row is locked: under
    # contention the refusals need not queue behind the seats being taken. The conditional
    # updates below still decide every seat given.
    for leg in legs:
        if leg.booked + places > leg.capacity:
            raise _no_room(leg, places)
    connection = await session.connection()
    # The case is taken first, by one conditional statement: the same case assigned twice at
    # once (to this movement or another) is one assignment and one 409.
    taken_case = await connection.execute(
        update(_CASES)
        .where(_CASES.c.id == case.id, _CASES.c.state.in_(sorted(ASSIGNABLE)))
        .values(state=CaseState.ASSIGNED.value, movement_id=movement.id)
    )
    if taken_case.rowcount != 1:
        raise Conflict("This case was given a seat meanwhile")
    previous = case.state
    case.movement_id = movement.id
    case.state = CaseState.ASSIGNED.value
    case.version += 1
    case.updated_at = utcnow()
    session.add(case)
    _event(session, case, actor, previous, movement_id=movement.id)
    try:
        async with session.begin_nested():
            for leg in legs:
                session.add(Seat(leg_id=leg.id, case_id=case.id, places=places))
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("This case was given a seat on this movement meanwhile") from exc
    # The places last: a leg's row stays locked from its update to the commit, so that every
    # other assignment to the movement waits for this one; what this one writes is written.
    for leg in legs:
        taken = await connection.execute(
            update(_LEGS)
            .where(_LEGS.c.id == leg.id, _LEGS.c.booked + places <= _LEGS.c.capacity)
            .values(booked=_LEGS.c.booked + places)
        )
        if taken.rowcount != 1:
            raise _no_room(leg, places)
    return True


def _no_room(leg: Leg, places: int) -> Conflict:
    return Conflict(
        f"Leg {leg.seq} ({leg.origin} → {leg.destination}) has no room for {places} "
        f"more: nothing was booked"
    )


async def free_seats(session: AsyncSession, case: RepatriationCase) -> int:
    """Give back the case's seats not yet boarded; how many places were freed."""
    seats = [s for s in await seats_of(session, case.id) if s.state == SeatState.BOOKED.value]
    connection = await session.connection()
    for seat in seats:
        await connection.execute(
            update(_LEGS)
            .where(_LEGS.c.id == seat.leg_id)
            .values(booked=_LEGS.c.booked - seat.places)
        )
        await session.delete(seat)
    if seats:
        case.movement_id = None
    return sum(s.places for s in seats)


@dataclass(frozen=True, slots=True)
class Checked:
    seat: Seat
    changed: bool
    case_state: str


async def check(
    session: AsyncSession,
    *,
    actor: Principal,
    movement: Movement,
    seq: int,
    case: RepatriationCase,
    arrived: bool,
    at: datetime | None = None,
) -> Checked:
    """A person boarded (or arrived at the end of) leg ``seq``, now or ``at`` (a check written
    down at the gate and entered later); the same check twice changes nothing. The first leg's
    boarding makes the case ``boarded``, the last leg's arrival ``arrived``."""
    legs = await legs_of(session, movement.id)
    leg = next((leg for leg in legs if leg.seq == seq), None)
    if leg is None:
        raise not_found("leg", str(seq))
    seat = (
        await session.exec(select(Seat).where(Seat.leg_id == leg.id, Seat.case_id == case.id))
    ).first()
    if seat is None:
        raise Conflict("This person has no seat on this leg")
    want = SeatState.ARRIVED if arrived else SeatState.BOARDED
    order = [SeatState.BOOKED.value, SeatState.BOARDED.value, SeatState.ARRIVED.value]
    if order.index(seat.state) >= order.index(want.value):
        return Checked(seat, False, case.state)
    if arrived and seat.state != SeatState.BOARDED.value:
        raise Conflict("Check the person's boarding of this leg before their arrival")
    now = at or utcnow()
    seat.state = want.value
    seat.checked_by = who(actor)
    if arrived:
        seat.arrived_at = now
    else:
        seat.boarded_at = now
    session.add(seat)
    if not arrived and case.state in (CaseState.ASSIGNED.value, CaseState.CONFIRMED.value):
        set_state(session, case, CaseState.BOARDED, actor, leg=seq)
    elif arrived and leg.seq == legs[-1].seq and case.state == CaseState.BOARDED.value:
        set_state(session, case, CaseState.ARRIVED, actor, leg=seq)
    return Checked(seat, True, case.state)


async def reconcile(session: AsyncSession, movement: Movement) -> list[dict[str, Any]]:
    """Per leg: places and people booked, boarded, arrived, and who is missing at each step
    (booked and not boarded; boarded and not arrived), by case and worker id."""
    legs = await legs_of(session, movement.id)
    # Three columns a seat, not the seats as objects: a manifest of thousands is read at each
    # call, and loading each row into the session cost most of the request.
    rows = (
        await session.exec(
            select(col(Seat.leg_id), col(Seat.state), col(RepatriationCase.worker_id))
            .join(RepatriationCase, col(RepatriationCase.id) == col(Seat.case_id))
            .where(col(Seat.leg_id).in_([leg.id for leg in legs]))
        )
    ).all()
    by_leg: dict[str, dict[str, list[str]]] = {
        leg.id: {state.value: [] for state in SeatState} for leg in legs
    }
    for leg_id, state, worker_id in rows:
        by_leg[leg_id][state].append(worker_id)
    out = []
    for leg in legs:
        states = by_leg[leg.id]
        out.append(
            {
                "seq": leg.seq,
                "origin": leg.origin,
                "destination": leg.destination,
                "capacity": leg.capacity,
                "booked_places": leg.booked,
                "booked": sum(len(workers) for workers in states.values()),
                "boarded": len(states[SeatState.BOARDED.value])
                + len(states[SeatState.ARRIVED.value]),
                "arrived": len(states[SeatState.ARRIVED.value]),
                "not_boarded": sorted(states[SeatState.BOOKED.value]),
                "not_arrived": sorted(states[SeatState.BOARDED.value]),
            }
        )
    return out


#: A manifest's columns: never the documentation status; names and the passport only for those
#: who may read the person (the others get ids).
MANIFEST_COLUMNS = (
    "leg", "mode", "origin", "destination", "departs_at", "case_id", "worker_id", "nationality",
    "given_name", "family_name", "passport", "places", "needs", "seat",
)  # fmt: skip


async def manifest(
    session: AsyncSession, *, actor: Principal, movement: Movement, protector: Protector
) -> list[dict[str, Any]]:
    """Who is on which leg (as the US DS-5528 evacuee manifest lists them)."""
    legs = {leg.id: leg for leg in await legs_of(session, movement.id)}
    rows = (
        await session.exec(
            select(Seat, RepatriationCase, Worker)
            .join(RepatriationCase, col(RepatriationCase.id) == col(Seat.case_id))
            .join(Worker, col(Worker.id) == col(RepatriationCase.worker_id))
            .where(col(Seat.leg_id).in_(list(legs)))
        )
    ).all()
    out = []
    for seat, case, worker in sorted(rows, key=lambda r: (legs[r[0].leg_id].seq, r[1].id)):
        leg = legs[seat.leg_id]
        fields = visible_fields(actor, worker) or frozenset()
        named = "given_name" in fields
        out.append(
            {
                "leg": leg.seq,
                "mode": leg.mode,
                "origin": leg.origin,
                "destination": leg.destination,
                "departs_at": leg.departs_at,
                "case_id": case.id,
                "worker_id": worker.id,
                "nationality": case.nationality,
                "given_name": protector.open(worker, "given_name") if named else None,
                "family_name": protector.open(worker, "family_name") if named else None,
                "passport": case.passport if named else None,
                "places": seat.places,
                # What a journey needs says something of health: for those who may read them.
                "needs": ";".join(case.needs) if named else None,
                "seat": seat.state,
            }
        )
    return out


async def forget(session: AsyncSession, worker_ids: list[str]) -> None:
    """An erased worker's cases keep their states and counts, not what the person said nor
    their family's number."""
    if not worker_ids:
        return
    await (await session.connection()).execute(
        update(_CASES)
        .where(_CASES.c.worker_id.in_(worker_ids))
        .values(note_sealed=None, family_phone_sealed=None, tell_family=False)
    )
