"""Reading a CSV or XLSX file of registrations: its header, then its rows in pieces of whole
records, each read on its own (in a worker process for a large file)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from itertools import islice
from typing import Any

from service.errors import InvalidInput
from service.exports.csv import restore
from service.registry.rows import CELL_FIELDS

LIST_FIELDS = {"languages", "vulnerabilities"}
#: The columns a file may have: the fields of a registration, location and consent flattened.
KNOWN_COLUMNS = frozenset(CELL_FIELDS)
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
#: Rows of a workbook in a piece.
BATCH = 4000

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


#: What a workbook may unpack to, in all: ten times the largest register extract measured (a
#: million rows, about 400 MB of worksheet XML), so that a crafted file cannot make the import
#: inflate gigabytes before reading a row.
XLSX_UNPACKED_LIMIT = 4 << 30
#: How much a part of a workbook larger than a megabyte may unpack to per byte packed: worksheets
#: of real registers pack 5 to 30 times; a zip bomb thousands of times.
XLSX_RATIO_LIMIT = 200


def _check_unpacked(content: bytes) -> None:
    """Refuse a workbook that would unpack past ``XLSX_UNPACKED_LIMIT`` or has a part packed
    beyond ``XLSX_RATIO_LIMIT`` (the sizes its directory declares: reading stops at them)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput(
            "The file is not a readable XLSX workbook",
            errors=[{"loc": ["body", "file"], "msg": str(exc)[:200]}],
        ) from exc
    total = sum(p.file_size for p in parts)
    packed = [p for p in parts if p.file_size > 1 << 20]
    worst = max((p.file_size / max(p.compress_size, 1) for p in packed), default=0.0)
    if total > XLSX_UNPACKED_LIMIT or worst > XLSX_RATIO_LIMIT:
        raise InvalidInput(
            "The XLSX workbook unpacks to more than a register needs: save it again from the "
            "spreadsheet, or send it as CSV",
            errors=[
                {
                    "loc": ["body", "file"],
                    "msg": f"unpacks to {total} bytes, a part {worst:.0f} times its packed size",
                }
            ],
        )


def _read_xlsx(content: bytes) -> tuple[list[str], Iterator[list[str]]]:
    from openpyxl import load_workbook

    _check_unpacked(content)
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
