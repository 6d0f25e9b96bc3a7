"""The workers CSV: one column per value, named as the import names its columns, so that an
export can be imported again (``service.registry.bulk``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from fastapi.responses import StreamingResponse

from service.exports import tables
from service.registry.rows import CELL_FIELDS, RECORD_COLUMNS

#: Never in an export, whoever asks (DATA-PROTECTION: documentation status stays in the
#: register); ``accept_flagged_location`` is how a registration was sent, not a value.
WITHHELD = frozenset({"documentation_status", "accept_flagged_location"})
#: Every column a workers CSV may have, in order: the import's, then the record's own.
COLUMNS = (
    "id",
    *(name for name in CELL_FIELDS if name not in WITHHELD),
    *(name for name in RECORD_COLUMNS if name != "id"),
)
_LISTS = frozenset({"languages", "vulnerabilities", "unreadable"})


def flatten(worker: dict[str, Any]) -> dict[str, Any]:
    """A presented worker (``service.registry.service.present``) as import columns: the
    location as ``lat`` and ``lon``, the consent as its two flags, lists joined by ``;``."""
    flat = {k: v for k, v in worker.items() if k not in WITHHELD}
    location = flat.pop("location", None)
    if isinstance(location, dict):
        flat["lat"], flat["lon"] = location["lat"], location["lon"]
    consent = flat.pop("consent", None)
    if isinstance(consent, dict):
        flat["share_with_embassy"] = consent["share_with_embassy"]
        flat["share_with_humanitarian"] = consent["share_with_humanitarian"]
    for key in _LISTS & flat.keys():
        flat[key] = ";".join(flat[key])
    return flat


def table(workers: Sequence[dict[str, Any]]) -> tuple[list[str], Iterator[list[Any]]]:
    """The header (the columns any of the workers has, in ``COLUMNS`` order) and the rows."""
    flat = [flatten(w) for w in workers]
    present = set().union(*flat) if flat else {"id"}
    header = [c for c in COLUMNS if c in present]
    return header, ([row.get(c) for c in header] for row in flat)


def response(
    workers: Sequence[dict[str, Any]], filename: str, format: str = "csv"
) -> StreamingResponse:
    """The workers as a CSV download (or XLSX: ``format``)."""
    header, rows = table(workers)
    return tables.response(format, header, rows, filename)


def header_for(fields: frozenset[str]) -> list[str]:
    """The columns of a download whose workers show at most ``fields`` (``present`` with them,
    then ``flatten``), and ``unreadable``: the fields of a row that could not be opened."""
    keys = {"id", "nationality", "version", "unreadable", *fields}
    if "admin1" in fields:
        keys.add("admin1_name")
    if "location" in fields:
        keys |= {"lat", "lon"}
    if "consent" in fields:
        keys |= {"share_with_embassy", "share_with_humanitarian"}
    return [c for c in COLUMNS if c in keys]


def stream(
    batches: AsyncIterator[list[dict[str, Any]]],
    fields: frozenset[str],
    filename: str,
    format: str = "csv",
) -> StreamingResponse:
    """Presented workers, a batch at a time, as a download written while they are read: the
    header from the most the caller could be shown (``header_for``)."""
    header = header_for(fields)

    async def rows() -> AsyncIterator[list[list[Any]]]:
        async for batch in batches:
            yield [[flat.get(c) for c in header] for flat in map(flatten, batch)]

    return tables.stream(format, header, rows(), filename)
