"""Every API route, every role: no token → 401; a role without the right → 403.

The routes are enumerated from the app itself, so a new route is covered without editing this.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from service.app import API_PREFIX, api_routes
from service.auth.dependencies import check_every_route_is_guarded, route_permission, route_signed
from service.auth.permissions import Permission, Role, allowed
from tests.conftest import TokenFactory, bearer

DUMMY_ID = "00000000-0000-0000-0000-000000000000"


def api_calls(app: FastAPI) -> list[tuple[str, str, Permission]]:
    calls = []
    routes = api_routes()
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(API_PREFIX)
        for method in operations
    }
    guarded = {(m, path) for path, r in routes for m in r.methods or ()}
    # An API path served outside the guarded routers would show up here.
    assert documented == guarded
    for path, route in routes:
        permission = route_permission(route)
        if permission is None:
            # Called by a provider, guarded by its signature: tests/service/welfare.
            assert route_signed(route), path
            continue
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", DUMMY_ID)
        for method in sorted(route.methods or ()):
            calls.append((method, path, permission))
    return calls


async def call(
    client: httpx.AsyncClient, method: str, path: str, token: str | None
) -> httpx.Response:
    headers = bearer(token) if token else {}
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return await client.request(method, path, headers=headers, json=body)


async def test_every_route_needs_a_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    calls = api_calls(app)
    assert len(calls) >= 7
    for method, path, _ in calls:
        for headers in (
            {},
            {"Authorization": "Bearer ll_not-a-real-token"},
            {"Authorization": "Basic eDp5"},
        ):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 401
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", list(Role))
async def test_every_route_checks_the_role(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory, role: Role
) -> None:
    token = await make_token(role)
    for method, path, permission in api_calls(app):
        response = await call(client, method, path, token)
        if allowed(role, permission):
            assert response.status_code not in {401, 403}, (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
            assert response.json()["title"] == "Not allowed"


async def test_a_revoked_token_stops_working(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = await make_token(Role.ADMIN)
    victim = (
        await client.post(
            "/api/v1/tokens",
            headers=bearer(admin),
            json={
                "organization": (
                    await client.get("/api/v1/organizations", headers=bearer(admin))
                ).json()["items"][0]["id"],
                "role": "viewer",
            },
        )
    ).json()
    assert (
        await client.get("/api/v1/organizations", headers=bearer(victim["token"]))
    ).status_code == 200
    revoked = await client.delete(f"/api/v1/tokens/{victim['id']}", headers=bearer(admin))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (
        await client.get("/api/v1/organizations", headers=bearer(victim["token"]))
    ).status_code == 401


def test_an_unguarded_route_stops_the_app_from_starting() -> None:
    rogue = APIRouter(prefix=API_PREFIX)

    @rogue.get("/rogue")
    async def rogue_route() -> dict[str, str]:
        return {}

    routes = [
        *api_routes(),
        *((API_PREFIX + r.path, r) for r in rogue.routes if isinstance(r, APIRoute)),
    ]
    with pytest.raises(RuntimeError, match="/rogue"):
        check_every_route_is_guarded(routes)


def test_admin_holds_every_permission_and_integrations_hold_no_directory_read() -> None:
    assert all(allowed(Role.ADMIN, p) for p in Permission)
    assert not allowed(Role.INTEGRATION, Permission.DIRECTORY_READ)
    assert not allowed(Role.VIEWER, Permission.AUDIT_READ)
