"""A list's table download in the format asked: CSV or XLSX, through the shared writers.

``download`` is how a route answers one: audited with its scope and row count, and saying in
its headers how many rows it holds and whether the list was longer than a download holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from fastapi.responses import StreamingResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.exports import csv, xlsx

#: The values of a list's ``format`` that ask for a table download.
FORMATS = frozenset({"csv", "xlsx"})
#: A list's ``format`` parameter: JSON, or a table download.
PATTERN = "^(json|csv|xlsx)$"
#: The OpenAPI content of a list's answer beside JSON.
CONTENT: dict[str, dict[str, Any]] = {"text/csv": {}, xlsx.MEDIA_TYPE: {}}
#: A list's OpenAPI answers beside JSON, for ``responses=``.
ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": CONTENT}}


def response(
    format: str, header: Sequence[str], rows: Iterable[Sequence[object]], filename: str
) -> StreamingResponse:
    """The table as ``format`` (``csv`` or ``xlsx``), named ``filename`` (its CSV name)."""
    if format == "xlsx":
        return xlsx.response(header, rows, xlsx.filename_for(filename))
    return csv.response(header, rows, filename)


def download(
    session: AsyncSession,
    actor: Principal,
    format: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    filename: str,
    *,
    what: str,
    scope: Mapping[str, object] | None = None,
    subject: tuple[str, str] | None = None,
    cap: int | None = None,
    more: bool = False,
) -> StreamingResponse:
    """A list as a download (``response``), audited (``{what}.exported``: the format, the row
    count, the filters that scoped it, never a row's content) in the request's unit of work.
    ``Lifeline-Written`` says how many rows it holds; ``Lifeline-Truncated`` that the list
    had ``more`` than the ``cap`` a download holds."""
    record(
        session,
        actor=actor,
        action=f"{what}.exported",
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        detail={
            "format": format,
            "rows": len(rows),
            "scope": {k: v for k, v in (scope or {}).items() if v is not None},
        },
    )
    answer = response(format, header, rows, filename)
    cut = f"{cap} rows at most in one download: narrow the list with its filters"
    answer.headers.update(size_headers(len(rows), cut if more else None))
    return answer


def size_headers(written: int, cut: str | None = None) -> dict[str, str]:
    """What a download says of its size: ``Lifeline-Written``, the rows (or points) it holds,
    and ``Lifeline-Truncated``, when the list was longer than it holds, saying the cap and how
    to narrow the list (a list is never cut silently)."""
    said = {"Lifeline-Written": str(written)}
    if cut is not None:
        said["Lifeline-Truncated"] = cut
    return said


def stream(
    format: str,
    header: Sequence[str],
    batches: AsyncIterator[Sequence[Sequence[object]]],
    filename: str,
) -> StreamingResponse:
    """The table as ``format``, its rows coming a batch at a time while it is written (a
    download read from the database as it is sent): memory holds one batch."""
    if format == "xlsx":
        return xlsx.stream(header, batches, xlsx.filename_for(filename))
    return csv.stream(header, batches, filename)


def asked(format: str | None, accept: str | None) -> str | None:
    """The table format a request asks for, or ``None`` for JSON: ``format`` when given, else
    ``xlsx`` for an ``Accept`` that names the XLSX media type, ``csv`` for one naming
    ``text/csv``."""
    if format is not None:
        return format if format in FORMATS else None
    wanted = (accept or "").lower()
    if xlsx.MEDIA_TYPE in wanted:
        return "xlsx"
    if "text/csv" in wanted:
        return "csv"
    return None
