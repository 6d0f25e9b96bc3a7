"""A family's search, on a phone, with no account: the public safe-and-well page finds the
drill's Maricel by her full name and her phone, shows her message, and tells a search with the
wrong fact only "No listing found."; axe finds nothing serious. On each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import expect

from service.auth.permissions import Role
from tests.browser.axe import FAILING, describe, violations
from tests.browser.conftest import OpenContext
from tests.browser.drill import FILIPINOS, Drill, phone, seed_drill
from tests.conftest import BACKENDS, Databases, bearer, make_org_in, make_token_in
from tests.live import Live, live_server

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MESSAGE = "Ligtas ako, Nanay. Nasa kaibigan ako."


async def seed_listed(app: FastAPI) -> Drill:
    """The drill's register, and Maricel recorded safe in a real crisis over Kuala Lumpur (a
    drill's listings never reach the public page) and listed, with her message for her family."""
    drill = await seed_drill(app)
    admin = await make_token_in(app, Role.ADMIN, await make_org_in(app))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as client:
        lat, lon, d = 3.139, 101.6869, 0.2
        ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
                [lon - d, lat - d]]  # fmt: skip
        crisis = await client.post(
            "/api/v1/crises",
            json={"title": "Floods in Kuala Lumpur", "hazard": "flood", "severity": "severe",
                  "zones": {"type": "Polygon", "coordinates": [ring]}},
            headers=bearer(admin),
        )  # fmt: skip
        assert crisis.status_code == 201, crisis.text
        crisis_id = crisis.json()["id"]
        listed = await client.get(f"/api/v1/crises/{crisis_id}/workers", headers=bearer(admin))
        given = FILIPINOS[0][0]
        maricel = next(w["id"] for w in listed.json()["items"] if w.get("given_name") == given)
        safe = await client.post(
            f"/api/v1/crises/{crisis_id}/welfare/{maricel}",
            json={"outcome": "safe", "how": "call"},
            headers=bearer(admin),
        )
        assert safe.status_code in (200, 201), safe.text
        made = await client.post(
            "/api/v1/safe-and-well",
            json={"worker_id": maricel, "crisis_id": crisis_id, "agreed_via": "call",
                  "message": MESSAGE},
            headers=bearer(admin),
        )  # fmt: skip
        assert made.status_code == 201 and made.json()["exercise"] is False, made.text
    return drill


@pytest.fixture(scope="session", params=BACKENDS)
async def listed(
    request: pytest.FixtureRequest, databases: Databases
) -> AsyncIterator[Live[Drill]]:
    database = await databases.create(str(request.param))
    async with live_server(database, seed=seed_listed, crisis_pass_inline=True) as server:
        yield server


async def test_a_family_finds_their_relative_on_a_phone(
    contexts: OpenContext, listed: Live[Drill]
) -> None:
    page = await (await contexts(listed, **PHONE)).new_page()
    await page.goto("/")
    await page.locator('a[href="/safe-and-well"]').tap()
    await page.wait_for_url("**/safe-and-well")
    given, family = FILIPINOS[0]
    await page.get_by_label("Full name").fill(f"{family}, {given}")
    await page.get_by_label("Their phone, in international form (+63...)").fill(phone("PHL", 0))
    await page.get_by_role("button", name="Search").tap()
    answer = page.locator('section[aria-labelledby="answer"]')
    await expect(answer).to_contain_text("Listed as safe and well on")
    await expect(answer.locator("blockquote")).to_have_text(MESSAGE)
    found = [describe(v) for v in await violations(page) if v["impact"] in FAILING]
    assert not found, found
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, wide

    await page.get_by_label("Full name").fill(f"{given} {family}")
    await page.get_by_label("Their phone, in international form (+63...)").fill(phone("PHL", 1))
    await page.get_by_role("button", name="Search").tap()
    await expect(answer).to_contain_text("No listing found.")
    await expect(answer.locator("blockquote")).to_have_count(0)
