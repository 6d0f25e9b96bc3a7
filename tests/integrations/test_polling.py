"""Polling through httpx.MockTransport: conditional GET, failures sorted, backoff, isolation."""

from __future__ import annotations

import asyncio
import gzip
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations import eonet, pdc, reliefweb, usgs
from integrations.alert import Alert, MsgType
from integrations.errors import PayloadError, PermanentFeedError, TransientFeedError
from integrations.polling import (
    USER_AGENT,
    FeedConfig,
    FeedKind,
    FeedState,
    PollOutcome,
    PollResult,
    ServerBusy,
    next_delay,
    poll_feeds,
    poll_once,
)

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
USGS_DAY = (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes()
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
USGS_URL = "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_day.geojson"
ETAG = '"5be2c1-7b4a"'
LAST_MODIFIED = "Sun, 16 Sep 2018 04:11:07 GMT"

Handler = Callable[[httpx.Request], Any]


def usgs_config(**changes: Any) -> FeedConfig:
    values: dict[str, Any] = {"name": "usgs-all-day", "kind": FeedKind.USGS, "url": USGS_URL}
    values.update(changes)
    return FeedConfig(**values)


def raising(error: type[httpx.TransportError]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        raise error("no answer", request=request)

    return handle


def client_for(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def usgs_server(seen: list[httpx.Request]) -> Handler:
    """Serves the real day feed with validators, and 304 to a request that sends them back."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == ETAG:
            return httpx.Response(304, headers={"ETag": ETAG})
        return httpx.Response(
            200,
            content=USGS_DAY,
            headers={
                "ETag": ETAG,
                "Last-Modified": LAST_MODIFIED,
                "Content-Type": "application/json",
            },
        )

    return handle


async def test_200_then_304_with_the_etag() -> None:
    seen: list[httpx.Request] = []
    config = usgs_config()
    async with client_for(usgs_server(seen)) as client:
        first = await poll_once(client, config, FeedState(), usgs.parse_summary, now=NOW)
        later = NOW + timedelta(minutes=5)
        second = await poll_once(client, config, first.state, usgs.parse_summary, now=later)
    assert first.outcome is PollOutcome.UPDATED and first.error is None
    assert len(first.alerts) == 188
    assert first.alerts[0].external_id == "ak20255160"
    assert first.alerts[0].fetch == first.fetch
    assert first.fetch is not None and first.fetch.url == USGS_URL
    assert (first.fetch.status_code, first.fetch.etag) == (200, ETAG)
    assert first.fetch.fetched_at == NOW
    assert first.state == FeedState(
        etag=ETAG,
        last_modified=LAST_MODIFIED,
        last_success=NOW,
        last_error=None,
        items_seen=188,
        consecutive_failures=0,
        next_due=NOW + timedelta(seconds=300),
        last_attempt=NOW,
    )
    assert seen[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT == (
        "Lifeline/0.1 (+https://github.com/lifeline-crisis/lifeline; "
        "crisis coordination for migrant workers)"
    )
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == ETAG
    assert seen[1].headers["if-modified-since"] == LAST_MODIFIED
    # 304: nothing new, which is not "empty": no alerts, and nothing cancelled.
    assert second.outcome is PollOutcome.NOT_MODIFIED
    assert second.alerts == () and second.error is None
    assert second.state.items_seen == 188 and second.state.etag == ETAG
    assert second.state.last_success == later
    assert second.state.next_due == later + timedelta(seconds=300)


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        (raising(httpx.ReadTimeout), TransientFeedError),
        (raising(httpx.ConnectError), TransientFeedError),
        (lambda r: httpx.Response(500, text="Internal Server Error"), TransientFeedError),
        (lambda r: httpx.Response(502), TransientFeedError),
        (lambda r: httpx.Response(429), TransientFeedError),
        (lambda r: httpx.Response(403, text="AccessDeniedHttpException"), PermanentFeedError),
        (lambda r: httpx.Response(404), PermanentFeedError),
        (lambda r: httpx.Response(410), PermanentFeedError),
        (
            lambda r: httpx.Response(200, content=b"<html><body>Maintenance</body></html>"),
            PayloadError,
        ),
        (lambda r: httpx.Response(200, content=b"\x00\x9f\x92\x96garbage"), PayloadError),
        (lambda r: httpx.Response(200, content=b"   "), PayloadError),
        (lambda r: httpx.Response(200, content=USGS_DAY[:5000]), PayloadError),
    ],
    ids=[
        "timeout",
        "connection-refused",
        "500",
        "502",
        "429",
        "403",
        "404",
        "410",
        "html",
        "garbage-bytes",
        "empty",
        "truncated",
    ],
)
async def test_failures_are_sorted_and_never_cancel(handler: Handler, error_type: type) -> None:
    good = FeedState(
        etag=ETAG,
        last_modified=LAST_MODIFIED,
        last_success=NOW - timedelta(minutes=5),
        items_seen=188,
    )
    async with client_for(handler) as client:
        result = await poll_once(client, usgs_config(), good, usgs.parse_summary, now=NOW)
    assert result.outcome is PollOutcome.FAILED
    assert isinstance(result.error, error_type)
    if error_type is TransientFeedError:
        assert result.transient
    else:
        assert isinstance(result.error, PermanentFeedError) and not result.transient
    assert result.items == () and result.alerts == ()
    state = result.state
    assert state.consecutive_failures == 1
    assert state.last_error is not None and state.last_error.startswith(type(result.error).__name__)
    # What we knew stays: validators, last success, the count of the last good fetch.
    assert (state.etag, state.last_modified, state.items_seen) == (ETAG, LAST_MODIFIED, 188)
    assert state.last_success == NOW - timedelta(minutes=5)
    assert state.last_attempt == NOW
    assert state.next_due is not None
    assert NOW + timedelta(seconds=300) <= state.next_due <= NOW + timedelta(seconds=600)


async def test_whole_request_deadline_stops_a_dripping_server() -> None:
    async def drip() -> AsyncIterator[bytes]:
        for _ in range(100):
            await asyncio.sleep(0.05)
            yield b" "

    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=drip())

    started = asyncio.get_running_loop().time()
    async with client_for(handle) as client:
        result = await poll_once(
            client, usgs_config(timeout_s=0.3), FeedState(), usgs.parse_summary, now=NOW
        )
    assert asyncio.get_running_loop().time() - started < 2.0
    assert isinstance(result.error, TransientFeedError)
    assert "0.3 s" in str(result.error)


async def test_huge_bodies_are_refused_without_reading_them() -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(1_000):
            chunks_sent += 1
            yield b"[" + b" " * 65_535

    def streamed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}", headers={"Content-Length": "10000000000"})

    config = usgs_config(max_bytes=1_000_000)
    async with client_for(streamed) as client:
        result = await poll_once(client, config, FeedState(), usgs.parse_summary, now=NOW)
    assert isinstance(result.error, PayloadError) and "1000000-byte limit" in str(result.error)
    assert chunks_sent < 20
    async with client_for(declared) as client:
        result = await poll_once(client, config, FeedState(), usgs.parse_summary, now=NOW)
    assert isinstance(result.error, PayloadError) and "10000000000 bytes" in str(result.error)


async def test_gzip_is_read_and_a_gzip_bomb_is_not() -> None:
    def handler(body: bytes) -> Handler:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"}
            )

        return handle

    config = usgs_config(max_bytes=1_000_000)
    async with client_for(handler(USGS_DAY)) as client:
        ok = await poll_once(client, config, FeedState(), usgs.parse_summary, now=NOW)
    assert len(ok.alerts) == 188
    async with client_for(handler(b" " * 5_000_000)) as client:
        bomb = await poll_once(client, config, FeedState(), usgs.parse_summary, now=NOW)
    assert isinstance(bomb.error, PayloadError)


async def test_retry_after_is_honoured() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "1800"})

    async with client_for(handle) as client:
        result = await poll_once(client, usgs_config(), FeedState(), usgs.parse_summary, now=NOW)
    assert isinstance(result.error, ServerBusy) and result.error.retry_after_s == 1800.0
    assert result.state.next_due == NOW + timedelta(seconds=1800)


async def test_redirects_are_followed() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": USGS_URL})
        return httpx.Response(200, content=USGS_DAY)

    config = usgs_config(url=USGS_URL.replace("https://", "http://"))
    async with client_for(handle) as client:
        result = await poll_once(client, config, FeedState(), usgs.parse_summary, now=NOW)
    assert result.outcome is PollOutcome.UPDATED and result.fetch is not None
    assert result.fetch.url == USGS_URL


async def test_a_parser_bug_is_a_payload_error_of_that_feed() -> None:
    def broken(content: bytes) -> list[Alert]:
        raise KeyError("properties")

    async with client_for(usgs_server([])) as client:
        result = await poll_once(client, usgs_config(), FeedState(), broken, now=NOW)
    assert isinstance(result.error, PayloadError) and "KeyError" in str(result.error)


async def test_disabled_feed_is_not_requested() -> None:
    seen: list[httpx.Request] = []
    async with client_for(usgs_server(seen)) as client:
        result = await poll_once(
            client, usgs_config(enabled=False), FeedState(), usgs.parse_summary, now=NOW
        )
    assert result.outcome is PollOutcome.SKIPPED and seen == []


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    config = usgs_config(interval_s=300.0, max_backoff_s=3600.0)
    assert next_delay(FeedState(), config) == 300.0
    rng = random.Random(7)
    for failures, low, high in [(1, 300, 600), (2, 600, 1200), (3, 1200, 2400), (4, 1800, 3600)]:
        state = FeedState(consecutive_failures=failures)
        delays = [next_delay(state, config, rng=rng) for _ in range(200)]
        assert all(low <= d <= high for d in delays)
        assert max(delays) - min(delays) > (high - low) / 2  # jitter spreads the retries
    assert next_delay(FeedState(consecutive_failures=500), config, rng=rng) <= 3600.0


def test_feed_config_is_checked() -> None:
    assert usgs_config(kind="eonet").kind is FeedKind.EONET
    for bad in (
        {"kind": "rss"},
        {"url": "ftp://example.org/feed"},
        {"interval_s": 5.0},
        {"timeout_s": 0.0},
        {"max_bytes": 0},
        {"max_backoff_s": 10.0},
        {"name": " "},
    ):
        with pytest.raises(ValueError):
            usgs_config(**bad)


async def test_one_failing_feed_never_affects_another() -> None:
    appname = "lifeline-test"
    rw_url = reliefweb.disasters_url(appname, limit=1)
    bodies = {
        "earthquake.usgs.gov": USGS_DAY,
        "api.reliefweb.int": (FEEDS / "reliefweb" / "disasters-25466.json").read_bytes(),
        "eonet.gsfc.nasa.gov": (FEEDS / "eonet" / "events.json").read_bytes(),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == "sentry.pdc.org":
            return httpx.Response(500)
        if host == "www.gdacs.org":
            raise httpx.ReadTimeout("slow", request=request)
        if host == "api.reliefweb.int":
            assert request.url.params["appname"] == appname
        if host == "broken.example.org":
            return httpx.Response(200, content=b"{}")
        return httpx.Response(200, content=bodies[host])

    def buggy(content: bytes) -> list[Alert]:
        raise ZeroDivisionError("a bug")

    feeds = [
        (usgs_config(), FeedState()),
        (FeedConfig("reliefweb", FeedKind.RELIEFWEB, rw_url, interval_s=3600), FeedState()),
        (FeedConfig("eonet", FeedKind.EONET, eonet.EVENTS_URL, interval_s=1800), FeedState()),
        (FeedConfig("pdc", FeedKind.PDC, pdc.ACTIVE_HAZARDS_URL), FeedState()),
        (FeedConfig("gdacs", FeedKind.GDACS_RSS, "https://www.gdacs.org/xml/rss.xml"), FeedState()),
        (FeedConfig("cap", FeedKind.CAP_INDEX, "https://broken.example.org/cap"), FeedState()),
    ]
    registry = {
        FeedKind.USGS: usgs.parse_summary,
        FeedKind.RELIEFWEB: reliefweb.parse_disasters,
        FeedKind.EONET: eonet.parse,
        FeedKind.PDC: pdc.parse_hazards,
        FeedKind.CAP_INDEX: buggy,
        # no GDACS parser: that feed is skipped, not requested
    }
    async with client_for(handle) as client:
        results = await poll_feeds(client, feeds, registry, now=NOW)
    by_name: dict[str, PollResult] = {r.feed: r for r in results}
    assert [r.feed for r in results] == [
        "usgs-all-day",
        "reliefweb",
        "eonet",
        "pdc",
        "gdacs",
        "cap",
    ]
    assert len(by_name["usgs-all-day"].alerts) == 188
    assert [a.external_id for a in by_name["reliefweb"].alerts] == ["25466"]
    assert by_name["reliefweb"].alerts[0].msg_type is MsgType.CANCEL  # the source said "past"
    assert len(by_name["eonet"].alerts) == 3
    assert by_name["pdc"].transient and by_name["pdc"].alerts == ()
    assert by_name["gdacs"].outcome is PollOutcome.SKIPPED
    assert isinstance(by_name["gdacs"].error, PermanentFeedError)
    assert isinstance(by_name["cap"].error, PayloadError) and by_name["cap"].alerts == ()
    assert all(r.state.consecutive_failures == 0 for r in results[:3])
