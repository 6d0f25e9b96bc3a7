"""Repatriation reports: per crisis (cases by nationality and state, the movements, money set
aside and spent, the situation report's line), per movement (each leg's counts and its cost),
per debtor of a fund (what each employer or agency was claimed, paid, still owes).

Counts, never names: a case counts only for those who may read its worker; a movement's counts
are the movement's (the reconciliation already lists its people by id for its readers).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.crises.models import Crisis
from service.directory.models import Organization
from service.registry.access import visibility_clause
from service.registry.models import Worker
from service.repatriation import fund as ledger
from service.repatriation.models import (
    CaseState,
    EntryKind,
    Fund,
    FundEntry,
    Leg,
    Movement,
    RepatriationCase,
    Seat,
    SeatState,
)

#: The order states are reported in: the way a case goes.
STATES = [s.value for s in CaseState]
#: What a case in each state counts as, for the situation report's line.
_WAITING = {CaseState.REQUESTED.value, CaseState.ELIGIBLE.value, CaseState.DOCUMENTS_READY.value}
_SEATED = {CaseState.ASSIGNED.value, CaseState.CONFIRMED.value}
_HOME = {CaseState.ARRIVED.value, CaseState.RECEIVED.value, CaseState.CLOSED.value}


async def crisis_report(
    session: AsyncSession, *, actor: Principal, crisis: Crisis
) -> dict[str, Any]:
    cases = RepatriationCase.__table__.c  # type: ignore[attr-defined]
    connection = await session.connection()
    rows = (
        await connection.execute(
            sa_select(
                cases.nationality,
                cases.state,
                cases.consent,
                func.count(),
                func.sum(cases.family),
            )
            .join(Worker, col(Worker.id) == cases.worker_id)
            .where(cases.crisis_id == crisis.id, visibility_clause(actor))
            .group_by(cases.nationality, cases.state, cases.consent)
        )
    ).all()
    by_state: Counter[str] = Counter()
    consent: Counter[str] = Counter()
    people: Counter[str] = Counter()
    grid: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for nationality, state, given, count, family in rows:
        by_state[state] += count
        consent[given] += count
        people[state] += count + int(family or 0)
        cell = grid[(nationality, state)]
        cell[0] += count
        cell[1] += count + int(family or 0)
    movements = [
        await movement_report(session, movement)
        for movement in (
            await session.exec(
                select(Movement)
                .where(Movement.crisis_id == crisis.id)
                .order_by(col(Movement.created_at), col(Movement.id))
            )
        ).all()
    ]
    return {
        "crisis_id": crisis.id,
        "alert_level": crisis.alert_level,
        "cases": sum(by_state.values()),
        "people": sum(people.values()),
        "by_state": {s: by_state[s] for s in STATES if by_state[s]},
        "consent": dict(sorted(consent.items())),
        "by_nationality": [
            {"nationality": n, "state": s, "cases": c, "people": p}
            for (n, s), (c, p) in sorted(
                grid.items(), key=lambda i: (i[0][0], STATES.index(i[0][1]))
            )
        ],
        "movements": movements,
        "sitrep": sitrep_line(by_state, consent, movements),
    }


def _by_nationality_and_state(item: tuple[tuple[str, str], list[int]]) -> tuple[str, int]:
    (nationality, state), _ = item
    return nationality, STATES.index(state)


def sitrep_line(
    by_state: Counter[str], consent: Counter[str], movements: list[dict[str, Any]]
) -> str:
    """The situation report's line: plain words, counts only."""
    waiting = sum(by_state[s] for s in _WAITING)
    seated = sum(by_state[s] for s in _SEATED)
    missing = sum(m["missing"] for m in movements)
    parts = [
        f"{sum(by_state.values())} cases",
        f"{waiting} waiting for a seat",
        f"{seated} with a seat on {len(movements)} movement{'s' if len(movements) != 1 else ''}",
        f"{by_state[CaseState.BOARDED.value]} on the way",
        f"{sum(by_state[s] for s in _HOME)} arrived home",
    ]
    if missing:
        parts.append(f"{missing} missing at a gate")
    parts.append(f"{by_state[CaseState.NOT_ELIGIBLE.value]} not eligible")
    parts.append(f"{by_state[CaseState.WITHDRAWN.value]} withdrawn")
    if consent["refused"]:
        parts.append(f"{consent['refused']} refused to leave")
    return "Repatriation: " + ", ".join(parts) + "."


