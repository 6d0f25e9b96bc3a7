"""HXL: the crisis's aggregate tables as CSV with a second header row of HXL hashtags
(Humanitarian Exchange Language, https://hxlstandard.org/standard/1-1final/dictionary/), for
HDX and the tools that read HXL.

Only counts go out, exactly those of the JSON answer for the same caller: rounded with small
cells withheld outside need-to-know (a withheld cell is no row, a withheld total an empty
cell), never a name or a documentation status. A table is long: a row a cell of one breakdown,
its columns of the other breakdowns empty (the first row, every column empty, is the total), so
that a row's count is never the sum of others in the same breakdown twice.

Written by the shared CSV writer (``service.exports.csv``): the hashtag row is a row of text
cells like any other, and a hashtag starts with ``#``, which no spreadsheet reads as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from fastapi.responses import StreamingResponse

from service.exports import csv

#: The exposure table's columns: (header, HXL hashtag).
EXPOSURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("crisis_id", "#crisis+code"),
    ("zone_version", "#meta+zone_version"),
    ("taken_at", "#date+reported"),
    ("exact", "#meta+exact"),
    ("country", "#country+code"),
    ("admin1", "#adm1+code"),
    ("admin1_name", "#adm1+name"),
    ("nationality", "#meta+nationality"),
    ("sector", "#sector"),
    ("workers", "#affected+migrants"),
    ("women", "#affected+migrants+f"),
    ("men", "#affected+migrants+m"),
)
#: The welfare counts table's columns: (header, HXL hashtag).
WELFARE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("crisis_id", "#crisis+code"),
    ("exercise", "#meta+exercise"),
    ("exact", "#meta+exact"),
    ("nationality", "#meta+nationality"),
    ("admin1", "#adm1+code"),
    ("admin1_name", "#adm1+name"),
    ("status", "#status"),
    ("workers", "#affected+migrants"),
)


def _rows(
    columns: Sequence[tuple[str, str]], lines: Iterable[dict[str, Any]]
) -> Iterator[list[Any]]:
    yield [tag for _, tag in columns]
    for line in lines:
        yield [line.get(name) for name, _ in columns]


def exposure_lines(seen: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The rows of an exposure answer (``service.crises.exposure.exposure_seen_by``)."""
    base = {k: seen.get(k) for k in ("crisis_id", "zone_version", "taken_at", "exact")}
    by_sex = seen.get("by_sex", {})
    yield {**base, "workers": seen.get("workers"), "women": by_sex.get("F"),
           "men": by_sex.get("M")}  # fmt: skip
    for code, n in sorted(seen.get("by_country", {}).items()):
        yield {**base, "country": code, "workers": n}
    names = seen.get("admin1_names", {})
    for code, n in sorted(seen.get("by_admin1", {}).items()):
        yield {**base, "admin1": code, "admin1_name": names.get(code), "workers": n}
    for code, n in sorted(seen.get("by_nationality", {}).items()):
        yield {**base, "nationality": code, "workers": n}
    for sector, n in sorted(seen.get("by_sector", {}).items()):
        yield {**base, "sector": sector, "workers": n}


def welfare_lines(counts: Mapping[str, Any], names: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """The rows of welfare counts (``service.welfare.service.counts``), provinces named by
    ``names``."""
    base = {k: counts.get(k) for k in ("crisis_id", "exercise", "exact")}
    yield {**base, "workers": counts.get("total")}
    for status, n in sorted(counts.get("by_status", {}).items()):
        yield {**base, "status": status, "workers": n}
    for code, n in sorted(counts.get("by_nationality", {}).items()):
        yield {**base, "nationality": code, "workers": n}
    for code, n in sorted(counts.get("by_admin1", {}).items()):
        yield {**base, "admin1": code, "admin1_name": names.get(code), "workers": n}
    for code, by in sorted(counts.get("by_nationality_status", {}).items()):
        for status, n in sorted(by.items()):
            yield {**base, "nationality": code, "status": status, "workers": n}
    for code, by in sorted(counts.get("by_admin1_status", {}).items()):
        for status, n in sorted(by.items()):
            yield {**base, "admin1": code, "admin1_name": names.get(code), "status": status,
                   "workers": n}  # fmt: skip


def response(
    columns: Sequence[tuple[str, str]], lines: Iterable[dict[str, Any]], filename: str
) -> StreamingResponse:
    """An HXL-tagged CSV download: the header, the hashtag row, the rows."""
    return csv.response([name for name, _ in columns], _rows(columns, lines), filename)
