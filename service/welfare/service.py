"""Welfare use cases: record an outcome for a worker in a crisis (idempotent, with history), read
the statuses a caller may see, count them.

Who may read a worker's status is who may read the worker (``service.registry.access``): the 404
of ``GET /workers/{id}`` for everyone else. The note (what the person said) is sealed like the
register's personal fields and never goes on the timeline, in the audit log or in an export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.suppress import suppress, suppress_total
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.changes import who
from service.crises.models import Crisis
from service.crises.service import event as crisis_event
from service.db import insert_rows, new_id, utcnow
from service.errors import Forbidden
from service.exports import tables
from service.exposure.service import sees_exactly
from service.lookups import not_found
from service.pagination import Page, paginate
from service.registry.access import visibility_clause
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.service import get_worker
from service.welfare.models import WelfareEvent, WelfareOutcome, WelfareStatus
from service.welfare.schemas import DRILL_NOTICE, OutcomeCreate, WelfareEventPublic, WelfarePublic

#: Who may record a death (docs/decisions/0019-welfare-status.md): the worker's own consular
#: post, which informs the family, and the coordinators who run the response.
MAY_RECORD_DECEASED = frozenset({Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER})
#: What an export holds: ids, places, states; never the note, never a documentation status.
CSV_COLUMNS = (
    "worker_id", "nationality", "country", "admin1", "status", "how", "exercise", "updated_at"
)  # fmt: skip
#: The timeline entry of a change.
KIND = "welfare_changed"
NOTE = "note"


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording an outcome did: the status as it now is, and whether it changed."""

    status: WelfareStatus
    worker: Worker
    changed: bool
    previous: str | None


def _open(protector: Protector, token: str | None, status_id: str) -> str | None:
    return protector.sealer.open(token, record_id=status_id, field=NOTE)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a welfare check found: of whom, the status, what they said, how it was learnt."""

    worker_id: str
    outcome: WelfareOutcome
    note: str | None
    how: str | None

    @classmethod
    def asked(cls, worker_id: str, data: OutcomeCreate) -> Outcome:
        """The outcome a request asks to record for ``worker_id``."""
        how = data.how.value if data.how else None
        return cls(worker_id=worker_id.strip(), outcome=data.outcome, note=data.note, how=how)


async def record_outcome(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    found: Outcome,
    protector: Protector,
) -> Recorded:
    """Set the worker's status in the crisis. The same status and note again change nothing."""
    outcome, how = found.outcome, found.how
    worker, _ = await get_worker(session, actor=actor, worker_id=found.worker_id)
    if outcome is WelfareOutcome.DECEASED and actor.role not in MAY_RECORD_DECEASED:
        raise Forbidden(
            "Only the worker's consular post or a coordinator records a death; "
            "record `missing` and hand it to them"
        )
    current = (
        await session.exec(
            select(WelfareStatus).where(
                WelfareStatus.crisis_id == crisis.id, WelfareStatus.worker_id == worker.id
            )
        )
    ).first()
    note = found.note or None
    if current is None:
        current = WelfareStatus(crisis_id=crisis.id, worker_id=worker.id, exercise=crisis.exercise)
        previous: str | None = None
        session.add(current)
    else:
        previous = current.status
        same_note = _open(protector, current.note_sealed, current.id) == note
        if current.status == outcome.value and same_note:
            return Recorded(status=current, worker=worker, changed=False, previous=previous)
        current.version += 1
    sealed = protector.sealer.seal(note, record_id=current.id, field=NOTE)
    current.status = outcome.value
    current.note_sealed = sealed
    current.how = how
    current.updated_at = utcnow()
    await session.flush()
    session.add(
        WelfareEvent(
            status_id=current.id,
            actor=who(actor),
            previous=previous,
            status=outcome.value,
            how=how,
            note_sealed=sealed,
        )
    )
    await crisis_event(
        session,
        crisis,
        KIND,
        actor,
        welfare_id=current.id,
        worker_id=worker.id,
        status=outcome.value,
        previous=previous,
        how=how,
    )
    return Recorded(status=current, worker=worker, changed=True, previous=previous)


async def get_status(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, worker_id: str
) -> tuple[WelfareStatus, Worker]:
    """The worker's status in the crisis, if the caller may read the worker; else the 404."""
    worker, _ = await get_worker(session, actor=actor, worker_id=worker_id)
    found = (
        await session.exec(
            select(WelfareStatus).where(
                WelfareStatus.crisis_id == crisis.id, WelfareStatus.worker_id == worker.id
            )
        )
    ).first()
    if found is None:
        raise not_found("welfare status", worker_id)
    return found, worker


async def history(session: AsyncSession, status_id: str) -> Sequence[WelfareEvent]:
    rows = await session.exec(
        select(WelfareEvent)
        .where(WelfareEvent.status_id == status_id)
        .order_by(col(WelfareEvent.at), col(WelfareEvent.id))
    )
    return rows.all()


