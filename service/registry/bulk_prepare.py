"""Preparing the pieces of an import: each row read, validated, located, checked against the
importer's rights, sealed and hashed, ahead of the writer, in a thread or in worker processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, partial
from typing import Any

from pydantic import ValidationError

from service.auth.principal import Principal
from service.errors import InvalidInput
from service.registry import access
from service.registry.bulk_files import Piece, read_cells, row_to_payload
from service.registry.locate import AdminLocator, LazyLocator, Locator, default_locator
from service.registry.rows import IDENTITY_HASH, KEPT_COLUMNS, Clean, Columns, RowMaker, clean_cells
from service.registry.schemas import WorkerCreate
from service.registry.service import check_place

#: Why a row that gives a documentation status its importer may not record is refused.
STATUS_REFUSED = "only the worker's own consular officers may record documentation_status"
#: Files of at least this size are prepared in worker processes (about 40,000 rows).
PROCESS_THRESHOLD = 5_000_000
MAX_PROCESSES = 8


def _why(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"] if p != "location") or "row"
        if e["loc"][:1] == ("location",):
            loc = str(e["loc"][-1]) if len(e["loc"]) > 1 else "lat/lon"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


@dataclass
class Prepared:
    """One piece made into rows: (index in the piece, row without its time columns) and
    (index in the piece, reason) of the rows refused; ``count``: how many rows the piece has."""

    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    count: int = 0
    #: The record id (an export's ``id`` column) of rows that nothing else identifies.
    ids: dict[int, str] = field(default_factory=dict)


#: The columns ``Store`` adds to a prepared row (creation and update times, version).
_TAIL = 3


@dataclass(frozen=True)
class Job:
    """What preparing a piece needs besides the piece; sent once to each worker process."""

    header: list[str]
    actor: Principal
    maker: RowMaker
    today: date

    @cached_property
    def columns(self) -> Columns:
        return Columns.of(self.header)

    @cached_property
    def kept(self) -> frozenset[str]:
        """The fields the file has no column for: a record it updates keeps them as they are."""
        return frozenset(KEPT_COLUMNS) - set(self.header)

    @cached_property
    def id_at(self) -> int:
        """Where the record's id is (an export read back), -1 when the file has none."""
        return max((i for i, h in enumerate(self.header) if h == "id"), default=-1)

    def clean(self, cells: list[str], columns: Columns) -> Clean:
        """The row's values; raises ValidationError when WorkerCreate refuses it."""
        clean = clean_cells(cells, columns, self.today)
        if clean is None:  # WorkerCreate decides, and says why
            clean = Clean.of(WorkerCreate.model_validate(row_to_payload(self.header, cells)))
        return clean

    def prepare(self, piece: Piece, locator: Locator) -> Prepared:
        """Read, validate, locate, check rights, seal and hash one piece of the file."""
        rows, unreadable = read_cells(piece)
        out = Prepared(count=len(rows), rejected=list(unreadable.items()))
        columns = self.columns
        cleaned: list[tuple[int, Clean]] = []
        for number, cells in enumerate(rows):
            if not "".join(cells).strip():
                continue
            try:
                cleaned.append((number, self.clean(cells, columns)))
            except ValidationError as exc:
                out.rejected.append((number, _why(exc)))
        placed = locator.locate_many([c.lon for _, c in cleaned], [c.lat for _, c in cleaned])
        actor, maker = self.actor, self.maker
        for (number, c), found in zip(cleaned, placed, strict=True):
            try:
                country, admin1, flag = check_place(
                    found,
                    lat=c.lat,
                    lon=c.lon,
                    country=c.country,
                    accept_flagged=c.accept_flagged_location,
                )
            except InvalidInput as exc:
                out.rejected.append((number, exc.detail))
                continue
            if not access.may_register(actor, nationality=c.nationality, country=country):
                out.rejected.append(
                    (
                        number,
                        f"your organisation may not register a worker of {c.nationality} "
                        f"in {country}",
                    )
                )
                continue
            if c.documentation_status and not access.sees_documentation_status(
                actor, nationality=c.nationality, country=country
            ):
                out.rejected.append((number, STATUS_REFUSED))
                continue
            row = maker.row(c, country=country, admin1=admin1, flag=flag)
            out.rows.append((number, row[:-_TAIL]))
            named = rows[number][self.id_at].strip() if 0 <= self.id_at < len(rows[number]) else ""
            if row[IDENTITY_HASH] is None and named:
                out.ids[number] = named
        return out


# In a worker process: the job it was started with.
_job: Job | None = None


def _start_worker(job: Job) -> None:
    global _job
    _job = job
    default_locator()  # load the boundaries before the first piece


def _prepare_in_worker(piece: Piece) -> Prepared:
    assert _job is not None
    return _job.prepare(piece, default_locator())


def processes_for(content: bytes, locator: Locator) -> int:
    """Worker processes for a file. A large file located with the shipped boundaries gets one
    per core (the writer mostly waits on the database, so a core of its own would idle); a small
    one gets none (a thread), since starting processes would cost more than they save."""
    if len(content) < PROCESS_THRESHOLD or not isinstance(locator, AdminLocator | LazyLocator):
        return 0
    # The cores this process may run on (a container's share, not the host's), and no more
    # than MAX_PROCESSES: each one loads the boundaries.
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return min(cores, MAX_PROCESSES)


async def prepare_ahead(
    pieces: Iterator[Piece], job: Job, locator: Locator, processes: int
) -> AsyncGenerator[tuple[Piece, Prepared]]:
    """(piece, prepared piece) in file order, prepared ahead of the caller in worker processes
    (or, with ``processes`` 0, in one thread), so that the database writes meanwhile."""
    loop = asyncio.get_running_loop()
    executor: Executor
    if processes > 0:
        executor = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(job,),
        )
        work: Callable[[Piece], Prepared] = _prepare_in_worker
    else:
        executor = ThreadPoolExecutor(1, thread_name_prefix="lifeline-import")
        work = partial(job.prepare, locator=locator)
    queue: deque[tuple[Piece, asyncio.Future[Prepared]]] = deque()
    try:
        while True:
            while len(queue) <= max(processes, 1):
                piece = next(pieces, None)
                if piece is None:
                    break
                queue.append((piece, loop.run_in_executor(executor, work, piece)))
            if not queue:
                return
            piece, pending = queue.popleft()
            yield piece, await pending
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
