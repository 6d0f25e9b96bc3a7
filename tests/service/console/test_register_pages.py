"""The register's console pages on the Johor register (see the console pages' tests), on both
databases: the search and the record page for the roles that may read them, refused as the API
refuses, the documentation status only for the worker's own officers, an import of good and bad
rows through the page, and the rejected rows as CSV with no formula left."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from service.auth.permissions import Permission, allowed
from tests.conftest import bearer
from tests.service.console.test_console_pages import NAME, ROLES, get, post
from tests.service.exposure.test_nationals_in_own_country import johor

__all__ = ["johor"]

PAGES = {
    "/console/register": Permission.WORKERS_READ,
    "/console/register/import": Permission.WORKERS_WRITE,
    "/console/register/import/template.csv": Permission.WORKERS_WRITE,
}


async def test_each_register_page_opens_for_the_roles_that_may_and_no_other(
    johor: dict[str, Any],
) -> None:
    for path, permission in PAGES.items():
        for who, role in ROLES.items():
            answer = await get(johor, who, path)
            expected = 200 if allowed(role, permission) else 403
            assert answer.status_code == expected, (path, who, answer.text[:300])
        assert (await get(johor, None, path)).status_code == 303
    home = (await get(johor, "admin", "/console/")).text
    assert 'href="/console/register"' in home and 'href="/console/register/import"' in home
    template = await get(johor, "admin", "/console/register/import/template.csv")
    assert template.content.decode("utf-8-sig").splitlines()[0].startswith("nationality,lat,lon,")


async def test_search_shows_whom_the_caller_may_read_and_finds_by_name(
    johor: dict[str, Any],
) -> None:
    officer = await get(johor, "idn", "/console/register")
    assert officer.status_code == 200
    # Indonesians 17-20 agreed to share with their embassy; 21-22 refused, 23 is protected.
    assert {int(n) for n in NAME.findall(officer.text)} == {17, 18, 19, 20}
    found = await get(johor, "idn", "/console/register", params={"name": "given18"})
    assert {int(n) for n in NAME.findall(found.text)} == {18}
    assert "Names are stored encrypted" in found.text
    two_words = await get(johor, "admin", "/console/register", params={"name": "given 1"})
    pager = two_words.text.split('class="pager"')[1]
    assert "cursor=" not in pager or "name=given+1" in pager
    # A name the caller may not read is not found by it.
    hidden = await get(johor, "idn", "/console/register", params={"name": "given21"})
    assert not NAME.findall(hidden.text)
    by_nationality = await get(johor, "admin", "/console/register", params={"nationality": "mys"})
    assert {int(n) for n in NAME.findall(by_nationality.text)} == set(range(17))
    assert (await get(johor, "coordinator", "/console/register")).status_code == 200
    assert not NAME.findall((await get(johor, "coordinator", "/console/register")).text)
    bad = await get(johor, "admin", "/console/register", params={"country": "M1"})
    assert bad.status_code == 422 and "three-letter" in bad.text
    audit = await get(johor, "admin", "/console/audit", params={"action": "worker.list"})
    assert audit.text.count("worker.list") >= 3


async def test_the_record_page_refuses_what_the_api_refuses(johor: dict[str, Any]) -> None:
    ids = johor["ids"]["IDN"]
    mine = await get(johor, "idn", f"/console/register/{ids[0]}")
    assert mine.status_code == 200 and "Given17" in mine.text
    for who, worker in (("mys", ids[0]), ("idn", ids[4]), ("idn", ids[6]), ("coordinator", ids[0])):
        page = await get(johor, who, f"/console/register/{worker}")
        api = await johor["client"].get(
            f"/api/v1/workers/{worker}", headers=bearer(johor["tokens"][who])
        )
        assert page.status_code == api.status_code == 404, (who, page.text[:200])
        assert "Given" not in page.text
    assert (await get(johor, "viewer", f"/console/register/{ids[0]}")).status_code == 403
    # The list of my nationals links each person to their record.
    audit = await get(johor, "admin", "/console/audit", params={"action": "worker.read"})
    assert "worker.read" in audit.text


async def test_documentation_status_only_for_the_workers_own_officers(
    johor: dict[str, Any],
) -> None:
    made = await johor["client"].post(
        "/api/v1/workers",
        json={
            "nationality": "IDN",
            "given_name": "Sealed",
            "location": {"lat": 1.53, "lon": 103.71},
            "documentation_status": "overstayed_visa",
        },
        headers=bearer(johor["tokens"]["idn"]),
    )
    assert made.status_code == 201, made.text
    worker = made.json()["id"]
    own = await get(johor, "idn", f"/console/register/{worker}")
    assert "Documentation status" in own.text and "overstayed visa" in own.text
    for who in ("admin",):
        page = await get(johor, who, f"/console/register/{worker}")
        assert page.status_code == 200 and "Sealed" in page.text
        assert "overstayed" not in page.text and "Documentation status" not in page.text
    for who in ROLES:
        listed = await get(johor, who, "/console/register")
        assert "overstayed" not in listed.text


async def test_an_import_through_the_page_reports_good_and_bad_rows(
    johor: dict[str, Any],
) -> None:
    rows = (
        "nationality,given_name,lat,lon,document_number\n"
        "IDN,Imported1,1.52,103.70,IMP-1\n"
        "IDN,Imported2,1.53,103.71,IMP-2\n"
        'XX,=HYPERLINK("x"),1.52,103.70,IMP-3\n'
        "IDN,Nowhere,95,103.70,IMP-4\n"
    )
    files = {"file": ("workers.csv", rows.encode(), "text/csv")}
    client, token = johor["client"], johor["tokens"]["admin"]
    answer = await client.post("/console/register/import", files=files, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert "2 created, 0 updated, 0 unchanged, 2 rejected" in answer.text
    assert "Row" in answer.text and "nationality" in answer.text and "How to fix it" in answer.text
    again = await client.post(
        "/console/register/import", files=files, headers={**bearer(token), "HX-Request": "true"}
    )
    assert "0 created, 0 updated, 2 unchanged, 2 rejected" in again.text
    assert "<html" not in again.text
    # The rejected rows as CSV, with a formula of the file made text.
    hostile = [{"row": 4, "column": "given_name", "what": '=HYPERLINK("x")', "fix": "-fix"}]
    got = await post(
        johor, "admin", "/console/register/import/rejected.csv", {"rows": json.dumps(hostile)}
    )
    assert got.status_code == 200 and "text/csv" in got.headers["content-type"]
    table = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert table[0] == ["row", "column", "what is wrong", "how to fix it"]
    assert table[1] == ["4", "given_name", '\'=HYPERLINK("x")', "'-fix"]
    missing = await client.post(
        "/console/register/import",
        files={"file": ("w.csv", b"given_name\nA\n", "text/csv")},
        headers=bearer(token),
    )
    assert missing.status_code == 422 and "was not imported" in missing.text
    refused = await client.post(
        "/console/register/import", files=files, headers=bearer(johor["tokens"]["viewer"])
    )
    assert refused.status_code == 403
