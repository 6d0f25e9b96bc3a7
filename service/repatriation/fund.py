"""A contingency fund's ledger: immutable entries, exact money (integers in the currency's minor
unit), a balance that never goes below zero without a coordinator's recorded override, and cost
recovery from employers and agencies where the law of the origin country says so (the Philippine
RA 8042 s.15: the employer or agency pays, the State's fund advances and recovers).

Each entry raises the fund's version in its own transaction first: two entries at once queue on
that row (PostgreSQL locks it; SQLite has one writer), so that the balance each one checks is
the one it leaves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.changes import who
from service.errors import Conflict, Forbidden, InvalidInput
from service.repatriation.models import (
    EntryKind,
    Fund,
    FundEntry,
    Leg,
    RepatriationCase,
    Seat,
)

_FUNDS = Fund.__table__  # type: ignore[attr-defined]
#: What each kind does to the money available (an expenditure against a commitment: nothing).
EFFECT = {
    EntryKind.BUDGET: 1,
    EntryKind.COMMITMENT: -1,
    EntryKind.RELEASE: 1,
    EntryKind.EXPENDITURE: -1,
    EntryKind.REFUND: 1,
    EntryKind.RECOVERY_CLAIM: 0,
    EntryKind.RECOVERY_RECEIVED: 1,
}
MAY_OVERRIDE = frozenset({Role.ADMIN, Role.COORDINATOR})
#: Who pays for a return, by origin country, when the settings say nothing else.
RECOVERY_RULES = {"PHL": "employer_or_agency"}


async def entries(session: AsyncSession, fund_id: str) -> list[FundEntry]:
    rows = await session.exec(
        select(FundEntry).where(FundEntry.fund_id == fund_id).order_by(col(FundEntry.id))
    )
    return list(rows.all())


def may_write(actor: Principal, fund: Fund) -> bool:
    """A fund's ledger is written by its own organisation, and by the coordinators."""
    return actor.role in MAY_OVERRIDE or (
        fund.organization_id is not None and fund.organization_id == actor.organization_id
    )


async def lock(session: AsyncSession, fund: Fund) -> None:
    """Take the fund's row for this transaction: entries queue on it."""
    connection = await session.connection()
    await connection.execute(
        update(_FUNDS).where(_FUNDS.c.id == fund.id).values(version=_FUNDS.c.version + 1)
    )


def effect(entry: FundEntry) -> int:
    kind = EntryKind(entry.kind)
    if kind is EntryKind.EXPENDITURE and entry.against:
        return 0
    return EFFECT[kind] * entry.amount


