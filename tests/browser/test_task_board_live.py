"""The task board live in two browsers: a society's responder and an embassy's officer, each
signed in with their password and second factor; the officer completes the task that the
society's task waits for, and the society's board shows its task open within 2 s, without a
reload (the board's server-sent events, not its polling, which waits 5 s)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Playwright, expect

from service.auth.permissions import Role
from service.db import make_engine, make_sessionmaker
from service.users import totp
from tests.browser.conftest import launch
from tests.browser.guard import Guard
from tests.conftest import bearer
from tests.live import Live
from tests.service.users.helpers import PASSWORD, make_person_in

#: How soon the other board must show a change, in milliseconds.
SOON_MS = 2_000


async def make_person(live: Live, role: Role) -> str:
    """An account of the seeded organisation of ``role``, with a password of its own; its
    e-mail."""
    engine = make_engine(live.database_url)
    try:
        person = await make_person_in(
            make_sessionmaker(engine), live.seeded.organizations[role], role
        )
    finally:
        await engine.dispose()
    return person.email


async def sign_in(page: Page, email: str) -> None:
    """Password, then the second factor set up as a person would: the secret shown, a code of
    it; then the recovery codes, and on to the console."""
    await page.goto("/console/sign-in")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button:has-text('Sign in')")
    secret = await page.text_content("#totp-secret")
    assert secret
    await page.fill("#code", totp.code_at(secret, totp.step_of(time.time())))
    await page.click("button:has-text('Continue')")
    await page.click("a:has-text('Continue')")
    await expect(page).to_have_url(f"{page.url.split('/console/')[0]}/console/")


@pytest.fixture
async def second_browser(
    playwright: Playwright, chromium: str, live: Live, tmp_path: Path
) -> AsyncIterator[BrowserContext]:
    """Another Chromium of its own, watched by a guard of its own."""
    guard = Guard(live.url)
    context = await launch(playwright, chromium, live, tmp_path / "second-profile", guard)
    try:
        yield context
    finally:
        await context.close()
    guard.check()


async def test_a_change_in_one_browser_shows_on_the_other_board_within_two_seconds(
    browser: BrowserContext, second_browser: BrowserContext, live: Live
) -> None:
    admin = bearer(live.seeded.tokens[Role.ADMIN])
    embassy = live.seeded.organizations[Role.CONSULAR_OFFICER]
    society = live.seeded.organizations[Role.SOCIETY_RESPONDER]
    suffix = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=live.url, headers=admin) as api:
        made = {}
        for title, org, after in (
            (f"Count the workers at the port {suffix}", embassy, []),
            (f"Staff the first-aid tent {suffix}", society, None),
        ):
            body = {"crisis_id": live.seeded.crisis_id, "title": title, "assignee_org": org}
            body["after"] = after if after is not None else [made["port"]["id"]]
            answer = await api.post("/api/v1/tasks", json=body)
            assert answer.status_code == 201, answer.text
            made["port" if after is not None else "tent"] = answer.json()
    officer = browser.pages[0] if browser.pages else await browser.new_page()
    responder = await second_browser.new_page()
    await sign_in(officer, await make_person(live, Role.CONSULAR_OFFICER))
    await sign_in(responder, await make_person(live, Role.SOCIETY_RESPONDER))

    await responder.goto("/console/tasks")
    board = responder.locator("#board")
    await expect(board).to_have_attribute("data-live", "on")
    tent = board.locator("tr", has_text=made["tent"]["title"]).locator("td").nth(2)
    await expect(tent).to_have_text("blocked")
    await responder.evaluate("document.body.dataset.untouched = 'yes'")

    await officer.goto(f"/console/tasks/{made['port']['id']}")
    await officer.click("button:has-text('Complete')")
    await expect(officer.locator("#task")).to_contain_text("done")
    started = time.monotonic()
    await expect(tent).to_have_text("open", timeout=SOON_MS)
    print(f"the other board showed the hand-off {time.monotonic() - started:.2f} s later")
    # The same page: nothing reloaded it.
    assert await responder.evaluate("document.body.dataset.untouched") == "yes"


async def test_without_event_source_the_board_polls_as_before(
    browser: BrowserContext, live: Live
) -> None:
    await browser.add_init_script("delete window.EventSource;")
    await browser.set_extra_http_headers(bearer(live.seeded.tokens[Role.SOCIETY_RESPONDER]))
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await page.goto("/console/tasks")
    async with page.expect_request("**/console/tasks/rows?*", timeout=7_000):
        pass
    assert await page.locator("#board").get_attribute("data-live") is None
