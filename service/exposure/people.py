"""Lists of the people in a zone (one drawn by hand, or a crisis's own): the same rules for both.

Need-to-know decides who is shown (``service.registry.access``); the list also says how many
people match within the caller's scope and are not shown, and why, without naming them, so that
its figures reconcile with the exposure counts. Every list is audited with the ids it returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import StreamingResponse
from shapely.geometry.base import BaseGeometry
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.exports import workers as workers_csv
from service.exposure.index import RegisterIndex
from service.geowork import Budget
from service.pagination import cursor_of, key_after
from service.registry.access import visibility_clause, visible_fields
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.schemas import PeoplePage, WorkerPublic
from service.registry.service import present
from service.registry.unseen import Explained, Unseen, scope_nationalities

#: Rows of a CSV list at most (every row at once).
CSV_LIMIT = 50_000
#: Workers read from the database per query.
_CHUNK = 5000


@dataclass
class People:
    """One answer of a list of people: the workers shown, as the caller may see them, and the
    counts that explain the list."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    counts: Explained
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PeopleAsked:
    """Who asks for a list of people, and what for: filters, page, or every row (a CSV)."""

    actor: Principal
    index: RegisterIndex
    budget: Budget
    protect: Protector
    #: Smallest figure shown to those outside the need-to-know (``suppress_below``).
    threshold: int
    nationalities: Sequence[str] | None
    own_country: str
    limit: int
    cursor: str | None
    every_row: bool


async def people_in(
    session: AsyncSession,
    asked: PeopleAsked,
    *,
    zone: BaseGeometry,
    audit_detail: dict[str, Any],
) -> People:
    """The workers strictly inside ``zone`` whose personal data the caller may read, oldest
    registration first: a page of ``limit`` after ``cursor``, or (``every_row``, a CSV) up to
    ``CSV_LIMIT`` at once; audited (``exposure.list``) with the ids returned."""
    actor, budget, threshold, limit = asked.actor, asked.budget, asked.threshold, asked.limit
    every_row = asked.every_row
    # Only the nationalities of the caller's scope: the queries below then read the people the
    # caller could be shown, not everyone in the zone (a consular officer's nationals are a
    # fraction of a city's register). The SQL conditions still decide who is counted and shown.
    nationalities = asked.nationalities
    within = scope_nationalities(actor)
    if within is not None:
        nationalities = sorted(
            within if nationalities is None else within.intersection(nationalities)
        )
    pks = await budget.run(
        asked.index.index.select_pks,
        zone,
        nationalities=nationalities,
        own_country=asked.own_country,
        deadline=budget.deadline,
    )
    # Keyed as GET /workers is: by registration.
    key = [col(Worker.pk)]
    after = key_after(key, asked.cursor)
    counted = Unseen()
    for start in range(0, len(pks), _CHUNK):
        chunk = [int(p) for p in pks[start : start + _CHUNK]]
        await counted.add(session, actor, [col(Worker.pk).in_(chunk)])
    if after is not None:
        pks = pks[pks > after[0]]
    want = CSV_LIMIT if every_row else limit + 1
    rows: list[Worker] = []
    for start in range(0, len(pks), _CHUNK):
        chunk = [int(p) for p in pks[start : start + _CHUNK]]
        found = (
            await session.exec(
                select(Worker)
                .where(col(Worker.pk).in_(chunk))
                .where(visibility_clause(actor))
                .order_by(col(Worker.pk))
            )
        ).all()
        rows.extend(found)
        if len(rows) >= want:
            break
    rows = rows[:want]
    shown = rows if every_row else rows[:limit]
    items = []
    for worker in shown:
        fields = visible_fields(actor, worker)
        assert fields is not None
        items.append(present(worker, fields, asked.protect))
    ids = [w.id for w in shown]
    record(
        session,
        actor=actor,
        action="exposure.list",
        subject_type="worker",
        detail={**audit_detail, "format": "csv" if every_row else "json", "ids": ids},
    )
    return People(
        items=items,
        next_cursor=(
            cursor_of([shown[-1].pk]) if not every_row and len(rows) > limit and shown else None
        ),
        counts=counted.explained(actor, threshold=threshold, where="in the zone"),
        ids=ids,
    )


def people_page(found: People) -> PeoplePage:
    """A list's JSON answer."""
    return PeoplePage(
        items=[WorkerPublic.model_validate(i) for i in found.items],
        next_cursor=found.next_cursor,
        **found.counts.fields(),
    )


def people_csv(found: People, filename: str, format: str = "csv") -> StreamingResponse:
    """A list's CSV download (the workers CSV; XLSX for ``format="xlsx"``), its counts in the
    response headers."""
    download = workers_csv.response(found.items, filename, format)
    download.headers.update(found.counts.headers())
    # The rows the file holds; fewer than listed when the list is longer than a download holds:
    # said, never silently cut.
    download.headers["Lifeline-Written"] = str(len(found.items))
    if len(found.items) < found.counts.listed:
        download.headers["Lifeline-Truncated"] = (
            f"{CSV_LIMIT} rows at most in one download: narrow the zone or the nationalities"
        )
    return download
