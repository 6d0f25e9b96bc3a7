"""CSV for every export: rows in, text out in chunks, and no cell a spreadsheet runs as a formula.

The rule (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection, and
CWE-1236): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is written with a single quote ``'`` in front, so that a spreadsheet shows it as text instead of
evaluating it; the ``csv`` module then quotes the cell as it needs (commas, quotes, line ends).

Only text is neutralised. A value the service holds as a number (``int``, ``float``: a longitude
of -12.5, a count) is written as the number: nobody typed it, it was validated as a number, and
a numeric column must stay numeric for a spreadsheet and for a re-import. Booleans are written
``true``/``false`` and times in ISO 8601, as the imports read them; ``None`` is an empty cell.

A download (``response``) starts with a UTF-8 byte order mark, so that a spreadsheet program
opens it as UTF-8 rather than the local code page; the imports skip it. ``chunks`` has none.

``restore`` is the inverse, for the imports: a cell that starts with ``'`` followed by one of
those characters (after any further quotes) loses one quote, so that an export read back stores
exactly what was exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import date, datetime
from enum import Enum

from fastapi.responses import StreamingResponse

#: The first characters that make a spreadsheet read a cell as a formula (or hide one).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows written into one chunk of text: a few tens of kilobytes, whatever the export's size.
ROWS_PER_CHUNK = 500
MEDIA_TYPE = "text/csv; charset=utf-8"
#: The byte order mark a download starts with.
BOM = "\ufeff"


def _formula_after_quotes(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_START)


def neutralise(text: str) -> str:
    """The text as a cell no spreadsheet evaluates. Text that already starts with quotes before
    such a character gets one more, so that ``restore`` gives back exactly the text."""
    return "'" + text if _formula_after_quotes(text) else text


def restore(cell: str) -> str:
    """The text a neutralised cell stood for (any other cell as it is)."""
    return cell[1:] if cell.startswith("'") and _formula_after_quotes(cell) else cell


#: What a text cell may start with for ``neutralise`` to change it: a formula's first
#: character, or quotes in front of one.
_MAYBE_FORMULA = frozenset((*FORMULA_START, "'"))


def cell(value: object) -> str | int | float:
    """One value as a CSV cell: numbers stay numbers, everything else is neutralised text."""
    kind = type(value)
    if kind is str:  # the usual cell, first: a download writes millions of them
        text: str = value  # type: ignore[assignment]
        return neutralise(text) if text[:1] in _MAYBE_FORMULA else text
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(value))


#: Values written as they are: the csv module writes numbers as ``cell`` does, ``None`` empty.
_AS_IS = frozenset({int, float, type(None)})


def cells(values: Sequence[object]) -> list[object]:
    """``cell`` of each value, without the call for the values it leaves as they are (numbers,
    ``None``, text that starts no formula): a download writes millions of them."""
    return [
        v
        if (kind := type(v)) in _AS_IS or (kind is str and v[:1] not in _MAYBE_FORMULA)  # type: ignore[index]
        else cell(v)
        for v in values
    ]


def chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text of a header and rows, in chunks of ``ROWS_PER_CHUNK`` rows: memory stays
    that of one chunk however many rows come. Header names are neutralised like any text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow(cells(row))
        if n % ROWS_PER_CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


def _with_bom(parts: Iterator[str]) -> Iterator[str]:
    yield BOM
    yield from parts


def response(
    header: Sequence[str], rows: Iterable[Sequence[object]], filename: str
) -> StreamingResponse:
    """A CSV download, streamed as it is written, after a byte order mark."""
    return StreamingResponse(
        _with_bom(chunks(header, rows)),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _batched(
    header: Sequence[str], batches: AsyncIterator[Sequence[Sequence[object]]]
) -> AsyncIterator[str]:
    yield BOM
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    async for batch in batches:
        writer.writerows(map(cells, batch))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


def stream(
    header: Sequence[str], batches: AsyncIterator[Sequence[Sequence[object]]], filename: str
) -> StreamingResponse:
    """A CSV download whose rows come a batch at a time (read while the file is sent): one
    chunk of text a batch, after a byte order mark."""
    return StreamingResponse(
        _batched(header, batches),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
