"""Signing in as a person does: a console page asked for without a session, the sign-in form
(e-mail and password), the second factor (a TOTP code), and back on the page first asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page

from tests.browser.guard import origin
from tests.live import Person


async def sign_in(
    page: Page,
    person: Person,
    *,
    at: str = "/console/",
    each: Callable[[Page], Awaitable[None]] | None = None,
) -> None:
    """Open ``at`` (a console path) signed out; sign in as ``person``; end on ``at`` again.
    ``each`` is called on each sign-in page as it is shown (the form, the second factor)."""
    await page.goto(at)
    asked = urlsplit(page.url)
    assert asked.path == "/console/sign-in", f"{at} without a session: {page.url}"
    assert parse_qs(asked.query).get("next") == [at], page.url
    if each is not None:
        await each(page)
    await page.get_by_label("E-mail").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/sign-in/second-factor*")
    if each is not None:
        await each(page)
    await page.get_by_label("Code or recovery code").fill(person.code())
    await page.get_by_role("button", name="Continue").click()
    site = origin(page.url)
    await page.wait_for_url(lambda url: url.removeprefix(site) == at)
