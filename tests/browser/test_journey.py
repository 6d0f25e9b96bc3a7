"""The console end to end, in Chromium, on each backend: a drill opened by a CAP push, worked by
the Philippine embassy's consular officer from sign-in to the task that hands work to the
Philippine labour ministry, whose officer finds it on their board; the Indonesian embassy's
officer, meanwhile, sees none of the Filipinos. Three people, three browser contexts."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from integrations.messaging.drill import SIGNATURE_HEADER, sign
from service.console.pages.tasks import REFRESH_S
from tests.browser.conftest import OpenContext
from tests.browser.drill import Drill, phone, seed_drill
from tests.browser.signing_in import sign_in
from tests.conftest import BACKENDS, Databases, settings_for
from tests.live import Live, live_server

#: The stroke ``map.js`` draws each layer with: how its SVG paths are told apart.
STROKES = {"country": "#5b6470", "province": "#1f3f73", "hazard": "#b35900", "zone": "#a01818"}


@pytest.fixture(scope="session", params=BACKENDS)
async def drill(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Live[Drill]]:
    """A live server of its own, seeded with the drill, the crisis pass running on each push
    as it does in a deployment."""
    database = await databases.create(str(request.param))
    async with live_server(database, seed=seed_drill, crisis_pass_inline=True) as server:
        yield server


async def open_page(contexts: OpenContext, server: Live[Drill]) -> Page:
    return await (await contexts(server)).new_page()


async def check_map(page: Page, crisis: str) -> None:
    """Each layer of the crisis's map drawn: one SVG path a feature, the current zone among
    them and the provinces hit shaded."""
    answer = await page.request.get(f"{crisis}/map.json")
    assert answer.ok, answer.status
    features = (await answer.json())["features"]
    wanted = {layer: 0 for layer in STROKES}
    for f in features:
        layer = f["properties"]["layer"]
        if layer in wanted and (layer != "zone" or f["properties"].get("latest")):
            wanted[layer] += 1
    assert wanted["zone"] == 1 and wanted["province"] >= 1 and wanted["country"] >= 1, wanted
    for layer, count in wanted.items():
        await expect(page.locator(f'#map path[stroke="{STROKES[layer]}"]')).to_have_count(count)
    shaded = page.locator(f'#map path[stroke="{STROKES["province"]}"]')
    opacity = float(await shaded.first.get_attribute("fill-opacity") or 0)
    assert opacity > 0.15, "the province hit is shaded for its exposed workers"


async def test_a_cap_drill_worked_from_sign_in_to_the_labour_ministry_s_board(
    contexts: OpenContext, drill: Live[Drill]
) -> None:
    started = time.monotonic()
    seeded = drill.seeded
    crisis = f"/console/crises/{seeded.crisis_id}"

    # The Philippine consular officer asks for a page signed out, signs in, and is back on it.
    officer = await open_page(contexts, drill)
    await sign_in(officer, seeded.phl_officer, at="/console/alerts")
    await expect(officer.locator("main")).to_contain_text("Flash floods in the Klang Valley")

    # The Now page lists the drill among the drills, marked, and no real crisis.
    await officer.get_by_role("navigation", name="Console").get_by_role("link", name="Now").click()
    await officer.wait_for_url("**/console/")
    panel = officer.locator('section[aria-labelledby="open-crises"]')
    await expect(panel.locator("ul").first).to_have_text("No open crisis.")
    listed = panel.locator(f'h3 + ul li:has(a[href="{crisis}"])')
    await expect(listed.locator(".tag.drill")).to_have_text("drill")

    # The crisis, its map drawn, and the officer's nationals by name.
    await listed.get_by_role("link").click()
    await officer.wait_for_url(f"**{crisis}")
    await expect(officer.locator(".notice")).to_contain_text("This is a drill")
    await check_map(officer, crisis)
    await officer.get_by_role("link", name="My nationals in the zone").click()
    await officer.wait_for_url(f"**{crisis}/people")
    people = officer.locator("table tbody")
    for name in seeded.filipino_names:
        await expect(people).to_contain_text(name)
    for name in seeded.indonesian_names:
        await expect(people).not_to_contain_text(name)

    # The Philippine labour ministry's officer, in a browser of their own, has the board open:
    # the transport home waits for the embassy's manifest.
    ministry = await open_page(contexts, drill)
    await sign_in(ministry, seeded.phl_ministry, at="/console/tasks")
    ours = ministry.locator("#board table").first
    waiting = ours.locator(f'tr:has(a[href="/console/tasks/{seeded.transport}"]) td').nth(2)
    await expect(waiting).to_have_text("blocked")

    # The officer works the manifest through: acknowledged, started, completed.
    await officer.goto(crisis)
    await officer.locator(f'a[href="/console/tasks/{seeded.manifest}"]').click()
    task = officer.locator("#task")
    status = task.locator("dd").first
    for button, now in (
        ("Acknowledge", "acknowledged"),
        ("Start", "in progress"),
        ("Complete", "done"),
    ):
        await task.get_by_role("button", name=button, exact=True).click()
        await expect(status).to_have_text(now)
    # Done, it hands the transport home on: the embassy's board says so...
    await officer.goto("/console/tasks")
    handed = officer.locator(f'#board tr:has(a[href="/console/tasks/{seeded.transport}"])')
    await expect(handed).to_have_count(1)
    await expect(handed.locator("td").nth(2)).to_have_text("open")
    # ...and the ministry's board, refreshing itself, shows it open, without a reload.
    await expect(waiting).to_have_text("open", timeout=3 * REFRESH_S * 1000)

    # The Indonesian embassy's officer sees their own nationals, and no Filipino anywhere.
    other = await open_page(contexts, drill)
    await sign_in(other, seeded.idn_officer, at=f"{crisis}/people")
    for name in seeded.indonesian_names:
        await expect(other.locator("table tbody")).to_contain_text(name)
    for path in (f"{crisis}/people", crisis):
        await other.goto(path)
        # What the page shows, and what its HTML holds besides (attributes, hidden parts).
        shown = await other.locator("body").inner_text() + await other.content()
        for given, family in (
            (n.split()[0], n.split(maxsplit=1)[1]) for n in seeded.filipino_names
        ):
            assert given not in shown and family not in shown, (path, given, family)
    print(f"\njourney on {drill.database_url.split(':')[0]}: {time.monotonic() - started:.1f} s")


async def test_a_welfare_check_previewed_sent_and_an_unclear_reply_read(
    contexts: OpenContext, drill: Live[Drill]
) -> None:
    """The Philippine officer previews a welfare check of the drill (three nationals, the
    Filipino text, its SMS length), sends it; a reply nobody can read with certainty waits in
    the officer's queue, who records it as safe; the welfare page counts it."""
    seeded = drill.seeded
    welfare = f"/console/crises/{seeded.crisis_id}/welfare"
    officer = await open_page(contexts, drill)
    await sign_in(officer, seeded.phl_officer, at=welfare)
    await officer.get_by_label("Reminder to the silent ones after (hours; 0: none)").fill("2")
    await officer.get_by_role("button", name="Preview").click()
    main = officer.locator("main")
    await expect(main).to_contain_text("First messages: 3")
    await expect(main).to_contain_text("drill gateway")
    await expect(officer.locator('td[lang="tl"]').first).to_contain_text("LIGTAS")
    await officer.get_by_role("button", name="Send to 3 people").click()
    await officer.wait_for_url(f"**{welfare}")
    running = officer.locator("table").first
    await expect(running).to_contain_text("running")
    await expect(running.locator("tbody tr td").nth(3)).to_have_text("3")

    # Maricel answers in words nobody should guess at.
    secret = settings_for(drill.database_url).messages_drill_secret
    body = json.dumps(
        {"id": f"drill-{time.monotonic_ns()}", "from": phone("PHL", 0), "text": "ano po ito?"}
    ).encode()
    answered = await officer.request.post(
        f"{drill.url}/api/v1/messages/inbound/drill",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
    )
    assert answered.ok and (await answered.json())["to_read"] == 1, await answered.text()

    await (
        officer.get_by_role("navigation", name="Console")
        .get_by_role("link", name="Messages to read")
        .click()
    )
    await officer.wait_for_url("**/console/messages")
    row = officer.locator("tbody tr", has_text="ano po ito?")
    await row.get_by_label("Outcome").select_option("safe")
    await row.get_by_label("Note").fill("called back: safe at a friend's")
    await row.get_by_role("button", name="Record").click()
    await officer.wait_for_url("**/console/messages")
    await expect(officer.locator("main")).to_contain_text("Nothing waits to be read.")
    await officer.goto(f"{welfare}?status=safe")
    await expect(officer.locator("main table").last).to_contain_text("called back: safe")
