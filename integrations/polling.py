"""Polling one feed: conditional GET, limits, error classes, backoff and health, no database."""

from __future__ import annotations

import asyncio
import enum
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from integrations.alert import Alert, FetchInfo
from integrations.errors import FeedError, PayloadError, PermanentFeedError, TransientFeedError

USER_AGENT = (
    "Lifeline/0.1 (+https://github.com/lifeline-crisis/lifeline; "
    "crisis coordination for migrant workers)"
)
MAX_BODY_BYTES = 20_000_000
MAX_BACKOFF_S = 3_600.0
#: Never poll a feed more often than this: USGS regenerates every minute, others far less.
MIN_INTERVAL_S = 60.0

#: A parser turns the raw bytes of one successful fetch into items: alerts for most kinds,
#: the listed documents for an index kind (a CAP index). It raises FeedError (usually
#: PayloadError) on bytes it cannot use.
Parser = Callable[[bytes], Sequence[Any]]


class FeedKind(enum.StrEnum):
    GDACS_RSS = "gdacs_rss"
    USGS = "usgs"
    CAP_INDEX = "cap_index"
    RELIEFWEB = "reliefweb"
    EONET = "eonet"
    PDC = "pdc"


class PollOutcome(enum.StrEnum):
    UPDATED = "updated"  # 2xx, parsed: the alerts are the feed's current content
    NOT_MODIFIED = "not_modified"  # 304: nothing new, keep what we have
    FAILED = "failed"  # nothing learnt about the feed; never a reason to cancel
    SKIPPED = "skipped"  # disabled, or no parser for its kind: no request made


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed to poll. ``timeout_s`` bounds the whole request, body included."""

    name: str
    kind: FeedKind
    url: str
    interval_s: float = 300.0
    enabled: bool = True
    timeout_s: float = 30.0
    max_bytes: int = MAX_BODY_BYTES
    max_backoff_s: float = MAX_BACKOFF_S

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a feed needs a name")
        object.__setattr__(self, "kind", FeedKind(self.kind))
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"feed {self.name}: url must be http(s), not {self.url!r}")
        if not math.isfinite(self.interval_s) or self.interval_s < MIN_INTERVAL_S:
            raise ValueError(f"feed {self.name}: interval_s must be at least {MIN_INTERVAL_S:.0f}")
        if not 0 < self.timeout_s <= self.interval_s:
            raise ValueError(f"feed {self.name}: timeout_s must be > 0 and <= interval_s")
        if self.max_bytes <= 0:
            raise ValueError(f"feed {self.name}: max_bytes must be positive")
        if self.max_backoff_s < self.interval_s:
            raise ValueError(f"feed {self.name}: max_backoff_s must be >= interval_s")


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the poller remembers between polls; the service stores it per feed.

    ``items_seen`` is the number of items in the last successful fetch. ``last_error`` is
    ``"<ErrorClass>: <reason>"`` of the last failure, cleared by the next success.
    """

    etag: str | None = None
    last_modified: str | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    items_seen: int = 0
    consecutive_failures: int = 0
    next_due: datetime | None = None
    last_attempt: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        return self.next_due is None or now >= self.next_due

    @property
    def healthy(self) -> bool:
        return self.consecutive_failures == 0


class ServerBusy(TransientFeedError):
    """A 408, 425, 429 or 5xx answer; ``retry_after_s`` is the server's ``Retry-After``."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll of one feed. ``items`` is empty unless ``outcome`` is ``UPDATED``.

    A failure carries ``error`` and the new state only: it never yields cancels, and the
    service keeps the last good alerts of the feed and marks the feed degraded.
    """

    feed: str
    outcome: PollOutcome
    state: FeedState
    items: tuple[Any, ...] = ()
    error: FeedError | None = None
    fetch: FetchInfo | None = None

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """The parsed alerts, each stamped with this fetch's ``FetchInfo``."""
        return tuple(i for i in self.items if isinstance(i, Alert))

    @property
    def transient(self) -> bool:
        return isinstance(self.error, TransientFeedError)


