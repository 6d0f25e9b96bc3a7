"""``GET /api/v1/webhooks`` answers in pages, ``{items, next_cursor}``, like every other list."""

from __future__ import annotations

import httpx

from service.auth.permissions import Role
from tests.conftest import TokenFactory, bearer, unique


async def test_subscriptions_are_listed_in_pages_of_the_caller_s_organisation(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    mine = bearer(await make_token(Role.INTEGRATION))
    other = bearer(await make_token(Role.INTEGRATION))
    made = []
    for _ in range(3):
        answer = await client.post(
            "/api/v1/webhooks",
            json={"url": f"https://receiver.test/{unique('hook')}", "events": ["alert.received"]},
            headers=mine,
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    first = (await client.get("/api/v1/webhooks?limit=2", headers=mine)).json()
    assert [s["id"] for s in first["items"]] == made[:2] and first["next_cursor"]
    assert all(s["secret"] is None for s in first["items"])
    rest = (
        await client.get(f"/api/v1/webhooks?limit=2&cursor={first['next_cursor']}", headers=mine)
    ).json()
    assert [s["id"] for s in rest["items"]] == made[2:] and rest["next_cursor"] is None
    assert (await client.get("/api/v1/webhooks", headers=other)).json() == {
        "items": [],
        "next_cursor": None,
    }
    await client.delete(f"/api/v1/webhooks/{made[0]}", headers=mine)
    left = (await client.get("/api/v1/webhooks", headers=mine)).json()["items"]
    assert [s["id"] for s in left] == made[1:]
