"""The console's session cookie goes through the same authorisation as a token: the same
principal, the same answers; an unsafe request by cookie needs the session's CSRF token."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.audit.models import AuditEvent
from service.auth.permissions import Role
from service.db import session_scope
from service.directory.models import OrgKind
from tests.conftest import OrgFactory, TokenFactory, bearer, unique
from tests.service.auth.test_authorization import api_calls
from tests.service.users.helpers import browser, enrol, make_person

KL = {"lat": 3.1390, "lon": 101.6869}


def organization() -> dict[str, str]:
    return {"slug": unique("org"), "name": "Made by a person", "kind": "ngo", "country": "MYS"}


async def test_an_unsafe_request_by_cookie_needs_the_csrf_token_of_its_session(
    app: FastAPI, make_org: OrgFactory
) -> None:
    org = await make_org()
    person, other = await make_person(app, org), await make_person(app, org)
    async with browser(app) as client, browser(app) as elsewhere:
        signed = await enrol(client, person)
        foreign = await enrol(elsewhere, other)
        refused = [
            await client.post("/api/v1/organizations", json=organization()),
            await client.post(
                "/api/v1/organizations",
                json=organization(),
                headers={"X-CSRF-Token": foreign.csrf},
            ),
            await client.post(
                "/api/v1/organizations", json=organization(), headers={"X-CSRF-Token": "0" * 64}
            ),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert "CSRF" in refused[0].json()["detail"]
        made = await client.post(
            "/api/v1/organizations", json=organization(), headers={"X-CSRF-Token": signed.csrf}
        )
        assert made.status_code == 201, made.text
        # A form's field does as well as the header.
        form = await client.post(
            "/api/v1/users/00000000-0000-0000-0000-000000000000/disable",
            data={"csrf_token": signed.csrf},
        )
        assert form.status_code == 404
        # Reading needs no token.
        assert (await client.get("/api/v1/organizations")).status_code == 200


async def test_a_bearer_call_needs_no_csrf_token(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = await make_token(Role.ADMIN)
    made = await client.post("/api/v1/organizations", json=organization(), headers=bearer(token))
    assert made.status_code == 201


async def test_a_consular_officer_s_session_sees_exactly_what_their_token_would(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    embassy = await make_org(OrgKind.EMBASSY, country="MYS", represents="PHL")
    token = await make_token(Role.CONSULAR_OFFICER, embassy)
    body = {"nationality": "PHL", "document_number": unique("P"), "location": KL}
    worker = await client.post("/api/v1/workers", json=body, headers=bearer(token))
    assert worker.status_code == 201, worker.text
    officer = await make_person(app, embassy, Role.CONSULAR_OFFICER)
    async with browser(app) as console:
        await enrol(console, officer)
        reads = [(m, p) for m, p, _ in api_calls(app) if m == "GET"]
        assert len(reads) > 20
        for _, path in reads:
            by_token = await client.get(path, headers=bearer(token))
            by_cookie = await console.get(path)
            assert by_token.status_code == by_cookie.status_code, (path, by_cookie.text)
        for path in (
            f"/api/v1/workers/{worker.json()['id']}",
            "/api/v1/workers?limit=5",
            "/api/v1/tasks",
            "/api/v1/organizations",
        ):
            by_token = await client.get(path, headers=bearer(token))
            by_cookie = await console.get(path)
            assert by_token.status_code == by_cookie.status_code == 200, path
            assert by_token.json() == by_cookie.json(), path
        # What the role may not do, the person may not either.
        assert (await console.get("/api/v1/audit")).status_code == 403


async def test_the_audit_log_names_the_person(app: FastAPI, make_org: OrgFactory) -> None:
    person = await make_person(app, await make_org())
    async with browser(app) as client:
        signed = await enrol(client, person)
        made = await client.post(
            "/api/v1/organizations", json=organization(), headers={"X-CSRF-Token": signed.csrf}
        )
        assert made.status_code == 201
        listed = await client.get(f"/api/v1/audit?user_id={person.id}&limit=100")
        assert listed.status_code == 200
    async with session_scope(app.state.sessionmaker) as session:
        rows = (await session.exec(select(AuditEvent).where(AuditEvent.user_id == person.id))).all()
    actions = {r.action for r in rows}
    assert {"user.sign_in", "organization.create"} <= actions, actions
    assert all(r.organization_id == person.org_id and r.channel == "console" for r in rows)
    made_row = next(r for r in rows if r.action == "organization.create")
    assert made_row.subject_id == made.json()["id"]
    assert {e["user_id"] for e in listed.json()["items"]} == {person.id}
