"""A file of checks made at a gate, read: one row a person, ``case_id`` and ``check``
(``boarded`` | ``arrived``), optionally ``at`` (ISO 8601, with its offset). A manifest's CSV read
back has a ``case_id`` and a ``leg``: its rows of other legs are left aside, and the check may be
given once for the whole file instead of in a column.

Nothing here touches the database; ``service.flows.repatriation.check_in_file`` applies the rows.
The reasons given for a bad row never repeat what the cell held: the answer says the row and the
column, and the person at the gate has the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.db import utcnow
from service.errors import InvalidInput, PayloadTooLarge
from service.exports.csv import restore
from service.repatriation.schemas import CheckWord

#: The most rows a file may have: the largest leg is a chartered ship of a few thousand people,
#: boarded and arrived; more than this is not one gate's file, and one transaction holds them all.
MAX_CHECK_ROWS = 20_000
#: The largest file: a manifest's CSV read back (some 250 bytes a row) of ``MAX_CHECK_ROWS``.
MAX_CHECK_BYTES = 8_000_000
#: A time a little ahead of the server's clock is a gate's clock, not a mistake.
CLOCK_SKEW = timedelta(minutes=5)
#: The most bad rows an answer lists (it says how many there are in all).
MAX_LISTED = 200
_CASE_ID = re.compile(r"^[0-9a-f-]{1,36}$")


@dataclass(frozen=True, slots=True)
class CheckRow:
    #: The row's number in the file, the header being row 1.
    row: int
    case_id: str
    arrived: bool
    at: datetime | None


@dataclass(slots=True)
class CheckFile:
    rows: list[CheckRow] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    other_legs: int = 0
    #: Rows read (blank lines aside), good and bad.
    count: int = 0

    def bad(self, row: int, column: str, msg: str) -> None:
        self.errors.append({"loc": ["body", "file", row, column], "msg": msg})


def refuse(errors: list[dict[str, Any]], rows: int) -> InvalidInput:
    """The 422 of a file with bad rows: nothing was changed, and which rows and why."""
    listed = sorted(errors, key=lambda e: e["loc"][2])[:MAX_LISTED]
    more = f" (the first {MAX_LISTED} are listed)" if len(errors) > MAX_LISTED else ""
    return InvalidInput(
        f"{len(errors)} problem(s) in {rows} row(s){more}: nothing was changed; correct the "
        "rows and send the whole file again",
        errors=listed,
    )


def within_limit(content: bytes) -> bytes:
    if len(content) > MAX_CHECK_BYTES:
        raise PayloadTooLarge(f"A file of checks is limited to {MAX_CHECK_BYTES} bytes")
    return content


def _header_error(msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[{"loc": ["body", "file", "header"], "msg": msg}])


def _at(text: str, now: datetime) -> tuple[datetime | None, str | None]:
    if not text:
        return None, None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None, "not an ISO 8601 time (2026-03-01T08:30:00+08:00)"
    if at.tzinfo is None:
        return None, "a time needs its offset (Z or +08:00)"
    if at > now + CLOCK_SKEW:
        return None, "in the future"
    return at, None


def read(content: bytes, *, seq: int, default: CheckWord | None) -> CheckFile:
    """The rows of the file for leg ``seq`` and the problems of its bad rows. A file that cannot
    be read at all (not UTF-8, no header, a missing column, too many rows) is refused whole."""
    within_limit(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _header_error("The file is not UTF-8 text; save it as CSV UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [restore(h).strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise _header_error("The header row is not readable CSV") from exc
    if not header:
        raise _header_error("The file is empty: expected a header row with case_id and check")
    if "case_id" not in header:
        raise _header_error("missing column case_id")
    if "check" not in header and default is None:
        raise _header_error("missing column check (or give ?check=boarded or arrived)")
    column = {
        name: header.index(name) for name in ("case_id", "check", "at", "leg") if name in header
    }
    now = utcnow()
    found = CheckFile()
    number = 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error:
            found.bad(number + 1, "row", "not readable CSV")
            break
        if cells is None:
            break
        number += 1
        if not any(c.strip() for c in cells):
            continue
        found.count += 1
        if found.count > MAX_CHECK_ROWS:
            raise InvalidInput(
                f"A file of checks has at most {MAX_CHECK_ROWS} rows; split it",
                errors=[{"loc": ["body", "file"], "msg": f"more than {MAX_CHECK_ROWS} rows"}],
            )
        cell = {n: restore(cells[i]).strip() if i < len(cells) else "" for n, i in column.items()}
        if "leg" in column:
            leg = cell["leg"]
            if not (leg.isascii() and leg.isdigit()):
                found.bad(number, "leg", "not a leg number")
                continue
            if int(leg) != seq:
                found.other_legs += 1
                continue
        case_id = cell["case_id"].lower()
        word = cell.get("check", "").lower() or (default.value if default else "")
        at, at_error = _at(cell.get("at", ""), now)
        ok = True
        if not _CASE_ID.match(case_id):
            found.bad(number, "case_id", "not a case id")
            ok = False
        if word not in {w.value for w in CheckWord}:
            found.bad(number, "check", "must be boarded or arrived")
            ok = False
        if at_error:
            found.bad(number, "at", at_error)
            ok = False
        if ok:
            found.rows.append(CheckRow(number, case_id, word == CheckWord.ARRIVED.value, at))
    return found
