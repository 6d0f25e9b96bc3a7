"""A crisis over Johor Bahru: its snapshot and its playbooks leave the Malaysians at home out (no
"no embassy for MYS in MYS"), its exposure says what it counts and names its provinces, and
``GET /crises/{id}/workers`` lists the people in its zone by the rules of every list of people,
in pages or as CSV, each read audited. On a register of its own, on both databases."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.conftest import bearer, unique
from tests.service.exposure.test_nationals_in_own_country import ZONE, call, johor

__all__ = ["johor"]


async def declare(johor: dict[str, Any]) -> str:
    made = await johor["client"].post(
        "/api/v1/crises",
        json={
            "title": unique("Johor flood"),
            "hazard": "flood",
            "severity": "severe",
            "zones": ZONE,
        },
        headers=bearer(johor["tokens"]["coordinator"]),
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def workers(johor: dict[str, Any], who: str, crisis: str, **params: Any) -> httpx.Response:
    return await call(johor, who, "GET", f"/api/v1/crises/{crisis}/workers", params=params)


async def test_the_snapshot_and_the_playbooks_leave_nationals_at_home_out(
    johor: dict[str, Any],
) -> None:
    crisis = await declare(johor)
    exact = (await call(johor, "coordinator", "GET", f"/api/v1/crises/{crisis}/exposure")).json()
    assert (exact["workers"], exact["by_nationality"]) == (7, {"IDN": 7})
    assert exact["by_nationality_country"] == {"IDN": {"MYS": 7}}
    assert exact["nationals_in_own_country"] == 17
    assert exact["admin1_names"] == {"MY-01": "Johor"}
    assert exact["basis"].startswith("exact")
    rounded = (await call(johor, "viewer", "GET", f"/api/v1/crises/{crisis}/exposure")).json()
    assert (rounded["workers"], rounded["nationals_in_own_country"]) == (5, 15)
    assert rounded["basis"].startswith("rounded") and rounded["admin1_names"] == {"MY-01": "Johor"}
    officer = (await call(johor, "idn", "GET", f"/api/v1/crises/{crisis}/exposure")).json()
    assert officer["own_nationals"] == {"IDN": 7} and officer["own_nationals_basis"]
    tasks = (await call(johor, "coordinator", "GET", f"/api/v1/crises/{crisis}/tasks")).json()
    titles = [t["title"] for t in tasks["items"]]
    assert titles and any("IDN" in t for t in titles)
    assert not [t for t in titles if "MYS workers in MYS" in t or "MYS in MYS" in t], titles
    planned = (await call(johor, "coordinator", "POST", f"/api/v1/crises/{crisis}/simulate")).json()
    assert not [t for t in planned["tasks"] if "MYS in MYS" in t["title"]]


async def test_a_crisis_lists_its_people_by_the_rules_of_every_list(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    first = (await workers(johor, "idn", crisis, limit=3)).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    assert (first["matching"], first["listed"]) == (7, 4)
    assert first["not_shown"] == {
        "no_consent_to_share_with_embassy": 2,
        "withheld_under_data_protection": 1,
    }
    rest = (await workers(johor, "idn", crisis, limit=3, cursor=first["next_cursor"])).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    shown = {w["id"] for w in first["items"] + rest["items"]}
    assert shown < set(johor["ids"]["IDN"])
    assert {w["admin1_name"] for w in first["items"]} == {"Johor"}
    # The same list for the same zone drawn by hand.
    drawn = await call(johor, "idn", "POST", "/api/v1/exposure/workers", json={"geometry": ZONE})
    assert {w["id"] for w in drawn.json()["items"]} == shown
    assert (await workers(johor, "idn", crisis, nationality="PHL")).json()["matching"] == 0
    at_home = (await workers(johor, "mys", crisis, nationals_in_own_country="only")).json()
    assert {w["id"] for w in at_home["items"]} == set(johor["ids"]["MYS"])
    assert (await workers(johor, "mys", crisis)).json()["items"] == []
    everyone = await workers(johor, "admin", crisis, nationals_in_own_country="include")
    assert len(everyone.json()["items"]) == 24


async def test_a_crisis_list_downloads_as_csv_with_its_counts(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    for asked in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        answer = await call(johor, "idn", "GET", f"/api/v1/crises/{crisis}/workers", **asked)
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
        assert len(rows) == 4 and {r["admin1_name"] for r in rows} == {"Johor"}
        assert "documentation_status" not in rows[0]
        assert answer.headers["lifeline-matching"] == "7"
        assert answer.headers["lifeline-not-shown"] == (
            "no_consent_to_share_with_embassy=2,withheld_under_data_protection=1"
        )
    json_anyway = await call(
        johor, "idn", "GET", f"/api/v1/crises/{crisis}/workers",
        params={"format": "json"}, headers={"Accept": "text/csv"},
    )  # fmt: skip
    assert json_anyway.headers["content-type"].startswith("application/json")


async def test_every_read_of_a_crisis_list_is_audited_and_a_bad_request_refused(
    johor: dict[str, Any],
) -> None:
    crisis = await declare(johor)
    listed = (await workers(johor, "idn", crisis)).json()
    audit = await call(johor, "admin", "GET", "/api/v1/audit", params={"action": "exposure.list"})
    [entry] = [e for e in audit.json()["items"] if e["detail"].get("crisis_id") == crisis]
    assert entry["detail"]["ids"] == [w["id"] for w in listed["items"]]
    assert entry["detail"]["zone_version"] == 1
    client, token = johor["client"], johor["tokens"]
    missing = await client.get(
        "/api/v1/crises/00000000-0000-0000-0000-000000000000/workers", headers=bearer(token["idn"])
    )
    assert missing.status_code == 404
    for params in ({"nationals_in_own_country": "maybe"}, {"cursor": "bm90LWEtY3Vyc29y"}):
        refused = await client.get(
            f"/api/v1/crises/{crisis}/workers", params=params, headers=bearer(token["idn"])
        )
        assert refused.status_code == 422, refused.text
    viewer = await client.get(f"/api/v1/crises/{crisis}/workers", headers=bearer(token["viewer"]))
    assert viewer.status_code == 403


async def test_a_download_longer_than_a_file_holds_says_so(
    johor: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.exposure import people

    crisis = await declare(johor)
    monkeypatch.setattr(people, "CSV_LIMIT", 3)
    answer = await call(
        johor, "idn", "GET", f"/api/v1/crises/{crisis}/workers", params={"format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 3 and answer.headers["lifeline-written"] == "3"
    assert answer.headers["lifeline-listed"] == "4"
    assert "3 rows at most" in answer.headers["lifeline-truncated"]
    monkeypatch.setattr(people, "CSV_LIMIT", 50_000)
    whole = await call(
        johor, "idn", "GET", f"/api/v1/crises/{crisis}/workers", params={"format": "csv"}
    )
    assert whole.headers["lifeline-written"] == "4" and "lifeline-truncated" not in whole.headers


async def test_a_download_is_read_and_audited_a_chunk_at_a_time(
    johor: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed in chunks (two rows here): the rows in the order of the list's pages, the whole
    export audited with its scope and row count, each chunk with its ids; the XLSX the same."""
    import openpyxl

    from service.exposure import people

    crisis = await declare(johor)
    monkeypatch.setattr(people, "_CHUNK", 2)
    paged = (await workers(johor, "idn", crisis, limit=50)).json()["items"]
    answer = await workers(johor, "idn", crisis, format="csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert [r["id"] for r in rows] == [w["id"] for w in paged] and len(rows) == 4
    assert "documentation_status" not in rows[0] and rows[0]["given_name"]
    book = openpyxl.load_workbook(
        io.BytesIO((await workers(johor, "idn", crisis, format="xlsx")).content)
    )
    sheet = [[c.value for c in r] for r in book.worksheets[0].iter_rows()]
    assert [r[0] for r in sheet[1:]] == [r["id"] for r in rows]
    log = await call(johor, "admin", "GET", "/api/v1/audit", params={"action": "exposure.exported"})
    exported = [e["detail"] for e in log.json()["items"] if e["detail"].get("crisis_id") == crisis]
    assert sorted(e["format"] for e in exported) == ["csv", "xlsx"]
    assert {e["rows"] for e in exported} == {4} and exported[0]["scope"]["nationalities"] is None
    parts = await call(johor, "admin", "GET", "/api/v1/audit", params={"action": "exposure.list"})
    csv_parts = [
        e["detail"]
        for e in parts.json()["items"]
        if e["detail"].get("crisis_id") == crisis and e["detail"]["format"] == "csv"
    ]
    assert sorted(p["part"] for p in csv_parts) == [1, 2]
    assert sorted(i for p in csv_parts for i in p["ids"]) == sorted(r["id"] for r in rows)


async def test_a_downloads_cells_are_the_workers_as_presented(johor: dict[str, Any]) -> None:
    """A download writes each row straight from the register's columns (``Cells``): the same
    cells as presenting the worker and flattening it, for each set of fields a list may show,
    a seal that fails to open included."""
    from collections import namedtuple

    from sqlalchemy import select

    from service.db import session_scope
    from service.exports.workers import Cells, header_for
    from service.exposure import people
    from service.registry.access import ALL_FIELDS, HUMANITARIAN_FIELDS

    app = johor["app"]
    async with session_scope(app.state.sessionmaker) as session:
        found = (await (await session.connection()).execute(select(*people._READ))).all()
    columns = [c.name for c in people._READ]
    Row = namedtuple("Row", columns)
    rows = [Row(*r) for r in found]
    named = [r for r in rows if r.given_name_sealed]
    # A token moved from another record: it fails its integrity check.
    moved = named[0]._replace(given_name_sealed=named[1].given_name_sealed)
    assert len(rows) > 10
    for fields in (ALL_FIELDS, HUMANITARIAN_FIELDS, ALL_FIELDS - {"location", "consent"}):
        header = header_for(fields)
        cells = Cells(header, fields, app.state.protector, columns)
        for row in [*rows, moved]:
            assert cells(row) == cells.slowly(row, fields), (sorted(fields), row.id)
    assert cells(moved)[header.index("unreadable")] == "given_name"
