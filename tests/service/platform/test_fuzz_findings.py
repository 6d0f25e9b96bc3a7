"""What the contract fuzzing found, each pinned by a test of its own."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from tests.conftest import TokenFactory, bearer, unique


async def test_an_anonymous_write_with_a_key_is_a_401_whatever_came_before(
    client: httpx.AsyncClient,
) -> None:
    key = {"Idempotency-Key": unique("k")}
    first = await client.post("/api/v1/tokens", json={}, headers=key)
    again = await client.delete("/api/v1/workers/none", headers=key)
    assert (first.status_code, again.status_code) == (401, 401), again.text


async def test_a_method_no_route_takes_is_a_405_even_with_a_used_key(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = {**bearer(await make_token(Role.ADMIN)), "Idempotency-Key": unique("k")}
    await client.post("/api/v1/tasks", json={}, headers=headers)
    response = await client.put("/api/v1/tasks", json={}, headers=headers)
    assert response.status_code == 405, response.text


async def test_allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    for path, allow in (
        ("/api/v1/workers/x", "DELETE, GET, PATCH"),
        ("/api/v1/playbooks/validate", "POST"),
        ("/api/v1/tasks", "GET, POST"),
    ):
        response = await client.options(path)
        assert response.status_code == 405
        assert response.headers["allow"] == allow, path


async def test_instants_are_rfc_3339_text_not_numbers(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    for path, name in (("/api/v1/audit", "since"), ("/api/v1/tasks", "due_before")):
        refused = await client.get(path, params={name: "0.5"}, headers=admin)
        assert refused.status_code == 422, refused.text
        taken = await client.get(path, params={name: "2026-11-20T10:00:00Z"}, headers=admin)
        assert taken.status_code == 200, taken.text


async def test_the_document_says_what_the_service_checks(app: FastAPI) -> None:
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    patch = spec["paths"]["/api/v1/workers/{id}"]["patch"]
    if_match = next(p for p in patch["parameters"] if p["name"].lower() == "if-match")
    assert if_match["required"] is True and if_match["schema"]["pattern"]
    country = re.compile(schemas["WorkerCreate"]["properties"]["nationality"]["pattern"])
    assert country.match("PHL") and not country.match("PHX")
    assert schemas["SubscriptionCreate"]["properties"]["url"]["maxLength"] == 900
    assert "task.updated" in schemas["SubscriptionCreate"]["properties"]["events"]["items"]["enum"]


async def test_a_malformed_if_match_is_refused_as_the_pattern_says(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    for if_match in ("+3", "3_0", "W/x"):
        response = await client.patch(
            "/api/v1/tasks/none", json={}, headers={**admin, "If-Match": if_match}
        )
        assert response.status_code == 422, (if_match, response.text)


async def test_a_control_character_in_the_url_is_a_problem_not_a_database_error(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    # PostgreSQL refuses NUL in text: `?phase=%00` reached the query and answered 500 there.
    viewer = bearer(await make_token(Role.VIEWER))
    for path, params in (
        ("/api/v1/crises", {"phase": "\x00"}),
        ("/api/v1/crises", {"hazard": "eq\x1b"}),
        ("/api/v1/tasks", {"\x00": "x"}),
        ("/api/v1/audit", {"subject_id": "8\x15"}),
        ("/api/v1/workers", {"admin1": "Bangkok\x7f"}),
    ):
        response = await client.get(path, params=params, headers=viewer)
        assert response.status_code == 422, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # A path with a control character names nothing: 404, the same as any unknown id.
    for path in ("/api/v1/directory/organizations/a%00b", "/api/v1/workers/x%18y"):
        response = await client.get(path, headers=viewer)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["type"].endswith("/not-found")
    # Text a person types, percent-encoded or not, passes.
    taken = await client.get("/api/v1/crises", params={"hazard": "earth quake é"}, headers=viewer)
    assert taken.status_code in (200, 422), taken.text
    assert "control character" not in taken.text
