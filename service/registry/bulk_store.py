"""Writing the prepared pieces of an import with set-based statements, in each database's
fastest way (COPY on PostgreSQL, one executemany on SQLite), and counting what each row did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy import update as update_
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import is_unique_violation
from service.registry import access
from service.registry.bulk_files import Piece, cells_of
from service.registry.bulk_prepare import STATUS_REFUSED, Job, Prepared
from service.registry.models import SEALED_FIELDS, RegisterChange, Worker
from service.registry.rows import COLUMNS, CONTENT_HASH, ID, IDENTITY_HASH, KEPT_COLUMNS, recorded

#: Why a row that names a record its importer may not see is refused.
ELSEWHERE = "this person is already registered by another organisation"
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

#: A row for ``Store``: its number in the file, its values, the record id it names (if any).
_Row = tuple[int, tuple[Any, ...], str | None]


class Store:
    """Writes prepared pieces with set-based statements: one look-up (none while the register
    was empty at the start), one insert (COPY on PostgreSQL), one update, one insert of change
    records."""

    def __init__(
        self, conn: AsyncConnection, job: Job, report: ImportReport, file_digest: str
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

    async def write(self, piece: Piece, prepared: Prepared) -> None:
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
