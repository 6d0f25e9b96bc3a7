"""The audit log: every call and every write is there, with who and which organisation; rows
can never be changed or deleted, on either database."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.audit import service as audit_service
from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.db import session_scope
from service.exports import xlsx
from tests.conftest import OrgFactory, TokenFactory, bearer, unique


async def test_calls_and_writes_are_audited(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    org_id = await make_org()
    admin = bearer(await make_token(Role.ADMIN, org_id))
    slug = unique("audited")
    created = await client.post(
        "/api/v1/organizations",
        json={"slug": slug, "name": "Audited org", "kind": "ngo", "country": "THA"},
        headers={**admin, "X-Lifeline-Purpose": "crisis drill setup"},
    )
    assert created.status_code == 201
    new_id = created.json()["id"]
    await client.get("/api/v1/organizations", headers=admin)

    page = (
        await client.get("/api/v1/audit", params={"organization_id": org_id}, headers=admin)
    ).json()
    actions = [e["action"] for e in page["items"]]
    assert actions[:4] == [
        "api.list_audit_events",
        "api.list_organizations",
        "organization.create",
        "api.create_organization",
    ]
    write = next(e for e in page["items"] if e["action"] == "organization.create")
    assert write["subject_id"] == new_id
    assert write["organization_id"] == org_id
    assert write["role"] == "admin"
    assert write["purpose"] == "crisis drill setup"
    assert write["request_id"] == created.headers["x-request-id"]


async def test_denied_calls_are_audited_too(
    client: httpx.AsyncClient, app: FastAPI, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    org_id = await make_org()
    viewer = bearer(await make_token(Role.VIEWER, org_id))
    assert (await client.get("/api/v1/audit", headers=viewer)).status_code == 403
    admin = bearer(await make_token(Role.ADMIN))
    page = (
        await client.get("/api/v1/audit", params={"organization_id": org_id}, headers=admin)
    ).json()
    assert page["items"][0]["action"] == "api.list_audit_events"
    assert page["items"][0]["outcome"] == "denied"


async def test_the_audit_log_is_append_only(app: FastAPI, backend: str) -> None:
    # A row of its own to refuse changing: the test may run before any other writes one.
    async with session_scope(app.state.sessionmaker) as session:
        record(session, actor=Principal.system("cli"), action="test.append_only")
    async with app.state.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM audit_events"))).scalar_one()
        assert count > 0
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))
            await conn.rollback()
        if backend == "postgresql":
            # The audit chain's foreign key refuses a plain TRUNCATE first; with CASCADE, the
            # triggers of both tables refuse it.
            with pytest.raises(DBAPIError, match=r"append-only|foreign key"):
                await conn.execute(text("TRUNCATE audit_events"))
            await conn.rollback()
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("TRUNCATE audit_events CASCADE"))
            await conn.rollback()
        after = (await conn.execute(text("SELECT count(*) FROM audit_events"))).scalar_one()
        assert after >= count


async def test_the_audit_log_holds_no_token_secret(
    client: httpx.AsyncClient, make_token: TokenFactory, make_org: OrgFactory, app: FastAPI
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    org = await make_org()
    issued = (
        await client.post(
            "/api/v1/tokens", json={"organization": org, "role": "viewer"}, headers=admin
        )
    ).json()
    async with app.state.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT detail FROM audit_events"))).all()
        tokens = (await conn.execute(text("SELECT token_hash FROM api_tokens"))).scalars().all()
    assert all(issued["token"] not in str(r) for r in rows)
    assert issued["token"] not in tokens
    # The organisation's own tokens: the shared database holds many others.
    listed = (await client.get(f"/api/v1/tokens?organization={org}", headers=admin)).text
    assert issued["token"] not in listed
    assert issued["prefix"] in listed


async def test_the_audit_log_downloads_as_csv_and_xlsx_newest_first(
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org_id = await make_org(name="Audited & named")
    admin = bearer(await make_token(Role.ADMIN, org_id))
    made = []
    for _ in range(3):
        created = await client.post(
            "/api/v1/organizations",
            json={"slug": unique("audited"), "name": "Audited org", "kind": "ngo",
                  "country": "THA"},
            headers={**admin, "X-Lifeline-Purpose": "directory upkeep"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
    asked = {"organization_id": org_id, "action": "organization.create"}
    page = (await client.get("/api/v1/audit", params=asked, headers=admin)).json()
    exported = await client.get("/api/v1/audit", params={**asked, "format": "csv"}, headers=admin)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    assert exported.headers["lifeline-written"] == "3"
    assert "lifeline-truncated" not in exported.headers
    rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert list(rows[0]) == [
        "at", "user_id", "organization_id", "organization", "role", "action", "subject_type",
        "subject_id", "purpose", "outcome", "detail",
    ]  # fmt: skip
    # Newest first, as the JSON list; the organisation named, the detail as JSON text.
    assert [r["subject_id"] for r in rows] == [e["subject_id"] for e in page["items"]]
    assert [r["subject_id"] for r in rows] == made[::-1]
    for row, event in zip(rows, page["items"], strict=True):
        assert datetime.fromisoformat(row["at"]) == datetime.fromisoformat(event["at"])
        assert row["organization_id"] == org_id and row["organization"] == "Audited & named"
        assert row["purpose"] == "directory upkeep" and row["outcome"] == "allowed"
        assert json.loads(row["detail"]) == event["detail"]
        assert row["role"] == "admin" and row["subject_type"] == "organization"

    book = await client.get("/api/v1/audit", params={**asked, "format": "xlsx"}, headers=admin)
    assert book.status_code == 200, book.text
    assert book.headers["content-type"] == xlsx.MEDIA_TYPE
    [sheet] = openpyxl.load_workbook(io.BytesIO(book.content)).worksheets
    assert [c.value for c in sheet[1]] == list(rows[0])
    assert [r[7].value for r in sheet.iter_rows(min_row=2)] == made[::-1]

    # A log longer than a download holds: the newest up to the cap, and said.
    monkeypatch.setattr(audit_service, "DOWNLOAD_LIMIT", 2)
    monkeypatch.setattr(audit_service, "_CHUNK", 1)
    cut = await client.get("/api/v1/audit", params={**asked, "format": "csv"}, headers=admin)
    assert cut.headers["lifeline-written"] == "2"
    assert "2 rows at most" in cut.headers["lifeline-truncated"]
    kept = list(csv.DictReader(io.StringIO(cut.text.removeprefix("\ufeff"))))
    assert [r["subject_id"] for r in kept] == made[::-1][:2]

    # Each download in the log: its format, filters and rows.
    exports = (
        await client.get(
            "/api/v1/audit",
            params={"organization_id": org_id, "action": "audit.exported"},
            headers=admin,
        )
    ).json()["items"]
    assert [(e["detail"]["format"], e["detail"]["rows"], e["detail"]["truncated"])
            for e in exports] == [("csv", 2, True), ("xlsx", 3, False), ("csv", 3, False)]  # fmt: skip
    assert exports[0]["detail"]["filters"] == asked

    viewer = bearer(await make_token(Role.VIEWER, org_id))
    denied = await client.get("/api/v1/audit", params={"format": "csv"}, headers=viewer)
    assert denied.status_code == 403
