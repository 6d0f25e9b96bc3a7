"""The directory through the API: create, idempotence, conflicts, validation, pagination."""

from __future__ import annotations

import httpx

from service.auth.permissions import Role
from tests.conftest import TokenFactory, bearer, unique


def embassy(slug: str, **extra: object) -> dict[str, object]:
    return {
        "slug": slug,
        "name": "Embassy of the Philippines, Kuala Lumpur",
        "kind": "embassy",
        "country": "MYS",
        "represents": "PHL",
        "jurisdiction": ["MYS", "BRN"],
        **extra,
    }


async def test_create_then_read_by_id_and_slug(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    slug = unique("phl-embassy")
    created = await client.post("/api/v1/organizations", json=embassy(slug), headers=admin)
    assert created.status_code == 201, created.text
    org = created.json()
    assert org["slug"] == slug
    assert org["jurisdiction"] == ["BRN", "MYS"]
    by_id = await client.get(f"/api/v1/organizations/{org['id']}", headers=admin)
    by_slug = await client.get(f"/api/v1/organizations/{slug}", headers=admin)
    assert by_id.json() == by_slug.json() == org


async def test_the_same_organisation_twice_changes_nothing(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    body = embassy(unique("phl-embassy"))
    first = await client.post("/api/v1/organizations", json=body, headers=admin)
    again = await client.post("/api/v1/organizations", json=body, headers=admin)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = await client.post(
        "/api/v1/organizations", json={**body, "name": "Another name"}, headers=admin
    )
    assert other.status_code == 409
    assert other.json()["existing_id"] == first.json()["id"]


async def test_bad_input_is_refused_with_every_problem_located(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    slug = unique("bad")
    response = await client.post(
        "/api/v1/organizations",
        json={"slug": slug, "name": "X Y", "kind": "embassy", "country": "ZZZ", "acts_for": ["PH"]},
        headers=admin,
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert ("body", "country") in locs
    assert ("body", "acts_for", 0) in locs
    # nothing half-written
    assert (await client.get(f"/api/v1/organizations/{slug}", headers=admin)).status_code == 404

    no_represents = await client.post(
        "/api/v1/organizations",
        json={"slug": slug, "name": "Embassy", "kind": "embassy", "country": "MYS"},
        headers=admin,
    )
    assert no_represents.status_code == 422
    assert "represents" in no_represents.text


async def test_list_is_paginated_and_filtered(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    represents = "TLS"  # a nationality no other test uses
    slugs = {unique("tls-embassy") for _ in range(5)}
    for slug in slugs:
        body = embassy(slug, represents=represents)
        assert (
            await client.post("/api/v1/organizations", json=body, headers=admin)
        ).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"represents": represents, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/organizations", params=params, headers=admin)).json()
        seen += [o["slug"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert slugs <= set(seen)
    assert all(o.startswith("tls-embassy") for o in seen)
    bad = await client.get("/api/v1/organizations", params={"cursor": "!!!"}, headers=admin)
    assert bad.status_code == 422
    too_many = await client.get("/api/v1/organizations", params={"limit": 501}, headers=admin)
    assert too_many.status_code == 422


async def test_unknown_organisation_is_a_404_problem(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    viewer = bearer(await make_token(Role.VIEWER))
    response = await client.get("/api/v1/organizations/nobody-here", headers=viewer)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")