@dataclass(frozen=True, slots=True)
class _Response:
    content: bytes | None  # None for 304
    info: FetchInfo


async def poll_once(
    client: httpx.AsyncClient,
    config: FeedConfig,
    state: FeedState,
    parse: Parser,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> PollResult:
    """Poll ``config`` once: conditional GET, parse, and the feed's next state.

    Sends ``If-None-Match`` / ``If-Modified-Since`` from the last success; a 304 is "nothing
    new", never "empty". Never raises for a feed problem: timeouts, connection errors, 429
    and 5xx come back as ``TransientFeedError``; other 4xx, bodies over ``max_bytes``, empty
    or unparseable bodies as ``PermanentFeedError`` (``PayloadError`` for the body). A failure
    leaves the validators and ``last_success`` as they were and schedules a retry with
    :func:`next_delay` (or later, when the server sent ``Retry-After``).
    """
    now = now or datetime.now(UTC)
    if not config.enabled:
        return PollResult(config.name, PollOutcome.SKIPPED, state)
    attempt = replace(state, last_attempt=now)
    try:
        response = await _get(client, config, state, now)
        if response.content is None:
            new_state = replace(
                attempt,
                etag=response.info.etag or state.etag,
                last_modified=response.info.last_modified or state.last_modified,
                last_success=now,
                last_error=None,
                consecutive_failures=0,
            )
            new_state = replace(new_state, next_due=now + _seconds(next_delay(new_state, config)))
            return PollResult(config.name, PollOutcome.NOT_MODIFIED, new_state, fetch=response.info)
        items = _parse(parse, response.content)
    except FeedError as exc:
        retry_after = exc.retry_after_s if isinstance(exc, ServerBusy) else None
        failed = replace(
            attempt,
            last_error=f"{type(exc).__name__}: {exc}",
            consecutive_failures=state.consecutive_failures + 1,
        )
        delay = max(next_delay(failed, config, rng=rng), retry_after or 0.0)
        failed = replace(failed, next_due=now + _seconds(delay))
        return PollResult(config.name, PollOutcome.FAILED, failed, error=exc)
    info = response.info
    new_state = replace(
        attempt,
        etag=info.etag,
        last_modified=info.last_modified,
        last_success=now,
        last_error=None,
        items_seen=len(items),
        consecutive_failures=0,
    )
    new_state = replace(new_state, next_due=now + _seconds(next_delay(new_state, config)))
    stamped = tuple(replace(i, fetch=info) if isinstance(i, Alert) else i for i in items)
    return PollResult(config.name, PollOutcome.UPDATED, new_state, items=stamped, fetch=info)


def next_delay(state: FeedState, config: FeedConfig, *, rng: random.Random | None = None) -> float:
    """Seconds until the next poll: the interval when healthy; after failures, exponential
    backoff (the interval doubled per failure) with jitter, capped at ``max_backoff_s``.

    The jitter ("equal jitter": half the delay fixed, half random) keeps many workers from
    retrying a recovering server in step; the delay never drops below the interval.
    """
    failures = state.consecutive_failures
    if failures <= 0:
        return config.interval_s
    cap = config.max_backoff_s
    base = min(cap, config.interval_s * 2.0 ** min(failures, 32))
    # Not security-sensitive: jitter only spreads retries.
    draw = (rng or random).random()
    return max(config.interval_s, min(cap, base / 2.0 + draw * base / 2.0))


async def poll_feeds(
    client: httpx.AsyncClient,
    feeds: Iterable[tuple[FeedConfig, FeedState]],
    registry: Mapping[FeedKind, Parser],
    *,
    now: datetime | None = None,
) -> list[PollResult]:
    """Poll several feeds at once; one feed's failure, however odd, never affects another.

    ``registry`` is the parser of each kind (``integrations.adapters.PARSERS``); a kind it has
    no parser for is skipped with a ``PermanentFeedError`` and no request is made.
    """
    pairs = list(feeds)

    async def one(config: FeedConfig, state: FeedState) -> PollResult:
        parse = registry.get(config.kind)
        if parse is None:
            error = PermanentFeedError(f"no parser for feed kind {config.kind.value}")
            return PollResult(config.name, PollOutcome.SKIPPED, state, error=error)
        return await poll_once(client, config, state, parse, now=now)

    outcomes = await asyncio.gather(*(one(c, s) for c, s in pairs), return_exceptions=True)
    results: list[PollResult] = []
    for (config, state), outcome in zip(pairs, outcomes, strict=True):
        if isinstance(outcome, PollResult):
            results.append(outcome)
        elif isinstance(outcome, Exception):
            # poll_once already turns feed problems into results; this is a bug in one
            # adapter, and it must not take the other feeds down with it.
            error = PermanentFeedError(f"{type(outcome).__name__}: {outcome}")
            failed = replace(
                state,
                last_error=f"PermanentFeedError: {error}",
                consecutive_failures=state.consecutive_failures + 1,
            )
            results.append(PollResult(config.name, PollOutcome.FAILED, failed, error=error))
        else:
            raise outcome  # CancelledError and other BaseExceptions are not ours to swallow
    return results


async def _get(
    client: httpx.AsyncClient, config: FeedConfig, state: FeedState, now: datetime
) -> _Response:
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    timeout = httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0))
    url = config.url
    try:
        # httpx's timeouts bound each read; this deadline bounds the whole exchange, so a
        # server dripping a byte a second cannot hold the poller.
        async with (
            asyncio.timeout(config.timeout_s),
            client.stream(
                "GET", url, headers=headers, timeout=timeout, follow_redirects=True
            ) as response,
        ):
            info = FetchInfo(
                url=str(response.url),
                fetched_at=now,
                status_code=response.status_code,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type"),
            )
            _check_status(response, now)
            if response.status_code == 304:
                return _Response(None, info)
            body = await _read_limited(response, config.max_bytes)
            if not body.strip():
                raise PayloadError(f"empty body ({response.status_code})")
            return _Response(body, info)
    except TimeoutError as exc:
        raise TransientFeedError(f"no complete answer within {config.timeout_s:g} s") from exc
    except httpx.TimeoutException as exc:
        raise TransientFeedError(f"{type(exc).__name__} after {config.timeout_s:g} s") from exc
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        raise PermanentFeedError(f"cannot request {url}: {exc}") from exc
    except httpx.TooManyRedirects as exc:
        raise PermanentFeedError("too many redirects") from exc
    except httpx.DecodingError as exc:
        raise PayloadError(f"the body cannot be decoded: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransientFeedError(f"{type(exc).__name__}: {exc}") from exc


def _check_status(response: httpx.Response, now: datetime) -> None:
    code = response.status_code
    if code == 304 or 200 <= code < 300:
        return
    if code in {408, 425, 429} or code >= 500:
        # Retry-After is the server telling us when: it wins over our own backoff.
        retry_after = _retry_after(response.headers.get("retry-after"), now)
        raise ServerBusy(f"the server answered {code}", retry_after)
    raise PermanentFeedError(f"the server answered {code}")


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadError(f"the body of {declared} bytes is over the {max_bytes}-byte limit")
    body = bytearray()
    # Counted after decompression: a small gzip bomb cannot get past the limit either.
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadError(f"the body is over the {max_bytes}-byte limit")
    return bytes(body)


def _parse(parse: Parser, content: bytes) -> list[Any]:
    try:
        items = list(parse(content))
    except FeedError:
        raise
    except Exception as exc:
        # A parser that trips over bytes it did not expect has met garbage, not a bug of the
        # feed's server: report it as a payload error of this feed, never crash the poller.
        raise PayloadError(f"unreadable payload ({type(exc).__name__}: {exc})") from exc
    return items


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_BACKOFF_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), MAX_BACKOFF_S))


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