async def list_statuses(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis_id: str,
    limit: int,
    cursor: str | None,
    status: str | None = None,
) -> Page[Any]:
    """The crisis's statuses of the workers the caller may read, as (status, worker) rows."""
    query = (
        select(WelfareStatus, Worker)
        .join(Worker, col(Worker.id) == col(WelfareStatus.worker_id))
        .where(WelfareStatus.crisis_id == crisis_id, visibility_clause(actor))
    )
    if status is not None:
        query = query.where(WelfareStatus.status == status)
    return await paginate(session, query, key=[col(WelfareStatus.id)], limit=limit, cursor=cursor)


def present(status: WelfareStatus, worker: Worker, protector: Protector) -> WelfarePublic:
    return WelfarePublic(
        id=status.id,
        crisis_id=status.crisis_id,
        worker_id=status.worker_id,
        nationality=worker.nationality,
        country=worker.country,
        admin1=worker.admin1,
        status=status.status,
        how=status.how,
        note=_open(protector, status.note_sealed, status.id),
        exercise=status.exercise,
        drill_notice=DRILL_NOTICE if status.exercise else None,
        version=status.version,
        created_at=status.created_at,
        updated_at=status.updated_at,
    )


def csv_rows(items: Sequence[WelfarePublic]) -> Iterator[list[Any]]:
    """The rows of an export (``CSV_COLUMNS``), for ``service.exports.csv``."""
    return ([getattr(item, c) for c in CSV_COLUMNS] for item in items)


def download(
    session: AsyncSession,
    actor: Principal,
    crisis_id: str,
    format: str,
    page: Page[WelfarePublic],
    *,
    cap: int,
    status: str | None = None,
) -> StreamingResponse:
    """The statuses of a crisis as a download (CSV or XLSX, without notes), audited; ``page``
    read with ``cap`` as its limit (``next_cursor``: the list was longer)."""
    return tables.download(
        session,
        actor,
        format,
        CSV_COLUMNS,
        list(csv_rows(page.items)),
        f"crisis-{crisis_id}-welfare.csv",
        what="welfare",
        scope={"status": status},
        subject=("crisis", crisis_id),
        cap=cap,
        more=page.next_cursor is not None,
    )


def present_event(event: WelfareEvent, protector: Protector) -> WelfareEventPublic:
    return WelfareEventPublic(
        at=event.at,
        actor=event.actor,
        previous=event.previous,
        status=event.status,
        how=event.how,
        note=_open(protector, event.note_sealed, event.status_id),
    )


async def counts(
    session: AsyncSession, *, actor: Principal, crisis: Crisis, threshold: int
) -> dict[str, Any]:
    """The crisis's statuses counted by status, nationality and province: exact for those who
    plan the response (``sees_exactly``), else with cells under ``threshold`` withheld and the
    rest rounded, as the exposure is."""
    rows = (
        await session.exec(
            select(WelfareStatus.status, Worker.nationality, Worker.admin1)
            .join(Worker, col(Worker.id) == col(WelfareStatus.worker_id))
            .where(WelfareStatus.crisis_id == crisis.id, col(Worker.erased_at).is_(None))
        )
    ).all()
    by_status = Counter(s for s, _, _ in rows)
    by_nationality = Counter(n for _, n, _ in rows)
    by_admin1 = Counter(a for _, _, a in rows if a)
    by_nationality_status: dict[str, Counter[str]] = {}
    by_admin1_status: dict[str, Counter[str]] = {}
    for status, nationality, admin1 in rows:
        by_nationality_status.setdefault(nationality, Counter())[status] += 1
        if admin1:
            by_admin1_status.setdefault(admin1, Counter())[status] += 1
    reached = sum(n for s, n in by_status.items() if s in REACHED)
    exact = sees_exactly(actor)

    def cut(counted: Counter[str]) -> dict[str, int]:
        return dict(counted) if exact else suppress(counted, threshold=threshold)

    def cut_total(n: int) -> int | None:
        return n if exact else suppress_total(n, threshold=threshold)

    return {
        "crisis_id": crisis.id,
        "exercise": crisis.exercise,
        "drill_notice": DRILL_NOTICE if crisis.exercise else None,
        "exact": exact,
        "suppressed_below": None if exact else threshold,
        "total": cut_total(len(rows)),
        "reached": cut_total(reached),
        "by_status": cut(by_status),
        "by_nationality": cut(by_nationality),
        "by_admin1": cut(by_admin1),
        "by_nationality_status": {
            k: c for k, v in sorted(by_nationality_status.items()) if (c := cut(v))
        },
        "by_admin1_status": {k: c for k, v in sorted(by_admin1_status.items()) if (c := cut(v))},
    }