def summary(ledger: Sequence[FundEntry]) -> dict[str, Any]:
    """The fund's money: available, set aside, spent, owed to it (by debtor)."""
    by_kind: dict[str, int] = defaultdict(int)
    drawn: dict[str, int] = defaultdict(int)  # commitment → released or spent against it
    claimed: dict[str, int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    for entry in ledger:
        by_kind[entry.kind] += entry.amount
        if entry.against:
            drawn[entry.against] += entry.amount
        if entry.kind == EntryKind.RECOVERY_CLAIM.value and entry.debtor_org_id:
            claimed[entry.debtor_org_id] += entry.amount
        if entry.kind == EntryKind.RECOVERY_RECEIVED.value and entry.debtor_org_id:
            received[entry.debtor_org_id] += entry.amount
    committed = sum(
        max(0, e.amount - drawn[e.id]) for e in ledger if e.kind == EntryKind.COMMITMENT.value
    )
    owed = {d: claimed[d] - received[d] for d in sorted(claimed) if claimed[d] - received[d]}
    return {
        "available": sum(effect(e) for e in ledger),
        "committed": committed,
        "spent": by_kind[EntryKind.EXPENDITURE.value],
        "budget": by_kind[EntryKind.BUDGET.value],
        "refunded": by_kind[EntryKind.REFUND.value],
        "recovered": by_kind[EntryKind.RECOVERY_RECEIVED.value],
        "owed": owed,
    }


async def add(
    session: AsyncSession,
    *,
    actor: Principal,
    fund: Fund,
    kind: EntryKind,
    amount: int,
    override: str | None = None,
    **fields: Any,
) -> FundEntry:
    """Write one entry, after the fund's own lock. A commitment or an expenditure that would leave
    the fund below zero is a 409, unless a coordinator records why (``override``)."""
    if override and actor.role not in MAY_OVERRIDE:
        raise Forbidden("Only a coordinator may let the fund go below zero")
    await lock(session, fund)
    ledger = await entries(session, fund.id)
    entry = FundEntry(fund_id=fund.id, kind=kind.value, amount=amount, by=who(actor), **fields)
    if entry.against:
        commitment = next((e for e in ledger if e.id == entry.against), None)
        if commitment is None or commitment.kind != EntryKind.COMMITMENT.value:
            raise InvalidInput("`against` names no commitment of this fund")
        if kind not in (EntryKind.EXPENDITURE, EntryKind.RELEASE):
            raise InvalidInput("Only an expenditure or a release draws on a commitment")
        left = commitment.amount - sum(e.amount for e in ledger if e.against == commitment.id)
        if amount > left:
            raise Conflict(f"The commitment has {left} left, not {amount}")
    elif kind is EntryKind.RELEASE:
        raise InvalidInput("A release names the commitment it gives back (`against`)")
    if kind is EntryKind.RECOVERY_RECEIVED:
        owed = summary(ledger)["owed"].get(entry.debtor_org_id or "", 0)
        if amount > owed:
            raise Conflict(f"That debtor owes {owed}, not {amount}")
    after = summary(ledger)["available"] + effect(entry)
    if effect(entry) < 0 and after < 0:
        if not override:
            raise Conflict(
                f"This would leave the fund at {after} {fund.currency} (minor units): below "
                "zero. A coordinator may record an override with its reason"
            )
        entry.override = override
    session.add(entry)
    await session.flush()
    return entry


def movement_cost(legs: Sequence[Leg]) -> int:
    """What a movement costs the fund: each leg's places at its price."""
    return sum((leg.cost_per_place or 0) * leg.capacity for leg in legs)


async def recover(
    session: AsyncSession,
    *,
    actor: Principal,
    fund: Fund,
    movement_id: str,
    rule: str | None,
) -> dict[str, int]:
    """Claim from each worker's employer (else agency) the cost of their own place on each leg
    they travelled, where the rule of the fund's country says they pay; once per worker and
    movement. Counts: claims made, workers without a debtor known, already claimed."""
    from service.registry.models import Worker

    done = {"claimed": 0, "no_debtor": 0, "already": 0}
    if rule != "employer_or_agency":
        return done
    # Before the claims already made are read: two recoveries at once make each claim once.
    await lock(session, fund)
    legs = {
        leg.id: leg
        for leg in (await session.exec(select(Leg).where(Leg.movement_id == movement_id))).all()
    }
    rows = (
        await session.exec(
            select(Seat, RepatriationCase, Worker)
            .join(RepatriationCase, col(RepatriationCase.id) == col(Seat.case_id))
            .join(Worker, col(Worker.id) == col(RepatriationCase.worker_id))
            .where(col(Seat.leg_id).in_(list(legs)), col(Seat.boarded_at).is_not(None))
        )
    ).all()
    cost: dict[str, int] = defaultdict(int)
    debtors: dict[str, str | None] = {}
    for seat, case, worker in rows:
        if case.nationality != fund.country:
            continue
        cost[worker.id] += legs[seat.leg_id].cost_per_place or 0
        debtors[worker.id] = worker.employer_org_id or worker.agency_org_id
    ledger = await entries(session, fund.id)
    known = {
        e.worker_id
        for e in ledger
        if e.kind == EntryKind.RECOVERY_CLAIM.value and e.movement_id == movement_id
    }
    for worker_id in sorted(cost):
        if worker_id in known:
            done["already"] += 1
        elif debtors[worker_id] is None or not cost[worker_id]:
            done["no_debtor"] += 1
        else:
            await add(
                session,
                actor=actor,
                fund=fund,
                kind=EntryKind.RECOVERY_CLAIM,
                amount=cost[worker_id],
                movement_id=movement_id,
                worker_id=worker_id,
                debtor_org_id=debtors[worker_id],
                note="cost of the worker's return, owed by the law of the origin country",
            )
            done["claimed"] += 1
    return done
