"""Polling one feed: fetch (conditionally), parse, store each alert once, record the feed's health.

A failing or garbled feed is recorded and backed off; it never stops the others and never
cancels anything (absence from a failed fetch says nothing about an alert). Two workers never
poll the same feed at once: each poll holds the feed's lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.alert import Alert
from integrations.cap import parse_cap, parse_cap_index
from integrations.errors import FeedError, PayloadError
from integrations.fetch import backoff_s, fetch
from service.alerts.models import FeedState
from service.alerts.service import NEW, UPDATED, store_alert
from service.auth.principal import Principal
from service.db import session_scope, utcnow
from service.feeds.config import FeedConfig, parser_for
from service.worker import singleton

log = logging.getLogger("lifeline.feeds")
WORKER = Principal.system("worker")


@dataclass
class PollOutcome:
    feed: str
    status: str  # ok, not_modified, failed, skipped
    items: int = 0
    new: int = 0
    updated: int = 0
    error: str | None = None
    skipped_items: list[str] = field(default_factory=list)


async def poll_feed(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    config: FeedConfig,
    *,
    now: datetime | None = None,
) -> PollOutcome:
    now = now or utcnow()
    async with singleton(engine, f"lifeline:feed:{config.name}") as mine:
        if not mine:
            return PollOutcome(config.name, "skipped", error="another worker is polling this feed")
        async with session_scope(maker) as session:
            state = await session.get(FeedState, config.name) or FeedState(name=config.name)
            etag, last_modified = state.etag, state.last_modified
        outcome = PollOutcome(config.name, "ok")
        alerts: list[Alert] = []
        info = None
        try:
            fetched = await fetch(
                client,
                str(config.url),
                now=now,
                etag=etag,
                last_modified=last_modified,
                timeout_s=config.timeout_s,
            )
            info = fetched.info
            if fetched.content is None:
                outcome.status = "not_modified"
            elif config.kind == "cap_index":
                alerts = await _cap_messages(client, config, fetched.content, now, outcome)
            else:
                alerts = parser_for(config.kind)(fetched.content, fetched.info)
        except FeedError as exc:
            outcome.status, outcome.error = "failed", str(exc)
        outcome.items = len(alerts)
        if alerts:
            # One transaction for the feed's items: a crash part-way stores none, and the next poll
            # stores them all; items already known are read, not written.
            async with session_scope(maker) as session:
                for alert in alerts:
                    _, result = await store_alert(session, alert=alert, actor=WORKER)
                    outcome.new += result == NEW
                    outcome.updated += result == UPDATED
        async with session_scope(maker) as session:
            state = await session.get(FeedState, config.name) or FeedState(name=config.name)
            state.last_attempt = now
            if outcome.status == "failed":
                state.consecutive_failures += 1
                state.last_error, state.last_error_at = (outcome.error or "")[:1000], now
                state.next_due = now + timedelta(
                    seconds=backoff_s(state.consecutive_failures, config.interval_s)
                )
                log.warning("feed poll failed", extra={"feed": config.name, "error": outcome.error})
            else:
                state.consecutive_failures = 0
                state.last_success = now
                if info is not None and outcome.status == "ok":
                    state.etag, state.last_modified = info.etag, info.last_modified
                state.items_seen += outcome.items
                state.alerts_new += outcome.new
                state.alerts_updated += outcome.updated
                state.next_due = now + timedelta(seconds=config.interval_s)
            session.add(state)
        return outcome


async def _cap_messages(
    client: httpx.AsyncClient, config: FeedConfig, index: bytes, now: datetime, outcome: PollOutcome
) -> list[Alert]:
    """Fetch the CAP messages an index lists. One broken message is skipped with its reason."""
    alerts = []
    for entry in parse_cap_index(index)[: config.max_items]:
        try:
            message = await fetch(client, entry.url, now=now, timeout_s=config.timeout_s)
            if message.content is not None:
                alerts.append(parse_cap(message.content, fetch=message.info))
        except PayloadError as exc:
            outcome.skipped_items.append(f"{entry.url}: {exc.reason}")
            log.warning(
                "CAP message skipped",
                extra={"feed": config.name, "url": entry.url, "reason": exc.reason},
            )
    return alerts


async def poll_due(
    engine: AsyncEngine,
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    feeds: tuple[FeedConfig, ...],
    *,
    now: datetime | None = None,
) -> list[PollOutcome]:
    """Poll every enabled feed whose time has come; each on its own, whatever the others do."""
    now = now or utcnow()
    outcomes = []
    for config in feeds:
        if not config.enabled:
            continue
        async with session_scope(maker) as session:
            state = await session.get(FeedState, config.name)
        if state is not None and state.next_due is not None and state.next_due > now:
            continue
        try:
            outcomes.append(await poll_feed(engine, maker, client, config, now=now))
        except Exception as exc:  # a bug in one feed's handling must not stop the others
            log.exception("feed poll crashed", extra={"feed": config.name})
            outcomes.append(PollOutcome(config.name, "failed", error=type(exc).__name__))
    return outcomes
