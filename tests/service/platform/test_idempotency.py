"""Idempotency-Key: a retried write gets the first answer; the key cannot be reused for another."""

from __future__ import annotations

import httpx

from service.auth.permissions import Role
from tests.conftest import TokenFactory, bearer, unique


async def test_a_retried_write_gets_the_first_answer(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = {**bearer(await make_token(Role.ADMIN)), "Idempotency-Key": unique("key")}
    body = {"slug": unique("ngo"), "name": "Migrant help desk", "kind": "ngo", "country": "SGP"}
    first = await client.post("/api/v1/organizations", json=body, headers=headers)
    again = await client.post("/api/v1/organizations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post(
        "/api/v1/organizations", json={**body, "name": "Another"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")


async def test_keys_are_scoped_to_the_caller(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    key = unique("shared-key")
    body = {"slug": unique("ngo"), "name": "Shelter", "kind": "ngo", "country": "SGP"}
    one = await client.post(
        "/api/v1/organizations",
        json=body,
        headers={**bearer(await make_token(Role.ADMIN)), "Idempotency-Key": key},
    )
    two = await client.post(
        "/api/v1/organizations",
        json=body,
        headers={**bearer(await make_token(Role.ADMIN)), "Idempotency-Key": key},
    )
    assert one.status_code == 201
    assert two.status_code == 200  # the domain's own idempotence, not a replay
    assert "idempotent-replayed" not in two.headers
