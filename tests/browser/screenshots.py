"""Screenshots of what the browser showed, in the test's temporary directory (pytest keeps the
last few runs' directories: the path is printed with the failure)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import BrowserContext, Error, Page


async def screenshot(page: Page, directory: Path, name: str) -> Path:
    """The whole page as ``directory/name.png``."""
    path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    await page.screenshot(path=path, full_page=True)
    print(f"screenshot of {page.url}: {path}")
    return path


async def save_screenshots(context: BrowserContext, directory: Path) -> list[Path]:
    """Each open page of ``context``, for a test that failed; a page that cannot be drawn any
    more is left out rather than hiding the failure behind another."""
    saved = []
    for number, page in enumerate(context.pages, start=1):
        try:
            saved.append(await screenshot(page, directory, f"failure-{number}"))
        except Error as error:
            print(f"no screenshot of {page.url}: {error.message}")
    return saved
