"""An import that meets people already registered changes only the fields its file has columns
for: an export read back with one phone number corrected changes that number and nothing else
(the documentation status, which no export holds, and the recruitment agency, which no reader
sees, stay as they were); and only the worker's own consular officers write a documentation
status, by import as by any other way. On the thread and the process-pool paths."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from service.auth.permissions import Role
from service.db import session_scope
from service.directory.models import OrgKind
from service.exports import workers as workers_csv
from service.exports.csv import chunks
from service.registry import bulk, bulk_prepare
from service.registry.models import Worker
from tests.conftest import OrgFactory, TokenFactory, bearer, unique
from tests.service.registry.test_register_import import upload

#: Near Shah Alam; each test takes a spot of its own, so that its export holds only its people.
SHAH_ALAM = (3.0738, 101.5183)


def spot() -> dict[str, float]:
    return {
        "lat": round(SHAH_ALAM[0] + random.uniform(0, 0.02), 6),
        "lon": round(SHAH_ALAM[1] + random.uniform(0, 0.02), 6),
    }


@pytest.fixture(params=["thread", "processes"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test on both paths: a small file is prepared in a thread; here a process pool (one
    worker) prepares it as it would a large file."""
    if request.param == "processes":
        monkeypatch.setattr(bulk_prepare, "PROCESS_THRESHOLD", 0)
        monkeypatch.setattr(bulk_prepare, "MAX_PROCESSES", 1)
    yield request.param


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def write(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header or list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def register(
    client: httpx.AsyncClient, token: str, here: dict[str, float], **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        "/api/v1/workers",
        json={
            "nationality": "PHL",
            "location": here,
            "source": "embassy_registration",
            "consent": {"share_with_embassy": True, "share_with_humanitarian": True},
            **extra,
        },
        headers=bearer(token),
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def export(client: httpx.AsyncClient, token: str, here: dict[str, float]) -> bytes:
    answer = await client.post(
        "/api/v1/exposure/workers?format=csv",
        json={"circle": {**here, "radius_m": 5}, "nationality": "PHL"},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    return answer.content


async def seen(client: httpx.AsyncClient, token: str, worker_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/workers/{worker_id}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def agencies(app: FastAPI, ids: list[str]) -> dict[str, str | None]:
    """The recruitment agency of each record (no reader sees it through the API)."""
    async with session_scope(app.state.sessionmaker) as session:
        query = select(Worker.id, Worker.recruitment_agency).where(col(Worker.id).in_(ids))
        return {i: agency for i, agency in (await session.exec(query)).all()}


async def officer(make_org: OrgFactory, make_token: TokenFactory) -> str:
    """A consular officer of the Philippines in Malaysia: sees their people's documentation
    status there."""
    return await make_token(
        Role.CONSULAR_OFFICER, await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    )


def summary(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["created"], report["updated"], report["unchanged"], report["rejected"]


async def test_an_export_read_back_with_a_phone_corrected_changes_only_the_phone(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    path: str,
) -> None:
    token = await officer(make_org, make_token)
    here = spot()
    people = [
        # Identified by a document, registered with the country spelt out.
        {"document_number": unique("P"), "phone": "+60123456789", "country": "MYS"},
        # Identified by names and birth date; the country derived from the location.
        {"given_name": unique("Ana"), "family_name": "Cruz", "birth_date": "1990-01-02"},
        {},  # nobody: matched by the record's id in the export
        {"sector": "care", "languages": ["tl", "en"], "vulnerabilities": ["pregnant"]},
    ]
    registered = [
        await register(
            client,
            token,
            here,
            documentation_status=f"status {n}",
            recruitment_agency=f"Agency {n}",
            **extra,
        )
        for n, extra in enumerate(people)
    ]
    ids = [w["id"] for w in registered]
    content = await export(client, token, here)
    rows = read(content.decode())
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert not {"documentation_status", "recruitment_agency"} & set(rows[0])

    before = {i: await seen(client, token, i) for i in ids}
    # Read back as it is: nothing changed, nothing to change.
    again = (await upload(client, token, content)).json()
    assert summary(again) == (0, 0, len(people), 0), again

    # One phone number corrected.
    first = next(r for r in rows if r["id"] == ids[0])
    first["phone"] = "+60111111111"
    edited = (await upload(client, token, write(rows))).json()
    assert summary(edited) == (0, 1, len(people) - 1, 0), edited
    for n, worker_id in enumerate(ids):
        after = await seen(client, token, worker_id)
        assert after["documentation_status"] == f"status {n}"
        assert after["phone"] == ("+60111111111" if n == 0 else before[worker_id]["phone"])
        assert {k: v for k, v in after.items() if k not in {"phone", "version", "updated_at"}} == {
            k: v
            for k, v in before[worker_id].items()
            if k not in {"phone", "version", "updated_at"}
        }
        assert after["version"] == before[worker_id]["version"] + (n == 0)
    assert await agencies(app, ids) == {i: f"Agency {n}" for n, i in enumerate(ids)}

    # And the corrected file once more: nothing left to change.
    twice = (await upload(client, token, write(rows))).json()
    assert summary(twice) == (0, 0, len(people), 0), twice


async def test_a_file_of_the_required_columns_the_id_and_the_phone(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    path: str,
) -> None:
    """An update by id still needs the required columns (rights and location are checked on
    every row), and nothing else: every column left out keeps the record's value."""
    token = await officer(make_org, make_token)
    here = spot()
    full = {
        "given_name": unique("Maria"),
        "family_name": "Santos",
        "birth_date": "1988-03-04",
        "document_number": unique("D"),
        "phone": "+60123450000",
        "sex": "F",
        "sector": "domestic_work",
        "employer": "Acme Sdn Bhd",
        "languages": ["en", "tl"],
        "accompanying_family": 2,
        "vulnerabilities": ["disability"],
        "legal_basis": "consent",
        "verified": True,
        "stay_registered": True,
        "documentation_status": "regular",
        "recruitment_agency": "Far Away Agency",
    }
    registered = await register(client, token, here, **full)
    anonymous = await register(client, token, here, documentation_status="irregular")
    lean = write(
        [
            {"id": w["id"], "nationality": "PHL", **{k: str(v) for k, v in here.items()},
             "source": "embassy_registration", "phone": phone}
            for w, phone in ((registered, "+60199999999"), (anonymous, "+60188888888"))
        ]
    )  # fmt: skip
    refused = await upload(client, token, b"id,phone\n" + registered["id"].encode() + b",+601\n")
    assert refused.status_code == 422, refused.text
    assert {e["msg"] for e in refused.json()["errors"]} == {
        f"missing column {c}" for c in bulk.REQUIRED_COLUMNS
    }
    report = (await upload(client, token, lean)).json()
    assert summary(report) == (0, 2, 0, 0), report
    after = await seen(client, token, registered["id"])
    assert after["phone"] == "+60199999999"
    for name, value in full.items():
        if name not in {"phone", "recruitment_agency"}:
            assert after[name] == value, name
    assert after["consent"] == {"share_with_embassy": True, "share_with_humanitarian": True}
    kept = await seen(client, token, anonymous["id"])
    assert (kept["phone"], kept["documentation_status"]) == ("+60188888888", "irregular")
    assert (await agencies(app, [registered["id"]]))[registered["id"]] == "Far Away Agency"
    assert summary((await upload(client, token, lean)).json()) == (0, 0, 2, 0)


async def test_an_empty_cell_of_a_column_the_file_has_clears_the_field(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, path: str
) -> None:
    """Empty cells are absent values: the officer who may record a documentation status may
    also clear it, with the column present and its cell empty."""
    token = await officer(make_org, make_token)
    here = spot()
    worker = await register(
        client, token, here, documentation_status="overstayed", phone="+60123456789"
    )
    rows = read((await export(client, token, here)).decode())
    for row in rows:
        row["documentation_status"] = ""
        row["phone"] = ""
    report = (await upload(client, token, write(rows))).json()
    assert summary(report) == (0, 1, 0, 0), report
    after = await seen(client, token, worker["id"])
    assert (after["documentation_status"], after["phone"]) == (None, None)


async def test_a_coordinator_never_writes_a_documentation_status(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, path: str
) -> None:
    """A coordinator sees what their organisation registered, never the documentation status
    the worker's consular officer recorded: their import keeps it, whether their file has the
    column empty (the field kept) or filled (the row refused, as a registration would be)."""
    consul = await officer(make_org, make_token)
    coordinator = await make_token(Role.COORDINATOR)
    here = spot()
    workers = [
        await register(client, coordinator, here, document_number=unique("C")) for _ in range(2)
    ]
    for worker in workers:
        patched = await client.patch(
            f"/api/v1/workers/{worker['id']}",
            json={"documentation_status": "pending renewal"},
            headers={**bearer(consul), "If-Match": '"1"'},
        )
        assert patched.status_code == 200, patched.text
    # A coordinator lists their organisation's people, and writes them as the export would.
    listed = await client.get("/api/v1/workers", headers=bearer(coordinator))
    assert listed.status_code == 200, listed.text
    header, cells = workers_csv.table(listed.json()["items"])
    rows = read("".join(chunks(header, cells)))
    assert len(rows) == 2
    by_id = {r["id"]: r for r in rows}
    empty, filled = (by_id[w["id"]] for w in workers)
    empty.update(documentation_status="", phone="+60122222222")
    filled.update(documentation_status="regular", phone="+60133333333")
    report = (await upload(client, coordinator, write([empty, filled]))).json()
    assert summary(report) == (0, 1, 0, 1), report
    assert "documentation_status" in report["errors"][0]["msg"]
    assert report["errors"][0]["row"] == 3
    changed, refused = [await seen(client, consul, w["id"]) for w in workers]
    assert (changed["phone"], changed["documentation_status"]) == (
        "+60122222222",
        "pending renewal",
    )
    assert (refused["phone"], refused["documentation_status"]) == (None, "pending renewal")
