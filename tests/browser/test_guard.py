"""The guard of the browser tests sees what it must: a request to another host (refused before
it leaves) and an error in a page's console, each failing the test that caused it."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.browser.guard import Guard


async def test_a_request_to_another_host_is_refused_and_fails_the_test(
    page: Page, guard: Guard
) -> None:
    # A page without a Content-Security-Policy (`/` has one, which would refuse it first).
    await page.goto("/docs")
    fetched = await page.evaluate(
        "() => fetch('http://lifeline.invalid/x').then(() => 'sent', () => 'refused')"
    )
    assert fetched == "refused"
    assert guard.foreign == ["GET http://lifeline.invalid/x"]
    with pytest.raises(AssertionError, match="request to another host"):
        guard.check()
    # The live server's own pages pass.
    guard.foreign.clear()
    guard.errors.clear()
    await page.goto("/")
    guard.check()


async def test_a_console_error_fails_the_test(page: Page, guard: Guard) -> None:
    await page.goto("/")
    await page.evaluate("() => console.error('something broke')")
    await page.evaluate("() => setTimeout(() => { throw new Error('uncaught') })")
    await page.wait_for_timeout(100)
    assert any("something broke" in e for e in guard.errors), guard.errors
    assert any("uncaught" in e for e in guard.errors), guard.errors
    with pytest.raises(AssertionError, match="console error"):
        guard.check()
    guard.errors.clear()
