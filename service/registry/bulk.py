"""Bulk registration from CSV or XLSX: each bad row reported with its number and reason, the
good rows registered, and the same file twice creating nothing new."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select
from sqlalchemy import update as update_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.db import utcnow
from service.errors import InvalidInput
from service.registry import access
from service.registry.locate import Locator
from service.registry.models import RegisterChange, Worker
from service.registry.protect import Protector
from service.registry.schemas import WorkerCreate
from service.registry.service import check_place, company_directory, worker_values

LIST_FIELDS = {"languages", "vulnerabilities"}
SCALAR_FIELDS = {
    "nationality",
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "document_number",
    "phone",
    "sector",
    "employer",
    "recruitment_agency",
    "country",
    "accompanying_family",
    "documentation_status",
    "international_protection",
    "legal_basis",
    "source",
    "verified",
    "stay_registered",
    "accept_flagged_location",
}
KNOWN_COLUMNS = (
    SCALAR_FIELDS | LIST_FIELDS | {"lat", "lon", "share_with_embassy", "share_with_humanitarian"}
)
BATCH = 2000
#: Columns that may be copied from an updated row onto the existing record.
_COPIED = (
    "sex",
    "sector",
    "languages",
    "employer",
    "recruitment_agency",
    "employer_org_id",
    "agency_org_id",
    "lat",
    "lon",
    "country",
    "admin1",
    "location_flag",
    "accompanying_family",
    "vulnerabilities",
    "vulnerable",
    "international_protection",
    "consent_embassy",
    "consent_humanitarian",
    "legal_basis",
    "source",
    "verified",
    "stay_registered",
    "content_hash",
    "given_name_sealed",
    "family_name_sealed",
    "birth_date_sealed",
    "document_number_sealed",
    "phone_sealed",
    "documentation_status_sealed",
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


def read_rows(content: bytes, filename: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (row number, cells) of a CSV or XLSX file; row 1 is the header."""
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    if is_xlsx:
        return _read_xlsx(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8 or as XLSX",
            errors=[{"loc": ["body", "file"], "msg": "not UTF-8"}],
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise InvalidInput(
            "The file is empty: expected a header row",
            errors=[{"loc": ["body", "file"], "msg": "empty"}],
        )
    return [h.strip() for h in header], ((i, row) for i, row in enumerate(reader, start=2))


def _read_xlsx(content: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
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

    return [cell(h).strip() for h in header], (
        (i, [cell(v) for v in row]) for i, row in enumerate(rows, start=2)
    )


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


async def import_workers(
    session: AsyncSession,
    *,
    actor: Principal,
    protector: Protector,
    locator: Locator,
    content: bytes,
    filename: str,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    header, rows = read_rows(content, filename)
    report = ImportReport()
    unknown = [h for h in header if h and h not in KNOWN_COLUMNS]
    if unknown:
        report.errors.append({"row": 1, "msg": f"unknown columns ignored: {', '.join(unknown)}"})
    for required in ("nationality", "lat", "lon", "source"):
        if required not in header:
            raise InvalidInput(
                f"The header has no {required!r} column",
                errors=[{"loc": ["body", "file", "header"], "msg": f"missing column {required}"}],
            )
    batch: list[tuple[int, WorkerCreate]] = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        try:
            batch.append((number, WorkerCreate.model_validate(row_to_payload(header, cells))))
        except ValidationError as exc:
            report.reject(number, _why(exc))
        if len(batch) >= BATCH:
            await _store(session, actor, protector, locator, batch, report)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        await _store(session, actor, protector, locator, batch, report)
        if progress:
            progress(len(batch))
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


async def _insert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert new worker rows: COPY on PostgreSQL (several times faster than INSERT), else a
    single executemany. Both run inside the import's transaction."""
    if conn.dialect.name != "postgresql":
        await conn.execute(insert(_TABLE), rows)
        return
    columns = list(rows[0])
    json_columns = {"languages", "vulnerabilities"}
    records = [
        tuple(json.dumps(r[c]) if c in json_columns else r[c] for c in columns) for r in rows
    ]
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table("workers", records=records, columns=columns)


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


async def _store(
    session: AsyncSession,
    actor: Principal,
    protector: Protector,
    locator: Locator,
    batch: list[tuple[int, WorkerCreate]],
    report: ImportReport,
) -> None:
    """Store one batch with set-based statements: one lookup, one insert, one update."""
    companies = await company_directory(session)
    placed = locator.locate_many(
        [d.location.lon for _, d in batch], [d.location.lat for _, d in batch]
    )
    built: list[tuple[int, WorkerCreate, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for (number, data), found in zip(batch, placed, strict=True):
        try:
            country, admin1, flag = check_place(
                found,
                lat=data.location.lat,
                lon=data.location.lon,
                country=data.country,
                accept_flagged=data.accept_flagged_location,
            )
        except InvalidInput as exc:
            report.reject(number, exc.detail)
            continue
        if not access.may_register(actor, nationality=data.nationality, country=country):
            report.reject(
                number,
                f"your organisation may not register a worker of {data.nationality} in {country}",
            )
            continue
        if data.documentation_status and not access.sees_documentation_status(
            actor, data.nationality
        ):
            report.reject(
                number, "only the worker's own consular officers may record documentation_status"
            )
            continue
        values = worker_values(
            data,
            protector=protector,
            country=country,
            admin1=admin1,
            flag=flag,
            registered_by=actor.organization_id,
            companies=companies,
        )
        key = values["identity_hash"]
        if key in seen:
            report.reject(number, f"repeats the person of row {seen[key]}")
            continue
        seen[key] = number
        built.append((number, data, values))
    if not built:
        return
    lookup = select(*(_TABLE.c[c] for c in _EXISTING)).where(_TABLE.c.identity_hash.in_(list(seen)))
    conn = await session.connection()
    existing = {row.identity_hash: row for row in (await conn.execute(lookup)).all()}
    fresh: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for number, data, values in built:
        old = existing.get(values["identity_hash"])
        if old is None:
            fresh.append(values)
            continue
        if old.content_hash == values["content_hash"]:
            report.unchanged += 1
            continue
        if access.visible_fields(actor, Worker(**{c: getattr(old, c) for c in _EXISTING})) is None:
            report.reject(number, "this person is already registered by another organisation")
            continue
        # Re-seal under the existing record's id: seals are bound to the record they belong to.
        again = worker_values(
            data,
            protector=protector,
            country=values["country"],
            admin1=values["admin1"],
            flag=values["location_flag"],
            registered_by=old.registered_by,
            worker_id=old.id,
            companies=companies,
        )
        update = {f"new_{c}": again[c] for c in _COPIED}
        update.update(b_pk=old.pk, new_version=old.version + 1, new_updated_at=again["updated_at"])
        updates.append(update)
    pks: list[int] = []
    if fresh:
        # executemany without RETURNING: one round trip for the whole batch on both drivers;
        # the new pks are then read back by the ids we chose.
        await _insert(conn, fresh)
        by_id = select(_TABLE.c.pk).where(_TABLE.c.id.in_([v["id"] for v in fresh]))
        pks += [int(row[0]) for row in (await conn.execute(by_id)).all()]
    if updates:
        statement = (
            update_(_TABLE)
            .where(_TABLE.c.pk == bindparam("b_pk"))
            .values({c: bindparam(f"new_{c}") for c in (*_COPIED, "version", "updated_at")})
        )
        await conn.execute(statement, updates)
        pks += [u["b_pk"] for u in updates]
    if pks:
        now = utcnow()
        await conn.execute(insert(_CHANGES), [{"worker_pk": pk, "at": now} for pk in pks])
    report.created += len(fresh)
    report.updated += len(updates)
