"""Feed benchmark: parsing and normalising real feeds, and what a re-poll with nothing new costs.

    python bench/feeds.py

Prints items per second for the GDACS 24-hour RSS and the USGS day feed (parse + normalise,
best of several runs), then polls both feeds twice through the service's poller against a local
mock server on SQLite and counts the rows the second poll writes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from integrations import gdacs, usgs  # noqa: E402
from service.db import make_engine, make_sessionmaker  # noqa: E402
from service.feeds.config import FeedConfig  # noqa: E402
from service.feeds.poller import poll_feed  # noqa: E402
from service.migrate import upgrade  # noqa: E402

FEEDS = ROOT / "tests" / "fixtures" / "feeds"
TABLES = ("alerts", "alert_versions", "alert_aliases", "audit_events")


def rate(name: str, parse: object, content: bytes, runs: int = 30) -> None:
    best = float("inf")
    items = 0
    for _ in range(runs):
        started = time.perf_counter()
        items = len(parse(content))  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    print(
        f"  {name:<28} {items:>5} items  {best * 1000:>7.2f} ms  {items / best:>10,.0f} items/s (target >= 2,000)"
    )


async def repoll() -> None:
    routes = {
        "/gdacs.xml": (FEEDS / "gdacs" / "gdacs-rss-24h.xml").read_bytes(),
        "/usgs.json": (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes(),
    }

    def serve(request: httpx.Request) -> httpx.Response:  # no ETag: the worst case, a full re-read
        body = routes.get(request.url.path)
        return httpx.Response(200, content=body) if body else httpx.Response(404)

    feeds = (
        FeedConfig(name="gdacs-bench", kind="gdacs_rss", url="https://feeds.test/gdacs.xml"),
        FeedConfig(name="usgs-bench", kind="usgs", url="https://feeds.test/usgs.json"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await upgrade(engine)
        maker = make_sessionmaker(engine)

        async def counts() -> dict[str, int]:
            async with engine.connect() as conn:
                return {
                    t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one())
                    for t in TABLES
                }

        async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as client:
            for label in ("first poll", "second poll, nothing new"):
                before = await counts()
                started = time.perf_counter()
                outcomes = [await poll_feed(engine, maker, client, f) for f in feeds]
                seconds = time.perf_counter() - started
                after = await counts()
                written = {t: after[t] - before[t] for t in TABLES}
                items = sum(o.items for o in outcomes)
                print(
                    f"  {label:<28} {items:>5} items  {seconds * 1000:>7.1f} ms  rows written: {written}"
                )
        await engine.dispose()
    print("  (each poll also updates its feed's one health row: last success, items seen)")


def main() -> None:
    print("# Parse and normalise (bytes to normalised alerts)")
    rate(
        "GDACS RSS, last 24 h",
        gdacs.parse_rss,
        (FEEDS / "gdacs" / "gdacs-rss-24h.xml").read_bytes(),
    )
    rate(
        "USGS all earthquakes, day",
        usgs.parse_summary,
        (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes(),
    )
    print("\n# Poll, store, and poll again (SQLite)")
    asyncio.run(repoll())


if __name__ == "__main__":
    main()
