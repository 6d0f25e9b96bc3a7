"""Lists of the people in a zone (one drawn by hand, or a crisis's own): the same rules for both.

Need-to-know decides who is shown (``service.registry.access``); the list also says how many
people match within the caller's scope and are not shown, and why, without naming them, so that
its figures reconcile with the exposure counts. Every list is audited with the ids it returned.

A download (CSV, XLSX: ``PeopleAsked.download``) is streamed: the request counts the people and
audits the export with its scope and row count (``exposure.exported``); the rows are then read
``_CHUNK`` at a time, as plain rows rather than ORM objects, in a session of their own while the
file is written, each chunk audited with its ids (``exposure.list``) before it is sent. Memory
holds one chunk, whatever the list's length (``bench/exports.py`` measures it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from fastapi.responses import StreamingResponse
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.db import among
from service.exports import tables
from service.exports import workers as workers_csv
from service.exposure.index import RegisterIndex
from service.geowork import Budget
from service.pagination import cursor_of, key_after
from service.registry.access import list_fields, visibility_clause, visible_fields
from service.registry.models import Worker
from service.registry.protect import Protector
from service.registry.schemas import PeoplePage, WorkerPublic
from service.registry.service import present
from service.registry.unseen import Explained, Unseen, scope_nationalities

T = TypeVar("T")

#: Rows of a download at most (every row at once): below a worksheet's 1,048,576.
CSV_LIMIT = 1_000_000
#: Workers read from the database per query.
_CHUNK = 5000
#: Ids in one audit entry of a download's chunk.
_IDS_PER_ENTRY = 500
#: The register's columns a download reads: those ``present`` and ``visible_fields`` use, and
#: never the documentation status (no export holds it).
_READ = [
    Worker.__table__.c[name]  # type: ignore[attr-defined]
    for name in (
        "pk", "id", "nationality", "version", "erased_at", "sex", "sector", "languages",
        "employer", "country", "admin1", "location_flag", "accompanying_family",
        "vulnerabilities", "international_protection", "legal_basis", "source", "verified",
        "stay_registered", "created_at", "updated_at", "registered_by", "lat", "lon",
        "consent_embassy", "consent_humanitarian", "given_name_sealed", "family_name_sealed",
        "birth_date_sealed", "document_number_sealed", "phone_sealed",
    )
]  # fmt: skip


@dataclass
class People:
    """One answer of a list of people: the workers shown, as the caller may see them, and the
    counts that explain the list."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    counts: Explained
    ids: list[str] = field(default_factory=list)
    #: A download's rows, read a chunk at a time as the file is written (``items`` is empty).
    download: Download | None = None
    #: The rows the download holds (as counted when it began).
    written: int = 0
    #: The columns the download's rows may have: all the caller could be shown of anyone.
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Download:
    """The rows of a download, to be read once, a chunk at a time (``_batches``): as presented
    workers (``presented``, for a map) or as the workers CSV's cells (``cells``)."""

    asked: PeopleAsked
    pks: np.ndarray[Any, Any]
    audit_detail: dict[str, Any]

    def presented(self, only: frozenset[str]) -> AsyncIterator[list[dict[str, Any]]]:
        """The workers as presented, with ``only`` those of their visible fields (a sealed
        field left out is never opened)."""
        actor, protect = self.asked.actor, self.asked.protect
        return _batches(self, lambda rows: _present_all(actor, rows, protect, only))

    def cells(self, header: Sequence[str]) -> AsyncIterator[list[list[Any]]]:
        """The rows as ``header``'s cells, without building each worker's dictionaries
        (``workers_csv.Cells``: the same values ``present`` and ``flatten`` give)."""
        actor = self.asked.actor
        fields = list_fields(actor) - _NEVER
        cells = workers_csv.Cells(header, fields, self.asked.protect, [c.name for c in _READ])

        def shape(rows: Sequence[Any]) -> list[list[Any]]:
            out = []
            for row in rows:
                seen = visible_fields(actor, row)
                assert seen is not None
                seen = seen - _NEVER
                out.append(cells(row) if seen == fields else cells.slowly(row, seen))
            return out

        return _batches(self, shape)


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
    #: ``csv`` or ``xlsx`` for every row at once (a download), None for a page of JSON.
    download: str | None = None
    #: The sessions a download reads its rows in, after the request's own has closed.
    sessions: async_sessionmaker[AsyncSession] | None = None
    #: Rows of the download at most (``CSV_LIMIT`` when not given).
    cap: int | None = None


async def people_in(
    session: AsyncSession,
    asked: PeopleAsked,
    *,
    zone: BaseGeometry,
    audit_detail: dict[str, Any],
) -> People:
    """The workers strictly inside ``zone`` whose personal data the caller may read, oldest
    registration first: a page of ``limit`` after ``cursor``, or (``download``) up to
    ``CSV_LIMIT`` streamed as ``batches``; audited (``exposure.list``) with the ids returned."""
    actor, budget, threshold, limit = asked.actor, asked.budget, asked.threshold, asked.limit
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
    counted = Unseen()
    dialect = (await session.connection()).dialect.name
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK].tolist()
        await counted.add(session, actor, [among(col(Worker.pk), chunk, dialect)])
    counts = counted.explained(actor, threshold=threshold, where="in the zone")
    if asked.download is not None:
        return _download(session, asked, pks, counts, audit_detail)
    # Keyed as GET /workers is: by registration.
    after = key_after([col(Worker.pk)], asked.cursor)
    if after is not None:
        pks = pks[pks > after[0]]
    rows: list[Worker] = []
    for start in range(0, len(pks), _CHUNK):
        chunk = [int(p) for p in pks[start : start + _CHUNK]]
        found = (
            await session.exec(
                select(Worker)
                .where(col(Worker.pk).in_(chunk))
                .where(visibility_clause(actor))
                .order_by(col(Worker.pk))
                .limit(limit + 1 - len(rows))
            )
        ).all()
        rows.extend(found)
        if len(rows) > limit:
            break
    shown = rows[:limit]
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
        detail={**audit_detail, "format": "json", "ids": ids},
    )
    return People(
        items=items,
        next_cursor=cursor_of([shown[-1].pk]) if len(rows) > limit and shown else None,
        counts=counts,
        ids=ids,
    )


