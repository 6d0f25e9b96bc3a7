"""The browser tests' fixtures: Playwright driving the system's Chromium (``LIFELINE_CHROMIUM``,
by default Debian's ``/usr/bin/chromium``; Playwright's own browser download is never used), a
live server per backend, and a guard on every page: a request to any host but the live server,
or an error in a page's console, fails the test. On a failure each open page is saved as a
screenshot in the test's temporary directory.

The tests are marked ``browser``: ``make test`` runs them once, after the seeded runs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright, expect

from tests.browser.guard import Guard
from tests.browser.screenshots import save_screenshots
from tests.conftest import BACKENDS, Databases
from tests.live import Live, live_server

CHROMIUM = os.environ.get("LIFELINE_CHROMIUM", "/usr/bin/chromium")
#: Headless, no sandbox (the tests run as root in CI), and nothing Chromium would fetch for
#: itself: on a closed network its background connections fail, and each failure is noise.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
#: How long one action or navigation may take before it fails, in milliseconds.
TIMEOUT_MS = 15_000
#: And an ``expect`` the same: its default (5 s) is short for a busy machine.
expect.set_options(timeout=TIMEOUT_MS)
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is marked ``browser``, before ``-m`` selects."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # The outcome of the test itself, for the fixtures' teardown to see.
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium to drive; its absence fails the browser tests, it never skips them."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: the browser tests need one. On Debian, as "
            "root: `apt-get install chromium` (`.ci/run` does it); elsewhere set "
            "LIFELINE_CHROMIUM to a Chromium or Chrome executable. Never `playwright install`.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session", params=BACKENDS)
async def live(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Live]:
    """The seeded app on a database of its own, served on a free port of the loopback."""
    async with live_server(await databases.create(str(request.param))) as server:
        yield server


@pytest.fixture
def guard(live: Live) -> Guard:
    """What the test's browser asked of other hosts and printed as errors: none, or it fails."""
    return Guard(live.url)


async def launch(
    playwright: Playwright, chromium: str, live: Live, profile: Path, guard: Guard
) -> BrowserContext:
    """A headless Chromium on the fresh profile ``profile``, watched by ``guard``."""
    context = await playwright.chromium.launch_persistent_context(
        profile,
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_FLAGS,
        base_url=live.url,
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(TIMEOUT_MS)
    await guard.watch(context)
    return context


@pytest.fixture
async def browser(
    playwright: Playwright,
    chromium: str,
    live: Live,
    guard: Guard,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[BrowserContext]:
    """A headless Chromium of the test's own, on a fresh profile, every request and console
    message of its pages watched by a ``Guard``. Relative URLs go to the live server."""
    context = await launch(playwright, chromium, live, tmp_path / "profile", guard)
    try:
        yield context
        if request.node.stash.get(FAILED, False) or guard.problems:
            await save_screenshots(context, tmp_path)
    finally:
        await context.close()
    guard.check()


@pytest.fixture
async def page(browser: BrowserContext) -> Page:
    """The browser's first tab."""
    return browser.pages[0] if browser.pages else await browser.new_page()


#: Opens a browser context on a live server: ``await open_context(server)``, with Playwright's
#: context options if any (``viewport``, ``is_mobile``...).
OpenContext = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def contexts(
    playwright: Playwright, chromium: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[OpenContext]:
    """Browser contexts of one headless Chromium, each with cookies of its own (a person each),
    on the live server it is opened for and watched by a ``Guard`` of that server, as
    ``browser`` is; a failed test leaves screenshots of each context's pages."""
    chromium_browser = await playwright.chromium.launch(
        executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
    )
    opened: list[tuple[BrowserContext, Guard]] = []

    async def open_context(server: Live[Any], **options: Any) -> BrowserContext:
        context = await chromium_browser.new_context(
            base_url=server.url, locale="en-GB", timezone_id="UTC", **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        guard = Guard(server.url)
        await guard.watch(context)
        opened.append((context, guard))
        return context

    try:
        yield open_context
        failed = request.node.stash.get(FAILED, False)
        for number, (context, guard) in enumerate(opened, start=1):
            if failed or guard.problems:
                directory = tmp_path / f"context-{number}"
                directory.mkdir(exist_ok=True)
                await save_screenshots(context, directory)
    finally:
        for context, _ in opened:
            await context.close()
        await chromium_browser.close()
    for _, guard in opened:
        guard.check()
