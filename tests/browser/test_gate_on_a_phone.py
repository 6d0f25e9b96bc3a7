"""The gate, on a phone: the Philippine consular officer opens the drill's movement on a
phone-sized screen (390 × 844, touch), checks Maricel aboard the bus and off at Port Klang
with a thumb, and reads who is still missing; nothing is wider than the screen and every button
is large enough to press, and axe finds nothing serious; the manifest's PDF downloads. On each
backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect

from tests.browser.axe import FAILING, describe, violations
from tests.browser.conftest import OpenContext
from tests.browser.drill import Drill, seed_drill
from tests.browser.signing_in import sign_in
from tests.conftest import BACKENDS, Databases
from tests.live import Live, live_server

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
#: The least a button a thumb presses may measure, in CSS pixels (WCAG 2.5.5 asks 44).
THUMB = 44


@pytest.fixture(scope="session", params=BACKENDS)
async def gate(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Live[Drill]]:
    database = await databases.create(str(request.param))
    async with live_server(database, seed=seed_drill, crisis_pass_inline=True) as server:
        yield server


async def test_boarding_and_arrival_checked_at_the_gate_on_a_phone(
    contexts: OpenContext, gate: Live[Drill]
) -> None:
    seeded = gate.seeded
    at = f"/console/movements/{seeded.movement_id}"
    phone = await (await contexts(gate, **PHONE)).new_page()
    await sign_in(phone, seeded.phl_officer, at=at)
    leg = phone.locator('section[aria-labelledby="leg-1"]')
    await expect(leg).to_contain_text("3 booked")
    await expect(leg.locator("ul.manifest li")).to_have_count(3)

    found = [describe(v) for v in await violations(phone) if v["impact"] in FAILING]
    assert not found, found
    wide = await phone.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the page is {wide} px wide on a 390 px screen"
    for box in [await b.bounding_box() for b in await leg.get_by_role("button").all()]:
        assert box is not None and box["height"] >= THUMB and box["width"] >= THUMB, box

    maricel = leg.locator("li", has_text="Maricel Dela Cruz")
    await maricel.get_by_role("button", name="Boarded").tap()
    await phone.wait_for_url(f"**{at}*")
    await expect(leg).to_contain_text("1 boarded")
    await (
        leg.locator("li", has_text="Maricel Dela Cruz").get_by_role("button", name="Arrived").tap()
    )
    await phone.wait_for_url(f"**{at}*")
    await expect(leg).to_contain_text("1 arrived")
    await expect(leg.locator("li", has_text="Maricel Dela Cruz")).to_contain_text("arrived")
    # The others have not boarded: the leg says how many, the second leg has nobody aboard yet.
    await expect(leg).to_contain_text("Not boarded: 2")
    await expect(phone.locator('section[aria-labelledby="leg-2"]')).to_contain_text("0 boarded")
    assert "Siti" not in await phone.locator("main").inner_text(), "no Indonesian on this page"

    pdf = await phone.request.get(f"/api/v1/movements/{seeded.movement_id}/manifest?format=pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf", pdf.status
    assert (await pdf.body()).startswith(b"%PDF")
