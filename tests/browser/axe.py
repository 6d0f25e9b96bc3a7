"""Accessibility checks with axe-core (vendored in ``vendor/axe-core/``, MPL-2.0, see NOTICE),
run inside the page as it is shown: the serious and critical violations of a page, and a crawl
that checks every page reached by same-origin links."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

from playwright.async_api import BrowserContext, Page

from tests.browser.guard import origin

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
#: What fails a page; moderate and minor findings are printed, not failed.
FAILING = {"serious", "critical"}


@cache
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


#: Resolves once the page's document has not changed for a moment (a script that draws the page
#: after it loaded, as Swagger UI does, has finished), or after a few seconds.
SETTLED = """() => new Promise(resolve => {
  let quiet;
  const observer = new MutationObserver(() => { clearTimeout(quiet); quiet = setTimeout(done, 300); });
  function done() { observer.disconnect(); resolve(); }
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  quiet = setTimeout(done, 300);
  setTimeout(done, 5000);
})"""


async def violations(page: Page, *, skip: Collection[str] = ()) -> list[dict[str, Any]]:
    """axe-core's violations of the page once it has settled, but for the rules in ``skip``.
    Evaluated by the browser's debugging protocol, the script is not subject to the page's
    Content-Security-Policy."""
    await page.evaluate(SETTLED)
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    options = {"resultTypes": ["violations"], "rules": {r: {"enabled": False} for r in skip}}
    found: list[dict[str, Any]] = await page.evaluate(
        "async options => (await axe.run(document, options)).violations", options
    )
    return found


def describe(violation: dict[str, Any]) -> str:
    nodes = violation["nodes"]
    return (
        f"{violation['impact']} {violation['id']}: {violation['help']} ({violation['helpUrl']}), "
        f"{len(nodes)} elements: " + ", ".join(str(node["target"]) for node in nodes[:5])
    )


@dataclass
class Crawl:
    """Pages visited, each with the serious and critical violations axe found on it."""

    failing: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    #: Same-origin URLs that answer something other than an HTML page: not checked.
    other: list[str] = field(default_factory=list)


async def crawl(
    context: BrowserContext,
    starts: list[str],
    *,
    limit: int,
    within: str = "/",
    skip: Mapping[str, Collection[str]] | None = None,
) -> Crawl:
    """From each URL of ``starts``, every page reached by following same-origin links (an
    ``<a href>``) to paths under ``within``, breadth first, each checked by axe once it has
    loaded, but for the rules ``skip`` names for its path. What answers other than HTML (JSON,
    a CSV download) is fetched, not shown. More than ``limit`` pages fails: the crawl is kept
    within the test run's time."""
    site = origin(starts[0])
    skip = skip or {}
    queue = [urldefrag(url).url for url in starts]
    seen = set(queue)
    done = Crawl()
    page = await context.new_page()
    while queue:
        url = queue.pop(0)
        answer = await context.request.get(url, max_redirects=5)
        assert answer.ok, f"{url}: {answer.status} {answer.status_text}"
        if not answer.headers.get("content-type", "").startswith("text/html"):
            done.other.append(url)
            continue
        assert len(done.visited) < limit, f"more than {limit} pages from {starts}"
        shown = await page.goto(url)
        assert shown is not None and shown.ok, f"{url}: {shown and shown.status}"
        done.visited.append(url)
        found = await violations(page, skip=skip.get(urlsplit(url).path, ()))
        failing = [v for v in found if v["impact"] in FAILING]
        if failing:
            done.failing[url] = failing
        links: list[str] = await page.eval_on_selector_all(
            "a[href]", "links => links.map(link => link.href)"
        )
        for link in links:
            target = urldefrag(link).url
            inside = origin(target) == site and urlsplit(target).path.startswith(within)
            if inside and target not in seen:
                seen.add(target)
                queue.append(target)
    await page.close()
    return done
