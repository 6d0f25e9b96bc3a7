"""A list's table download in the format asked: CSV or XLSX, through the shared writers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import StreamingResponse

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
