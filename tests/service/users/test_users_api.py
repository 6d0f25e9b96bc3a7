"""``/api/v1/users``: admins make, list and disable people's accounts; a task's
``assignee_user`` is one of them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import OrgFactory, TokenFactory, bearer, unique
from tests.service.tasks.test_tasks import ZONE
from tests.service.users.helpers import (
    Person,
    browser,
    enrol,
    enrol_page,
    hidden,
    make_person,
    post_password,
)


async def test_an_admin_makes_a_person_who_signs_in_with_the_one_time_password(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    org = await make_org()
    email = f"{unique('ana')}@Example.org"
    body = {"organization": org, "role": "coordinator", "email": email, "display_name": "Ana"}
    made = await client.post("/api/v1/users", json=body, headers=admin)
    assert made.status_code == 201, made.text
    user = made.json()
    assert user["password"] and user["second_factor"] is False and user["role"] == "coordinator"
    assert "password_hash" not in user and "totp_secret" not in user
    # The same again: unchanged, no new password. The same e-mail in other case is the same.
    again = await client.post("/api/v1/users", json={**body, "email": email.upper()}, headers=admin)
    assert again.status_code == 200 and again.json()["id"] == user["id"]
    assert again.json()["password"] is None
    other = await client.post("/api/v1/users", json={**body, "role": "viewer"}, headers=admin)
    assert other.status_code == 409
    listed = await client.get("/api/v1/users", params={"organization": org}, headers=admin)
    assert [u["id"] for u in listed.json()["items"]] == [user["id"]]


async def test_a_one_time_password_is_replaced_at_the_first_sign_in(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    email = f"{unique('bo')}@example.org"
    body = {
        "organization": await make_org(),
        "role": "viewer",
        "email": email,
        "display_name": "Bo",
    }
    made = (await client.post("/api/v1/users", json=body, headers=admin)).json()
    person = Person(id=made["id"], email=email, org_id=made["organization_id"])
    person.password = made["password"]
    async with browser(app) as console:
        codes_page = await enrol_page(console, person)
        assert 'href="/console/sign-in/new-password"' in codes_page
        # Both factors given, but not signed in until the password is the person's own.
        assert (await console.get("/api/v1/populations")).status_code == 401
        form = await console.get("/console/sign-in/new-password")
        csrf = hidden(form.text)
        mine = "my very own pass phrase"
        tries = [
            {"password": mine, "confirm": mine + "!"},
            {"password": "short", "confirm": "short"},
            {"password": person.password, "confirm": person.password},
        ]
        for fields in tries:
            refused = await console.post(
                "/console/sign-in/new-password", data={**fields, "csrf_token": csrf}
            )
            assert refused.status_code == 400, fields
        done = await console.post(
            "/console/sign-in/new-password",
            data={"password": mine, "confirm": mine, "csrf_token": csrf},
        )
        assert done.status_code == 303 and done.headers["location"] == "/console/"
        assert (await console.get("/api/v1/populations")).status_code == 200
    async with browser(app) as console:
        assert (await post_password(console, email, made["password"])).status_code == 400
        assert (await post_password(console, email, mine)).status_code == 303


async def test_an_integration_is_not_a_person_and_only_admins_manage_people(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    org = await make_org()
    body = {
        "organization": org,
        "role": "integration",
        "email": f"{unique('bot')}@example.org",
        "display_name": "A script",
    }
    admin = bearer(await make_token(Role.ADMIN))
    assert (await client.post("/api/v1/users", json=body, headers=admin)).status_code == 422
    bad = {**body, "role": "viewer", "email": "not an address"}
    assert (await client.post("/api/v1/users", json=bad, headers=admin)).status_code == 422
    coordinator = bearer(await make_token(Role.COORDINATOR, org))
    assert (await client.get("/api/v1/users", headers=coordinator)).status_code == 403


async def test_disabling_ends_the_sessions_and_twice_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    person = await make_person(app, await make_org())
    async with browser(app) as console:
        await enrol(console, person)
        first = await client.post(f"/api/v1/users/{person.id}/disable", headers=admin)
        second = await client.post(f"/api/v1/users/{person.id}/disable", headers=admin)
        assert first.status_code == second.status_code == 200
        assert first.json()["disabled_at"] == second.json()["disabled_at"]
        assert (await console.get("/api/v1/organizations")).status_code == 401
    missing = await client.post(f"/api/v1/users/{unique()}/disable", headers=admin)
    assert missing.status_code == 404


async def test_a_task_s_assignee_user_is_an_enabled_person_of_the_assignee(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    elsewhere = await make_org()
    consul = await make_person(app, embassy, Role.CONSULAR_OFFICER)
    stranger = await make_person(app, elsewhere, Role.CONSULAR_OFFICER)
    crisis = (
        await client.post(
            "/api/v1/crises",
            json={"title": "Floods", "hazard": "flood", "severity": "severe", "zones": ZONE},
            headers=coordinator,
        )
    ).json()
    base = {"crisis_id": crisis["id"], "title": "Call the shelters", "assignee_org": embassy}
    for wrong in (stranger.id, unique("nobody")):
        refused = await client.post(
            "/api/v1/tasks", json={**base, "assignee_user": wrong}, headers=coordinator
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"] == ["body", "assignee_user"]
    made = await client.post(
        "/api/v1/tasks", json={**base, "assignee_user": consul.id}, headers=coordinator
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert task["assignee_user"] == consul.id
    # Moved to another organisation, the person must change too.
    moved = await client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"assignee_org": elsewhere},
        headers={**coordinator, "If-Match": f'"{task["version"]}"'},
    )
    assert moved.status_code == 422
    moved = await client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"assignee_org": elsewhere, "assignee_user": stranger.id},
        headers={**coordinator, "If-Match": f'"{task["version"]}"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_user"] == stranger.id
