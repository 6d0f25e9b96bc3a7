"""Fetching a feed: conditional GET, timeouts, a size limit, errors sorted into transient and
permanent, and a backoff schedule for failures."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import httpx

from integrations.alert import FetchInfo
from integrations.errors import PayloadError, PermanentFeedError, TransientFeedError

USER_AGENT = (
    "Lifeline/0.1 (crisis coordination for migrant workers; +https://lifeline.example.org/feeds)"
)
MAX_FEED_BYTES = 20_000_000


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetch's outcome: ``content`` is None when the server said nothing changed (304)."""

    content: bytes | None
    info: FetchInfo


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    now: datetime,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout_s: float = 30.0,
    max_bytes: int = MAX_FEED_BYTES,
) -> Fetched:
    """GET ``url`` with ``If-None-Match`` / ``If-Modified-Since`` from the last success.

    Raises
    ------
    TransientFeedError
        Timeouts, connection errors, 5xx and 429: try again later.
    PermanentFeedError
        Other 4xx. ``PayloadError`` (a subclass) when the body is over ``max_bytes``.
    """
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with client.stream("GET", url, headers=headers, timeout=timeout_s) as response:
            if response.status_code == 304:
                return Fetched(None, FetchInfo(url, now, 304, etag, last_modified))
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientFeedError(f"{url} answered {response.status_code}")
            if response.status_code >= 400:
                raise PermanentFeedError(f"{url} answered {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise PayloadError(f"{url} sends {declared} bytes, over the {max_bytes}-byte limit")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise PayloadError(f"{url} sent more than {max_bytes} bytes")
            info = FetchInfo(
                url=url,
                fetched_at=now,
                status_code=response.status_code,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type"),
            )
            return Fetched(bytes(body), info)
    except httpx.TimeoutException as exc:
        raise TransientFeedError(f"{url} timed out after {timeout_s} s") from exc
    except httpx.TransportError as exc:
        raise TransientFeedError(f"{url}: {type(exc).__name__}") from exc


def backoff_s(
    failures: int, interval_s: float, *, cap_s: float = 3600.0, rng: random.Random | None = None
) -> float:
    """Seconds until the next try after ``failures`` failures in a row: the normal interval, then
    doubling, capped, with jitter so that many workers do not retry in step."""
    if failures <= 0:
        return interval_s
    base = min(cap_s, interval_s * (2 ** min(failures, 16)))
    jitter = (rng or random).uniform(0.8, 1.2)
    return float(min(cap_s, base * jitter))