async def movement_report(session: AsyncSession, movement: Movement) -> dict[str, Any]:
    """Each leg's places and people booked, boarded, arrived and missing, and the money: set
    aside, spent and claimed back for it, by currency."""
    legs = list(
        (
            await session.exec(
                select(Leg).where(Leg.movement_id == movement.id).order_by(col(Leg.seq))
            )
        ).all()
    )
    seats = (
        await session.exec(
            select(Seat.leg_id, Seat.case_id, Seat.state).where(
                col(Seat.leg_id).in_([leg.id for leg in legs])
            )
        )
    ).all()
    by_leg: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for leg_id, case_id, state in seats:
        by_leg[leg_id].append((case_id, state))
    out_legs: list[dict[str, Any]] = []
    missing: set[str] = set()
    for leg in legs:
        here = by_leg[leg.id]
        c = Counter(state for _, state in here)
        booked = len(here)
        boarded = c[SeatState.BOARDED.value] + c[SeatState.ARRIVED.value]
        arrived = c[SeatState.ARRIVED.value]
        # Once a leg's gate has checked anyone, who was booked and did not board; once its end
        # has, who boarded and did not arrive.
        if boarded:
            missing.update(case for case, state in here if state == SeatState.BOOKED.value)
        if arrived:
            missing.update(case for case, state in here if state == SeatState.BOARDED.value)
        out_legs.append(
            {
                "seq": leg.seq,
                "mode": leg.mode,
                "origin": leg.origin,
                "destination": leg.destination,
                "departs_at": leg.departs_at,
                "capacity": leg.capacity,
                "booked_places": leg.booked,
                "booked": booked,
                "boarded": boarded,
                "arrived": arrived,
                "not_boarded": (booked - boarded) if boarded else 0,
                "not_arrived": (boarded - arrived) if arrived else 0,
            }
        )
    return {
        "movement_id": movement.id,
        "title": movement.title,
        "exercise": movement.exercise,
        "legs": out_legs,
        # People, not checks: someone missing at two gates counts once.
        "missing": len(missing),
        "money": await _money(session, movement.id),
    }


async def _money(session: AsyncSession, movement_id: str) -> dict[str, dict[str, int]]:
    rows = (
        await session.exec(
            select(FundEntry, Fund.currency)
            .join(Fund, col(Fund.id) == col(FundEntry.fund_id))
            .where(FundEntry.movement_id == movement_id)
        )
    ).all()
    money: dict[str, Counter[str]] = defaultdict(Counter)
    for entry, currency in rows:
        money[currency][entry.kind] += entry.amount
    return {
        currency: {
            "committed": c[EntryKind.COMMITMENT.value] - c[EntryKind.RELEASE.value],
            "spent": c[EntryKind.EXPENDITURE.value],
            "claimed": c[EntryKind.RECOVERY_CLAIM.value],
            "recovered": c[EntryKind.RECOVERY_RECEIVED.value],
        }
        for currency, c in sorted(money.items())
    }


#: The debtors report's columns.
DEBTOR_COLUMNS = ("debtor_org_id", "name", "kind", "country", "workers", "claimed", "received",
                  "owed", "currency")  # fmt: skip


async def debtors(session: AsyncSession, fund: Fund) -> list[dict[str, Any]]:
    """Each employer or agency the fund claimed from: claimed, received, owed, for how many
    workers; most owed first."""
    entries = await ledger.entries(session, fund.id)
    claimed: Counter[str] = Counter()
    received: Counter[str] = Counter()
    workers: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if not entry.debtor_org_id:
            continue
        if entry.kind == EntryKind.RECOVERY_CLAIM.value:
            claimed[entry.debtor_org_id] += entry.amount
            if entry.worker_id:
                workers[entry.debtor_org_id].add(entry.worker_id)
        elif entry.kind == EntryKind.RECOVERY_RECEIVED.value:
            received[entry.debtor_org_id] += entry.amount
    ids = sorted(set(claimed) | set(received))
    orgs = {
        o.id: o
        for o in (await session.exec(select(Organization).where(col(Organization.id).in_(ids))))
    }
    out = [
        {
            "debtor_org_id": d,
            "name": orgs[d].name if d in orgs else None,
            "kind": orgs[d].kind if d in orgs else None,
            "country": orgs[d].country if d in orgs else None,
            "workers": len(workers[d]),
            "claimed": claimed[d],
            "received": received[d],
            "owed": claimed[d] - received[d],
            "currency": fund.currency,
        }
        for d in ids
    ]
    return sorted(out, key=lambda r: (-r["owed"], r["debtor_org_id"]))
