"""axe-core on every page a person can reach by following links: from ``/`` without a token, and
from the console (``/console/``) with each seeded role's token; no serious or critical
violation. The console's pages are found by the crawl itself: until ``/console/`` exists, the
crawl covers ``/`` and what it links to only."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import BrowserContext

from service.auth.permissions import Role
from tests.browser.axe import Crawl, crawl, describe
from tests.conftest import bearer
from tests.live import Live

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
    browser: BrowserContext, live: Live, role: Role
) -> None:
    # Until the console has its sign-in, a token in a header is how a browser gets in.
    token = live.seeded.tokens[role]
    async with httpx.AsyncClient(base_url=live.url) as client:
        console = await client.get(CONSOLE, headers=bearer(token))
    if console.status_code == 404:
        pytest.skip(f"no {CONSOLE} on this server: the public pages' crawl covers `/` only")
    await browser.set_extra_http_headers(bearer(token))
    # What is outside the console, `/` and the documentation, the public pages' crawl checks.
    starts = [live.url + CONSOLE]
    check(await crawl(browser, starts, limit=LIMIT, within=CONSOLE), starts)
