"""XLSX for every list that has a CSV: the same header and rows as one sheet, in constant memory,
and no cell a spreadsheet runs as a formula.

The cells are those of the CSV writer (``service.exports.csv.cell``): numbers stay numbers, text
is neutralised by the same rule (a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return
gets a ``'`` in front), times are ISO 8601 text and booleans ``true``/``false``, as the imports
read them; ``None`` is an empty cell. A neutralised text never starts with ``=``, so openpyxl
never writes it as a formula either. Characters XML 1.0 cannot carry (control characters other
than tab and line ends) are written as U+FFFD: a workbook holding them would not open. A carriage
return is written as a line feed, the line end of a cell: XML reads one back as a line feed
anyway. So a neutralised ``'\r=1+1`` is ``'\n=1+1`` in the workbook, still text.

The workbook is written by openpyxl in write-only mode, row by row, into a spooled temporary
file (memory up to ``SPOOL_BYTES``, then disk) in a worker thread, and streamed from there: the
event loop is never blocked and memory does not grow with the export.
``stream`` does the same for rows that come a batch at a time (a download read from the
database while it is written): each batch is appended in a worker thread as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import IO, Any

from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from service.exports.csv import cell as csv_cell

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Bytes of a workbook kept in memory before the spool moves to a temporary file.
SPOOL_BYTES = 1 << 20
#: Bytes sent in one chunk of the download.
CHUNK_BYTES = 64 * 1024
SHEET_TITLE = "export"
#: The most characters a cell of a worksheet holds; a longer text is cut and ends with ``CUT``.
CELL_CHARACTERS = 32_767
CUT = " [cut: longer than a cell holds; the CSV has it whole]"


def value(raw: object) -> str | int | float | None:
    """One value as an XLSX cell: the CSV's cell, an empty one for ``None``."""
    if raw is None:
        return None
    out = csv_cell(raw)
    if isinstance(out, str):
        text = str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", out))
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > CELL_CHARACTERS:
            # A longer cell makes the workbook one spreadsheet programs repair or refuse.
            text = text[: CELL_CHARACTERS - len(CUT)] + CUT
        return text
    return out


def _begin(header: Sequence[str]) -> tuple[Workbook, Any]:
    """A write-only workbook and its sheet, the header (in bold) written."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLE)
    bold = Font(bold=True)
    heads = []
    for name in header:
        head = WriteOnlyCell(sheet, value=value(name))
        head.font = bold
        heads.append(head)
    sheet.append(heads)
    return book, sheet


def _append(sheet: Any, rows: Iterable[Sequence[object]]) -> None:
    for row in rows:
        sheet.append([value(v) for v in row])


def write(header: Sequence[str], rows: Iterable[Sequence[object]], out: IO[bytes]) -> None:
    """The workbook of a header (in bold) and rows, written into ``out``."""
    book, sheet = _begin(header)
    _append(sheet, rows)
    book.save(out)


def _build(header: Sequence[str], rows: Iterable[Sequence[object]]) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the stream)
    try:
        write(header, rows, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


async def chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> AsyncIterator[bytes]:
    """The workbook's bytes, built in a worker thread, in chunks of ``CHUNK_BYTES``."""
    spool = await asyncio.to_thread(_build, header, rows)
    async for chunk in _spooled(spool):
        yield chunk


async def _spooled(spool: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
            yield chunk
    finally:
        spool.close()


def _discard(book: Workbook) -> None:
    """Remove the temporary files a write-only workbook keeps its sheets' rows in (a saved
    workbook has removed them itself)."""
    for sheet in book.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        rows = getattr(sheet, "_rows", None)
        if rows is not None:  # the generator that writes rows, ended while its file is open
            with contextlib.suppress(Exception):
                rows.close()
        with contextlib.suppress(Exception):
            writer.close()
        with contextlib.suppress(Exception):
            writer.cleanup()


async def batched_chunks(
    header: Sequence[str], batches: AsyncIterable[Sequence[Sequence[object]]]
) -> AsyncIterator[bytes]:
    """The workbook of rows that come a batch at a time: each batch appended in a worker thread
    (openpyxl's write-only sheet keeps rows on disk, not in memory), then the saved file's bytes,
    in chunks of ``CHUNK_BYTES``. A workbook is readable only once whole, so its first byte
    leaves after the last row is read."""
    book, sheet = await asyncio.to_thread(_begin, header)
    try:
        async for batch in batches:
            await asyncio.to_thread(_append, sheet, batch)
    except BaseException:
        # A download given up on (the client gone, an error): the rows openpyxl holds on disk
        # are removed now, not when the process ends.
        _discard(book)
        raise
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by _spooled)
    try:
        await asyncio.to_thread(book.save, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    async for chunk in _spooled(spool):
        yield chunk


def stream(
    header: Sequence[str], batches: AsyncIterable[Sequence[Sequence[object]]], filename: str
) -> StreamingResponse:
    """An XLSX download of rows that come a batch at a time (read while it is written)."""
    return StreamingResponse(
        batched_chunks(header, batches),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def filename_for(filename: str) -> str:
    """The XLSX name of an export named for CSV (``x.csv`` → ``x.xlsx``)."""
    return filename.removesuffix(".csv") + ".xlsx"


def response(
    header: Sequence[str], rows: Iterable[Sequence[object]], filename: str
) -> StreamingResponse:
    """An XLSX download, streamed once written."""
    return StreamingResponse(
        chunks(header, rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
