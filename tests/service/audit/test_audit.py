"""The audit log: every call and every write is there, with who and which organisation; rows
can never be changed or deleted, on either database."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.db import session_scope
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
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("TRUNCATE audit_events"))
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
