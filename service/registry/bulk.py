"""Bulk registration from CSV or XLSX: each bad row reported with its number and reason, the
good rows registered, and the same file twice creating nothing new."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import multiprocessing
import os
import re
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, partial
from itertools import islice
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select
from sqlalchemy import update as update_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.db import is_unique_violation, utcnow
from service.errors import InvalidInput
from service.exports.csv import restore
from service.registry import access
from service.registry.locate import AdminLocator, LazyLocator, Locator, default_locator
from service.registry.models import SEALED_FIELDS, RegisterChange, Worker
from service.registry.protect import Protector
from service.registry.rows import (
    CELL_FIELDS,
    COLUMNS,
    CONTENT_HASH,
    ID,
    IDENTITY_HASH,
    KEPT_COLUMNS,
    RECORD_COLUMNS,
    Clean,
    Columns,
    RowMaker,
    clean_cells,
    recorded,
)
from service.registry.schemas import WorkerCreate
from service.registry.service import check_place, company_directory

LIST_FIELDS = {"languages", "vulnerabilities"}
#: The columns a file may have: the fields of a registration, location and consent flattened.
KNOWN_COLUMNS = frozenset(CELL_FIELDS)
#: The columns a file must have (listed in ``lifeline import workers --help`` and the README).
REQUIRED_COLUMNS = ("nationality", "lat", "lon")
SCALAR_FIELDS = (
    KNOWN_COLUMNS
    - LIST_FIELDS
    - {
        "lat",
        "lon",
        "share_with_embassy",
        "share_with_humanitarian",
    }
)
#: Why a row that gives a documentation status its importer may not record is refused.
STATUS_REFUSED = "only the worker's own consular officers may record documentation_status"
#: Why a row that names a record its importer may not see is refused.
ELSEWHERE = "this person is already registered by another organisation"
BATCH = 4000
#: Files of at least this size are prepared in worker processes (about 40,000 rows).
PROCESS_THRESHOLD = 5_000_000
MAX_PROCESSES = 8
SQLITE_CACHE_KIB = 131_072
#: Columns that may be copied from an updated row onto the existing record: all but the
#: record's identity, its registrant and its bookkeeping.
_COPIED = tuple(
    c
    for c in COLUMNS
    if c
    not in {
        "id",
        "nationality",
        "identity_hash",
        "registered_by",
        "created_at",
        "updated_at",
        "version",
    }
)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, msg: str) -> None:
        self.rejected += 1
        self.errors.append({"row": row, "msg": msg})


#: A CSV file is cut into pieces of whole records of about this size (some 4,000 rows), each
#: parsed and prepared on its own: in a worker process for a large file.
PIECE_BYTES = 1 << 19
_BOM = b"\xef\xbb\xbf"
_FIELD_START = frozenset(b",\r\n")
_LINE_END = re.compile(rb"\r\n?|\n")

#: The longest cell (header or row) an import reads: the ``csv`` module's limit, kept. The
#: longest field of a registration is 200 characters; a longer cell refuses its row (its
#: header: the file).
MAX_CELL = 131_072

#: Part of a file: CSV text of whole records, or rows of cells of a workbook.
Piece = bytes | list[list[str]]


def read_pieces(
    content: bytes, filename: str, size: int = PIECE_BYTES
) -> tuple[list[str], Iterator[Piece]]:
    """Header and the rest of a CSV or XLSX file in pieces; the header is row 1 and the rows of
    the pieces, in order, are rows 2, 3... (``cells_of`` reads a piece)."""
    if is_workbook(content, filename):
        header, rows = _read_xlsx(content)
        return header, iter(lambda: list(islice(rows, BATCH)), [])
    skip = len(_BOM) if content.startswith(_BOM) else 0
    if not content.isascii():  # ASCII is UTF-8; anything else is checked whole, up front
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"The file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8 or as XLSX",
                errors=[{"loc": ["body", "file"], "msg": "not UTF-8"}],
            ) from exc
    records = _Records(content, skip)
    end = records.end(skip)
    try:
        header = next(csv.reader(io.StringIO(content[skip:end].decode(), newline="")), [])
    except csv.Error as exc:
        raise InvalidInput(
            f"The header row is not readable: {_unreadable(exc)}",
            errors=[{"loc": ["body", "file", "header"], "msg": _unreadable(exc)}],
        ) from exc
    if not header:
        raise InvalidInput(
            "The file is empty: expected a header row",
            errors=[{"loc": ["body", "file"], "msg": "empty"}],
        )
    return [h.strip() for h in header], records.pieces(end, size)


def is_workbook(content: bytes, filename: str) -> bool:
    """An XLSX workbook (by its name, or a ZIP archive's signature), else CSV text."""
    return filename.lower().endswith(".xlsx") or content[:2] == b"PK"


def cells_of(piece: Piece) -> list[list[str]]:
    """The rows of cells of a piece; a row that cannot be read is empty (see ``read_cells``)."""
    return read_cells(piece)[0]


def read_cells(piece: Piece) -> tuple[list[list[str]], dict[int, str]]:
    """The rows of cells of a piece, and why each row that cannot be read cannot (by its index
    in the piece; such a row comes out empty, so that the others keep their numbers). Cells an
    export neutralised against spreadsheet formulas are read back as the text they stand for."""
    unreadable: dict[int, str] = {}
    if isinstance(piece, bytes):
        try:
            rows = list(csv.reader(io.StringIO(piece.decode(), newline="")))
        except csv.Error:  # rare: find the row, record by record, and read the others
            rows, unreadable = _rows_one_by_one(piece)
        if b"'" in piece:
            _restore(rows)
    else:
        rows = piece
        _restore(rows)
    return rows, unreadable


def _rows_one_by_one(piece: bytes) -> tuple[list[list[str]], dict[int, str]]:
    rows: list[list[str]] = []
    unreadable: dict[int, str] = {}
    records = _Records(piece)
    start = 0
    while start < len(piece):
        stop = records.end(start)
        try:
            rows.append(next(csv.reader(io.StringIO(piece[start:stop].decode(), newline="")), []))
        except csv.Error as exc:
            unreadable[len(rows)] = _unreadable(exc)
            rows.append([])
        start = stop
    return rows, unreadable


def _unreadable(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {MAX_CELL:,} characters, the longest an import reads"
    return f"not readable as CSV ({exc})"


def _restore(rows: list[list[str]]) -> None:
    for cells in rows:
        for i, cell in enumerate(cells):
            if cell[:1] == "'":
                cells[i] = restore(cell)


def read_rows(content: bytes, filename: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (row number, cells) of a CSV or XLSX file; row 1 is the header."""
    header, pieces = read_pieces(content, filename)
    rows = (cells for piece in pieces for cells in cells_of(piece))
    return header, enumerate(rows, start=2)


class _Records:
    r"""Where the records of a CSV text end, as Python's ``csv`` reads it: a line end (``\n``,
    ``\r\n`` or a lone ``\r``) ends a record unless it is inside a quoted field, and a quote
    opens one only at the start of a field (elsewhere it is a character of the field). Besides
    the line ends at the cuts, only the quotes are visited; positions must be asked in
    increasing order. ``first``: where the text starts (after a byte order mark)."""

    def __init__(self, content: bytes, first: int = 0) -> None:
        self.content = content
        self.first = first
        self.quote = content.find(b'"', first)  # the next quote not yet accounted for
        self.quoted = False

    def _quoted_at(self, pos: int) -> bool:
        text, at, quoted = self.content, self.quote, self.quoted
        while 0 <= at < pos:
            if quoted:
                if text[at + 1 : at + 2] == b'"':  # a doubled quote: one quote character
                    at = text.find(b'"', at + 2)
                    continue
                quoted = False
            elif at == self.first or text[at - 1] in _FIELD_START:
                quoted = True
            at = text.find(b'"', at + 1)
        self.quote, self.quoted = at, quoted
        return quoted

    def end(self, start: int) -> int:
        """The end of the first record ending at or after ``start`` (past its line end)."""
        found = _LINE_END.search(self.content, start)
        while found is not None and self._quoted_at(found.start()):
            found = _LINE_END.search(self.content, found.end())
        return len(self.content) if found is None else found.end()

    def pieces(self, start: int, size: int) -> Iterator[bytes]:
        size = max(size, 1)
        while start < len(self.content):
            stop = self.end(start + size - 1)
            yield self.content[start:stop]
            start = stop


def _read_xlsx(content: bytes) -> tuple[list[str], Iterator[list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InvalidInput(
            "The file is not a readable XLSX workbook",
            errors=[{"loc": ["body", "file"], "msg": str(exc)[:200]}],
        ) from exc
    rows = book.active.iter_rows(values_only=True) if book.active is not None else iter(())
    header = next(rows, None)
    if not header:
        raise InvalidInput(
            "The workbook is empty: expected a header row",
            errors=[{"loc": ["body", "file"], "msg": "empty"}],
        )

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if hasattr(v, "date") and callable(v.date):
            return str(v.date().isoformat())
        return str(v)

    return [cell(h).strip() for h in header], ([cell(v) for v in row] for row in rows)


def row_to_payload(header: list[str], cells: list[str]) -> dict[str, Any]:
    values = {
        h: (cells[i].strip() if i < len(cells) else "")
        for i, h in enumerate(header)
        if h in KNOWN_COLUMNS
    }
    payload: dict[str, Any] = {k: v for k, v in values.items() if k in SCALAR_FIELDS and v != ""}
    for name in LIST_FIELDS:
        if values.get(name):
            payload[name] = [p.strip() for p in values[name].split(";") if p.strip()]
    if values.get("lat") or values.get("lon"):
        payload["location"] = {"lat": values.get("lat") or None, "lon": values.get("lon") or None}
    consent = {
        k: values[k] for k in ("share_with_embassy", "share_with_humanitarian") if values.get(k)
    }
    if consent:
        payload["consent"] = consent
    return payload


def _why(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"] if p != "location") or "row"
        if e["loc"][:1] == ("location",):
            loc = str(e["loc"][-1]) if len(e["loc"]) > 1 else "lat/lon"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


@dataclass
class _Prepared:
    """One piece made into rows: (index in the piece, row without its time columns) and
    (index in the piece, reason) of the rows refused; ``count``: how many rows the piece has."""

    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    count: int = 0
    #: The record id (an export's ``id`` column) of rows that nothing else identifies.
    ids: dict[int, str] = field(default_factory=dict)


#: The columns ``_Store`` adds to a prepared row (creation and update times, version).
_TAIL = 3


@dataclass(frozen=True)
class _Job:
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

    def prepare(self, piece: Piece, locator: Locator) -> _Prepared:
        """Read, validate, locate, check rights, seal and hash one piece of the file."""
        rows, unreadable = read_cells(piece)
        out = _Prepared(count=len(rows), rejected=list(unreadable.items()))
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
_job: _Job | None = None


def _start_worker(job: _Job) -> None:
    global _job
    _job = job
    default_locator()  # load the boundaries before the first piece


def _prepare_in_worker(piece: Piece) -> _Prepared:
    assert _job is not None
    return _job.prepare(piece, default_locator())


def _processes(content: bytes, locator: Locator) -> int:
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


async def _prepared(
    pieces: Iterator[Piece], job: _Job, locator: Locator, processes: int
) -> AsyncGenerator[tuple[Piece, _Prepared]]:
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
        work: Callable[[Piece], _Prepared] = _prepare_in_worker
    else:
        executor = ThreadPoolExecutor(1, thread_name_prefix="lifeline-import")
        work = partial(job.prepare, locator=locator)
    queue: deque[tuple[Piece, asyncio.Future[_Prepared]]] = deque()
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


async def import_workers(
    session: AsyncSession,
    *,
    actor: Principal,
    protector: Protector,
    locator: Locator,
    content: bytes,
    filename: str,
    progress: Callable[[int], None] | None = None,
    processes: int | None = None,
) -> ImportReport:
    """Register the rows of a CSV or XLSX file in the session's transaction.

    The file goes in pieces of whole rows. While one piece is written, the next ones are read,
    validated, located, sealed and hashed: in a thread, or for a large file in worker processes
    (``processes``: how many, 0 for a thread; by default chosen from the file's size and the
    cores), so that the process writing does little else.
    """
    header, pieces = read_pieces(content, filename)
    report = ImportReport()
    unknown = [h for h in header if h and h not in KNOWN_COLUMNS and h not in RECORD_COLUMNS]
    if unknown:
        report.errors.append({"row": 1, "msg": f"unknown columns ignored: {', '.join(unknown)}"})
    # Every missing column at once: a file fixed one column per try is a slow round trip.
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"The header has no {', '.join(map(repr, missing))} column"
            + ("s" if len(missing) > 1 else ""),
            errors=[
                {"loc": ["body", "file", "header"], "msg": f"missing column {c}"} for c in missing
            ],
        )
    maker = RowMaker(
        protector,
        registered_by=actor.organization_id,
        companies=await company_directory(session),
        now=utcnow(),
    )
    job = _Job(header=header, actor=actor, maker=maker, today=date.today())
    digest = await asyncio.to_thread(lambda: hashlib.sha256(content).hexdigest())
    store = _Store(await session.connection(), job, report, digest)
    await store.begin()
    prepared = _prepared(
        pieces, job, locator, _processes(content, locator) if processes is None else processes
    )
    async with aclosing(prepared):
        async for piece, done in prepared:
            await store.write(piece, done)
            if progress:
                progress(done.count)
    report.errors.sort(key=lambda e: int(e["row"]))
    record(
        session,
        actor=actor,
        action="worker.import",
        subject_type="worker",
        detail={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
        },
    )
    return report


_TABLE = Worker.__table__  # type: ignore[attr-defined]
_CHANGES = RegisterChange.__table__  # type: ignore[attr-defined]
_EXISTING = (
    "pk",
    "id",
    "identity_hash",
    "content_hash",
    "registered_by",
    "nationality",
    "country",
    "consent_embassy",
    "consent_humanitarian",
    "international_protection",
    "erased_at",
    "version",
)
# Constant column names; every value is bound.
_INSERT_SQLITE = (
    f"INSERT INTO workers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608
)


_KNOWN_PG = "SELECT identity_hash FROM workers WHERE identity_hash = ANY($1::text[])"
_KNOWN_SQLITE = "SELECT identity_hash FROM workers WHERE identity_hash IN ({})"
_CHANGES_PG = (
    "INSERT INTO register_changes (worker_pk, at) SELECT pk, $1 FROM workers WHERE id = ANY($2)"
)
_CHANGES_SQLITE = (
    "INSERT INTO register_changes (worker_pk, at) SELECT pk, ? FROM workers WHERE id IN ({})"
)


_STATUS = COLUMNS.index("documentation_status_sealed")
_SEALED = frozenset(SEALED_FIELDS)

#: A row for ``_Store``: its number in the file, its values, the record id it names (if any).
_Row = tuple[int, tuple[Any, ...], str | None]


class _Store:
    """Writes prepared pieces with set-based statements: one look-up (none while the register
    was empty at the start), one insert (COPY on PostgreSQL), one update, one insert of change
    records."""

    def __init__(
        self, conn: AsyncConnection, job: _Job, report: ImportReport, file_digest: str
    ) -> None:
        self.conn = conn
        self.file_digest = file_digest
        self.job = job
        self.maker = job.maker
        self.report = report
        self.seen: dict[str, int] = {}  # identity hash → first row of the file with it
        self.next_row = 2  # the row number of the next piece's first row
        self.postgres = conn.dialect.name == "postgresql"
        self.probe = True  # look up each piece's people in the register (see ``begin``)
        # What is read of a record the file meets: besides ``_EXISTING``, the columns of the
        # fields an update keeps (the documentation status whenever the importer may not
        # write it).
        kept = job.kept | {"documentation_status"}
        self.looked_up = (*_EXISTING, *sorted({KEPT_COLUMNS[name] for name in kept}))
        now = self.maker.now
        if self.postgres:
            self.tail: tuple[Any, ...] = (now, now, 1)
        else:
            stamp = _TABLE.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            assert stamp is not None
            self.tail = (stamp(now), stamp(now), 1)

    async def begin(self) -> None:
        # An import into an empty register (the first load of a ministry's file, often the
        # largest) has nobody to look up: repeats within the file are caught by ``seen``. For a
        # person registered meanwhile by another request, see ``write``.
        found = await self.conn.exec_driver_sql("SELECT 1 FROM workers LIMIT 1")
        self.probe = found.first() is not None
        if not self.postgres:
            # A larger page cache for this connection: the workers table has six indexes,
            # and the default 2 MB makes every insert read pages back from the file.
            await self.conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    async def write(self, piece: Piece, prepared: _Prepared) -> None:
        """Write the next piece of the file."""
        base = self.next_row
        self.next_row += prepared.count
        report = self.report
        for local, msg in prepared.rejected:
            report.reject(base + local, msg)
        built: list[_Row] = []
        seen = self.seen
        for local, row in prepared.rows:
            number = base + local
            key = row[IDENTITY_HASH]
            record_id = None
            if key is None:
                # Nobody identified: the record the row names (an export read back), else
                # this row of this file (see ``Protector.import_row``).
                key = self.maker.protector.import_row(self.file_digest, number)
                row = (*row[:IDENTITY_HASH], key, *row[IDENTITY_HASH + 1 :])
                record_id = prepared.ids.get(local)
            first = seen.setdefault(f"id {record_id}" if record_id else key, number)
            if first != number:
                report.reject(number, f"repeats the person of row {first}")
                continue
            built.append((number, row, record_id))
        if not built:
            return
        if self.probe or not self.postgres:
            # SQLite has one writer: once the import has written, nobody else registers
            # until it commits, and a registration just before its first write is refused by
            # the unique index (a 409, nothing written).
            await self._place(piece, base, built)
            return
        # No look-up: the piece goes in under a savepoint. Should a request have registered one
        # of its people meanwhile, the unique index refuses it; the piece is then undone and
        # placed again with the look-up, and so is every later one.
        try:
            async with self.conn.begin_nested():
                await self._place(piece, base, built)
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            self.probe = True
            await self._place(piece, base, built)

    async def _place(self, piece: Piece, base: int, built: list[_Row]) -> None:
        """Insert the piece's new people, update those already registered (looked up when
        ``probe`` is on). Counts only once its writes are done, so that it can run again."""
        existing: dict[str, Any] = {}
        if self.probe and (known := await self._known([row[IDENTITY_HASH] for _, row, _ in built])):
            lookup = select(*(_TABLE.c[c] for c in self.looked_up)).where(
                _TABLE.c.identity_hash.in_(known)
            )
            existing = {r.identity_hash: r for r in (await self.conn.execute(lookup)).all()}
        named = [record_id for _, _, record_id in built if record_id]
        if self.probe and named:
            lookup = select(*(_TABLE.c[c] for c in self.looked_up)).where(
                _TABLE.c.id.in_(named), _TABLE.c.erased_at.is_(None)
            )
            existing.update({f"id {r.id}": r for r in (await self.conn.execute(lookup)).all()})
        fresh: list[tuple[Any, ...]] = []
        updates: list[dict[str, Any]] = []
        cells = cells_of(piece) if existing else []  # read again only to update someone
        unchanged = 0
        refused: list[tuple[int, str]] = []
        actor = self.job.actor
        for number, row, record_id in built:
            old = existing.get(row[IDENTITY_HASH])
            if old is None and record_id:
                old = existing.get(f"id {record_id}")
            if old is None:
                fresh.append(row)
            elif old.content_hash == row[CONTENT_HASH]:
                unchanged += 1
            elif (
                access.visible_fields(actor, Worker(**{c: getattr(old, c) for c in _EXISTING}))
                is None
            ):
                # Compared in full only: a file of a few columns must not tell an importer
                # which values a record they may not see holds.
                refused.append((number, ELSEWHERE))
            else:
                kept = self.job.kept
                if not access.sees_documentation_status(
                    actor, nationality=old.nationality, country=old.country
                ):
                    if row[_STATUS] is not None:
                        refused.append((number, STATUS_REFUSED))
                        continue
                    kept |= {"documentation_status"}
                update = self._update(cells[number - base], row, old, kept)
                if update is None:
                    unchanged += 1
                else:
                    updates.append(update)
        if fresh:
            await self._insert(fresh)
        if updates:
            statement = (
                update_(_TABLE)
                .where(_TABLE.c.pk == bindparam("b_pk"))
                .values({c: bindparam(f"new_{c}") for c in (*_COPIED, "version", "updated_at")})
            )
            await self.conn.execute(statement, updates)
            await self.conn.execute(
                insert(_CHANGES),
                [{"worker_pk": u["b_pk"], "at": self.maker.now} for u in updates],
            )
        report = self.report
        report.created += len(fresh)
        report.updated += len(updates)
        report.unchanged += unchanged
        for number, msg in refused:
            report.reject(number, msg)

    def _update(
        self, cells: list[str], row: tuple[Any, ...], old: Any, kept: frozenset[str]
    ) -> dict[str, Any] | None:
        """The new values of an existing record, re-sealed under its id (seals are bound to the
        record they belong to); None when the record already says all that. The ``kept``
        fields keep the record's values, sealed ones their seals as stored, and the content
        hash is that of the record so merged."""
        index = COLUMNS.index
        clean = self.job.clean(cells, self.job.columns)
        country = row[index("country")]
        protector = self.maker.protector
        if kept:
            clean = clean._replace(**recorded(old, kept, protector.sealer))
            if protector.content_hash(clean.content(country)) == old.content_hash:
                return None
        again = self.maker.values(
            clean,
            country=country,
            admin1=row[index("admin1")],
            flag=row[index("location_flag")],
            record_id=old.id,
            registered_by=old.registered_by,
        )
        for name in kept & _SEALED:
            again[f"{name}_sealed"] = getattr(old, f"{name}_sealed")
        update = {f"new_{c}": again[c] for c in _COPIED}
        update.update(b_pk=old.pk, new_version=old.version + 1, new_updated_at=again["updated_at"])
        return update

    async def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        """New rows, and the change records that tell every exposure index about them."""
        tail = self.tail
        records = [r + tail for r in rows]
        if self.postgres:
            driver = await self._driver()
            await driver.copy_records_to_table("workers", records=records, columns=COLUMNS)
        else:
            await self.conn.exec_driver_sql(_INSERT_SQLITE, records)
        ids = [r[ID] for r in rows]
        if self.postgres:
            await (await self._driver()).execute(_CHANGES_PG, tail[0], ids)
        else:
            marks = ", ".join("?" * len(ids))
            await self.conn.exec_driver_sql(_CHANGES_SQLITE.format(marks), (tail[0], *ids))

    async def _driver(self) -> Any:
        raw = await self.conn.get_raw_connection()
        assert raw.driver_connection is not None
        return raw.driver_connection

    async def _known(self, keys: list[str]) -> list[str]:
        """Those of ``keys`` already in the register: one indexed probe each, nothing decoded
        (a fresh import finds none)."""
        if self.postgres:
            return [r[0] for r in await (await self._driver()).fetch(_KNOWN_PG, keys)]
        marks = ", ".join("?" * len(keys))
        found = await self.conn.exec_driver_sql(_KNOWN_SQLITE.format(marks), tuple(keys))
        return [r[0] for r in found.all()]
