"""Bulk registration from CSV or XLSX: each bad row reported with its number and reason, the
good rows registered, and the same file twice creating nothing new."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from contextlib import aclosing
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.db import utcnow
from service.errors import InvalidInput, PayloadTooLarge
from service.registry.bulk_files import KNOWN_COLUMNS, read_pieces
from service.registry.bulk_prepare import Job, prepare_ahead, processes_for
from service.registry.bulk_store import ImportReport, Store
from service.registry.locate import Locator
from service.registry.protect import Protector
from service.registry.rows import RECORD_COLUMNS, RowMaker
from service.registry.service import company_directory

#: The columns a file must have (listed in ``lifeline import workers --help`` and the README).
REQUIRED_COLUMNS = ("nationality", "lat", "lon")
#: The largest file an import takes.
MAX_IMPORT_BYTES = 200_000_000


def within_limit(content: bytes) -> bytes:
    """The file's content, read up to one byte past the limit; refused when it is past it."""
    if len(content) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"Import files are limited to {MAX_IMPORT_BYTES} bytes; split the file"
        )
    return content


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
    job = Job(header=header, actor=actor, maker=maker, today=date.today())
    digest = await asyncio.to_thread(lambda: hashlib.sha256(content).hexdigest())
    store = Store(await session.connection(), job, report, digest)
    await store.begin()
    prepared = prepare_ahead(
        pieces, job, locator, processes_for(content, locator) if processes is None else processes
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