def _download(
    session: AsyncSession,
    asked: PeopleAsked,
    pks: np.ndarray[Any, Any],
    counts: Explained,
    audit_detail: dict[str, Any],
) -> People:
    """A download's answer: the export audited now, in the request's unit of work, with its
    scope and row count; its rows read and audited chunk by chunk as they are sent."""
    if asked.sessions is None:
        raise ValueError("a download reads its rows in sessions of its own: pass `sessions`")
    written = min(counts.listed, asked.cap or CSV_LIMIT)
    scope = {
        "nationalities": list(asked.nationalities) if asked.nationalities else None,
        "nationals_in_own_country": asked.own_country,
    }
    record(
        session,
        actor=asked.actor,
        action="exposure.exported",
        subject_type="worker",
        detail={
            **audit_detail,
            "format": asked.download,
            "rows": written,
            "matching": counts.matching,
            "scope": scope,
        },
    )
    return People(
        items=[],
        next_cursor=None,
        counts=counts,
        download=Download(asked, pks, {**audit_detail, "format": asked.download}),
        written=written,
        fields=list_fields(asked.actor),
    )


async def _batches(
    download: Download, shape: Callable[[Sequence[Any]], list[T]]
) -> AsyncIterator[list[T]]:
    """The download's workers, ``_CHUNK`` at a time, as the caller may see them (``shape``
    makes them what the file needs): each chunk read as plain rows and audited
    (``exposure.list``, with its ids and its part's number) before it is handed on, so the log
    holds what left even when the client stops reading. The next chunk is read while this one
    is shaped in a worker thread, so the database works while the service does, and the
    process's other requests are served meanwhile."""
    asked, pks, audit_detail = download.asked, download.pks, download.audit_detail
    assert asked.sessions is not None
    actor = asked.actor
    pk, visible = Worker.__table__.c.pk, visibility_clause(actor)  # type: ignore[attr-defined]
    starts = iter(range(0, len(pks), _CHUNK))

    async with asked.sessions() as session:
        dialect = (await session.connection()).dialect.name

        async def read(start: int | None) -> Sequence[Any]:
            if start is None:
                return []
            chunk = pks[start : start + _CHUNK].tolist()
            query = core_select(*_READ).where(among(pk, chunk, dialect), visible).order_by(pk)
            return (await (await session.connection()).execute(query)).all()

        left, part = asked.cap or CSV_LIMIT, 0
        rows = await read(next(starts, None))
        more = True
        while more:
            following = next(starts, None)
            more = following is not None
            rows = rows[:left]
            if rows:
                left -= len(rows)
                ids = [r.id for r in rows]
                # Entries of ``_IDS_PER_ENTRY`` ids: each one fits a spreadsheet's cell when the
                # audit log is downloaded.
                for at in range(0, len(ids), _IDS_PER_ENTRY):
                    part += 1
                    record(
                        session,
                        actor=actor,
                        action="exposure.list",
                        subject_type="worker",
                        detail={**audit_detail, "part": part, "ids": ids[at : at + _IDS_PER_ENTRY]},
                    )
                # Committed before the chunk leaves: the log holds it whatever follows.
                await session.commit()
            ahead = asyncio.ensure_future(read(following if left > 0 else None))
            try:
                # In a worker thread: the event loop goes on serving the process's other requests
                # (and reading the next chunk) while this one is shaped.
                batch = await asyncio.to_thread(shape, rows)
                following_rows = await ahead
            except BaseException:
                ahead.cancel()
                # The read ahead ends before its session closes.
                with contextlib.suppress(BaseException):
                    await ahead
                raise
            if rows:
                yield batch
            if left <= 0:
                break
            rows = following_rows


def _present_all(
    actor: Principal, rows: Sequence[Any], protect: Protector, only: frozenset[str]
) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        # A row has the record's attributes; the documentation status is not read.
        fields = visible_fields(actor, row)
        assert fields is not None
        out.append(present(row, (fields - _NEVER) & only, protect))
    return out


#: Fields no download carries, whoever asks.
_NEVER = frozenset({"documentation_status"})


def people_page(found: People) -> PeoplePage:
    """A list's JSON answer."""
    return PeoplePage(
        items=[WorkerPublic.model_validate(i) for i in found.items],
        next_cursor=found.next_cursor,
        **found.counts.fields(),
    )


def people_csv(found: People, filename: str, format: str = "csv") -> StreamingResponse:
    """A list's download (the workers CSV; XLSX for ``format="xlsx"``), streamed, its counts
    in the response headers."""
    if found.download is None:
        raise ValueError("a list read as a page of JSON has no download: ask with `download`")
    header = workers_csv.header_for(found.fields)
    answer = tables.stream(format, header, found.download.cells(header), filename)
    answer.headers.update(found.counts.headers())
    # The rows the file holds; fewer than listed when the list is longer than a download holds:
    # said, never silently cut.
    cut = f"{found.written} rows at most in one download: narrow the zone or the nationalities"
    answer.headers.update(
        tables.size_headers(found.written, cut if found.written < found.counts.listed else None)
    )
    return answer