async def forget_notes(session: AsyncSession, worker_ids: Sequence[str]) -> None:
    """An erased worker's notes go with the rest of their personal data: every crisis's status
    and history of theirs keeps the statuses (counts) and loses what they said."""
    if not worker_ids:
        return
    theirs = select(WelfareStatus.id).where(col(WelfareStatus.worker_id).in_(worker_ids))
    # Statements, not objects: the rows are not loaded (a retention pass erases many workers).
    connection = await session.connection()
    await connection.execute(
        update(WelfareEvent).where(col(WelfareEvent.status_id).in_(theirs)).values(note_sealed=None)
    )
    await connection.execute(
        update(WelfareStatus)
        .where(col(WelfareStatus.worker_id).in_(worker_ids))
        .values(note_sealed=None)
    )


#: Statuses that say a message or a call reached the person (or a person found them).
REACHED = frozenset(
    {
        WelfareOutcome.CONTACTED,
        WelfareOutcome.SAFE,
        WelfareOutcome.NEEDS_HELP,
        WelfareOutcome.MISSING,
        WelfareOutcome.DECEASED,
    }
)
#: Statuses that say the person answered, or that a person settled: a check does not ask again.
SETTLED = frozenset(
    {
        WelfareOutcome.SAFE,
        WelfareOutcome.NEEDS_HELP,
        WelfareOutcome.MISSING,
        WelfareOutcome.DECEASED,
    }
)
#: Still waiting for an answer: what a reminder goes to and what the deadline makes ``no_answer``.
WAITING = frozenset({WelfareOutcome.UNKNOWN, WelfareOutcome.CONTACTED})
_STATUSES = WelfareStatus.__table__  # type: ignore[attr-defined]
_EVENTS = WelfareEvent.__table__  # type: ignore[attr-defined]
_CHUNK = 5000


async def statuses_of(
    session: AsyncSession, crisis_id: str, worker_ids: Sequence[str]
) -> dict[str, str]:
    """Worker id → their status in the crisis, for those who have one."""
    out: dict[str, str] = {}
    for start in range(0, len(worker_ids), _CHUNK):
        chunk = list(worker_ids[start : start + _CHUNK])
        rows = await session.exec(
            select(WelfareStatus.worker_id, WelfareStatus.status).where(
                WelfareStatus.crisis_id == crisis_id, col(WelfareStatus.worker_id).in_(chunk)
            )
        )
        out.update(dict(rows.all()))
    return out


async def set_many(
    session: AsyncSession,
    *,
    crisis: Crisis,
    worker_ids: Sequence[str],
    to: WelfareOutcome,
    only_from: frozenset[WelfareOutcome] | None,
    actor: Principal,
    how: str | None,
) -> list[str]:
    """Set the status of many workers at once (a check's sending, its deadline): those without a
    status get one, those with one of ``only_from`` (None: any other) change; each change has its
    history row, and the timeline one entry for the lot (``welfare_changed_many``: counts and the
    check's step, no names). The ids of the workers whose status changed."""
    if not worker_ids:
        return []
    current = await statuses_of(session, crisis.id, worker_ids)
    now = utcnow()
    label = who(actor)
    fresh = [w for w in dict.fromkeys(worker_ids) if w not in current]
    movable = {
        w for w, s in current.items() if s != to.value and (only_from is None or s in only_from)
    }
    connection = await session.connection()
    new_rows = [
        {
            "id": new_id(),
            "crisis_id": crisis.id,
            "worker_id": w,
            "status": to.value,
            "note_sealed": None,
            "how": how,
            "exercise": crisis.exercise,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for w in fresh
    ]
    events: list[dict[str, Any]] = [{"status_id": r["id"], "previous": None} for r in new_rows]
    await insert_rows(connection, _STATUSES, new_rows)
    moved = sorted(movable)
    for start in range(0, len(moved), _CHUNK):
        chunk = moved[start : start + _CHUNK]
        rows = (
            await connection.execute(
                sa_select(_STATUSES.c.id, _STATUSES.c.status)
                .where(_STATUSES.c.crisis_id == crisis.id)
                .where(_STATUSES.c.worker_id.in_(chunk))
            )
        ).all()
        await connection.execute(
            update(_STATUSES)
            .where(_STATUSES.c.id.in_([r.id for r in rows]))
            .values(
                status=to.value,
                how=how,
                note_sealed=None,
                version=_STATUSES.c.version + 1,
                updated_at=now,
            )
        )
        events.extend({"status_id": r.id, "previous": r.status} for r in rows)
    history = [
        {
            "id": new_id(),
            "status_id": e["status_id"],
            "at": now,
            "actor": label,
            "previous": e["previous"],
            "status": to.value,
            "how": how,
            "note_sealed": None,
        }
        for e in events
    ]
    await insert_rows(connection, _EVENTS, history)
    changed = fresh + moved
    if changed:
        await crisis_event(
            session, crisis, KIND_MANY, actor, status=to.value, how=how, count=len(changed)
        )
    return changed


KIND_MANY = "welfare_changed_many"
