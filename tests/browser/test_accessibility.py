"""axe-core on every page a person can reach by following links: from ``/`` signed out, and from
the console (``/console/``) signed in as a person of each seeded role, through the sign-in pages
(password and TOTP) with the session cookie they give; no serious or critical violation. The
console's pages are found by the crawl itself."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, Page

from service.auth.permissions import Role
from tests.browser.axe import FAILING, Crawl, crawl, describe, violations
from tests.browser.signing_in import sign_in
from tests.live import Live, Seeded

CONSOLE = "/console/"
#: The most pages one crawl checks: a seeded server has a few of each kind.
LIMIT = 80
#: Rules not run on the documentation pages, drawn by Swagger UI 5 and ReDoc 2 as the
#: fastapi-offline package ships them: their colours (too little contrast in many places, and
#: the costliest rule on ReDoc's long page), Swagger UI's buttons inside buttons and ReDoc's
#: unnamed media-type menus are theirs, not ours to restyle. Every other rule runs there, and
#: every rule runs on every other page, the console's above all.
RENDERERS = {
    "/docs": {"color-contrast", "nested-interactive"},
    "/redoc": {"color-contrast", "select-name"},
}


def check(done: Crawl, starts: list[str]) -> None:
    print(f"\n{len(done.visited)} pages checked from {starts}: {done.visited}")
    failing = [f"{url}: {describe(v)}" for url, found in done.failing.items() for v in found]
    assert not failing, "serious or critical accessibility violations:\n" + "\n".join(failing)


async def test_the_public_pages_are_accessible(browser: BrowserContext, live: Live) -> None:
    starts = [live.url + "/"]
    done = await crawl(browser, starts, limit=LIMIT, skip=RENDERERS)
    assert {"/", "/docs", "/redoc"} <= {url.removeprefix(live.url) for url in done.visited}
    check(done, starts)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER])
async def test_the_console_pages_are_accessible(
    browser: BrowserContext, page: Page, live: Live[Seeded], role: Role
) -> None:
    # Signed out, the console sends the browser to sign in: each of its pages checked on the way.
    async def accessible(shown: Page) -> None:
        found = [describe(v) for v in await violations(shown) if v["impact"] in FAILING]
        assert not found, f"{shown.url}: {found}"

    await sign_in(page, live.seeded.people[role], at=CONSOLE, each=accessible)
    # What is outside the console, `/` and the documentation, the public pages' crawl checks.
    # The crawl's requests carry the session's cookie, as the pages' do.
    starts = [live.url + CONSOLE]
    check(await crawl(browser, starts, limit=LIMIT, within=CONSOLE), starts)
