"""Polling one feed: fetch (conditionally), parse, store each alert once, record the feed's health.

A failing or garbled feed is recorded and backed off; it never stops the others and never
cancels anything (absence from a failed fetch says nothing about an alert). Two workers never
poll the same feed at once: each poll holds the feed's lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations import gdacs, polling, usgs
from integrations.alert import Alert, MsgType
from integrations.cap import IndexEntry, parse_cap
from integrations.errors import FeedError
from service.alerts.models import AlertRecord, FeedState
from service.alerts.service import NEW, UPDATED, store_alert
from service.alerts.zones import union_geojson
from service.auth.principal import WORKER
from service.db import session_scope, utcnow
from service.feeds.config import FeedConfig, parser_for
from service.locks import singleton

log = logging.getLogger("lifeline.feeds")


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
            row = await session.get(FeedState, config.name) or FeedState(name=config.name)
            remembered = polling.FeedState(
                etag=row.etag,
                last_modified=row.last_modified,
                consecutive_failures=row.consecutive_failures,
            )
        outcome = PollOutcome(config.name, "ok")
        alerts: list[Alert] = []
        result = await polling.poll_once(
            client, _polling_config(config), remembered, parser_for(config.kind), now=now
        )
        if result.outcome is polling.PollOutcome.NOT_MODIFIED:
            outcome.status = "not_modified"
        elif result.outcome is polling.PollOutcome.FAILED:
            outcome.status, outcome.error = "failed", str(result.error)
        elif config.kind == "cap_index":
            alerts = await _cap_messages(
                client, config, [i for i in result.items if isinstance(i, IndexEntry)], now, outcome
            )
        else:
            alerts = list(result.alerts)
        outcome.items = len(alerts)
        if alerts:
            # One transaction for the feed's items: a crash part-way stores none, and the next poll
            # stores them all; items already known are read, not written.
            fresh: list[tuple[str, Alert]] = []
            async with session_scope(maker) as session:
                for alert in alerts:
                    stored, kept = await store_alert(session, alert=alert, actor=WORKER)
                    outcome.new += kept == NEW
                    outcome.updated += kept == UPDATED
                    if kept in (NEW, UPDATED):
                        fresh.append((stored.id, alert))
            if config.geometry_url:
                await _gdacs_polygons(maker, client, config, fresh, now)
            if config.kind == "usgs":
                await _shakemaps(maker, client, config, fresh, now)
        async with session_scope(maker) as session:
            state = await session.get(FeedState, config.name) or FeedState(name=config.name)
            new = result.state
            state.last_attempt = now
            state.etag, state.last_modified = new.etag, new.last_modified
            state.consecutive_failures = new.consecutive_failures
            state.next_due = new.next_due
            if outcome.status == "failed":
                state.last_error, state.last_error_at = (outcome.error or "")[:1000], now
                log.warning("feed poll failed", extra={"feed": config.name, "error": outcome.error})
            else:
                state.last_success = now
                state.items_seen += outcome.items
                state.alerts_new += outcome.new
                state.alerts_updated += outcome.updated
            session.add(state)
        return outcome


def _polling_config(config: FeedConfig, url: str | None = None) -> polling.FeedConfig:
    return polling.FeedConfig(
        name=config.name,
        kind=polling.FeedKind(config.kind),
        url=url or str(config.url),
        interval_s=config.interval_s,
        timeout_s=min(config.timeout_s, config.interval_s),
    )


async def _document(
    client: httpx.AsyncClient, config: FeedConfig, url: str, parse: polling.Parser, now: datetime
) -> list[object]:
    """One follow-up document (a CAP message an index lists, a GDACS episode's polygons),
    fetched with the same protections as the feed itself."""
    result = await polling.poll_once(
        client, _polling_config(config, url), polling.FeedState(), parse, now=now
    )
    if result.error is not None:
        raise result.error
    return list(result.items)


async def _cap_messages(
    client: httpx.AsyncClient,
    config: FeedConfig,
    entries: list[IndexEntry],
    now: datetime,
    outcome: PollOutcome,
) -> list[Alert]:
    """Fetch the CAP messages an index lists. One broken message is skipped with its reason."""
    alerts: list[Alert] = []
    for entry in entries[: config.max_items]:
        try:
            alerts += [
                a
                for a in await _document(client, config, entry.url, lambda c: [parse_cap(c)], now)
                if isinstance(a, Alert)
            ]
        except FeedError as exc:
            outcome.skipped_items.append(f"{entry.url}: {exc}")
            log.warning(
                "CAP message skipped",
                extra={"feed": config.name, "url": entry.url, "reason": str(exc)},
            )
    return alerts


async def _gdacs_polygons(
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    config: FeedConfig,
    fresh: list[tuple[str, Alert]],
    now: datetime,
) -> None:
    """Fetch the polygons of each new episode (only then: GDACS asks for a low request rate) and
    make them the alert's zone. A failure keeps the provisional zone around the point."""
    assert config.geometry_url is not None
    for alert_id, alert in fresh:
        if alert.source != gdacs.SOURCE or alert.msg_type is MsgType.CANCEL:
            continue
        url = config.geometry_url.format(
            eventtype=alert.extra.get("eventtype", ""),
            eventid=alert.extra.get("eventid", ""),
            episodeid=alert.extra.get("episodeid", alert.version),
        )
        try:
            found = await _document(client, config, url, lambda c: [gdacs.parse_geometry(c)], now)
            zones = found[0] if found and isinstance(found[0], dict) else {}
        except FeedError as exc:
            log.warning("GDACS polygons not fetched", extra={"alert": alert_id, "error": str(exc)})
            continue
        if not zones:
            continue
        async with session_scope(maker) as session:
            row = await session.get(AlertRecord, alert_id)
            if row is None or row.version != alert.version:
                continue  # a newer episode arrived meanwhile
            row.zone = union_geojson(list(zones.values()))
            row.zone_source = "gdacs:" + "+".join(sorted(zones))
            row.extra = {**row.extra, "zones": zones}
            session.add(row)


#: Earthquakes worth a detail fetch: strong enough to hurt, or with a PAGER alert.
SHAKEMAP_MIN_MAGNITUDE = 5.5


async def _shakemaps(
    maker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    config: FeedConfig,
    fresh: list[tuple[str, Alert]],
    now: datetime,
) -> None:
    """For significant new or revised earthquakes, fetch the detail feed and, when the event has
    a ShakeMap, make its area of MMI VI or more the alert's zone (until then: the impact circle)."""
    for alert_id, alert in fresh:
        magnitude = alert.extra.get("magnitude") or 0.0
        detail_url = alert.extra.get("detail")
        if not isinstance(detail_url, str) or (
            magnitude < SHAKEMAP_MIN_MAGNITUDE and not alert.extra.get("pager")
        ):
            continue
        try:
            detail = await usgs.fetch_detail(
                client, detail_url, timeout_s=config.timeout_s, now=now
            )
        except FeedError as exc:
            log.warning("USGS detail not fetched", extra={"alert": alert_id, "error": str(exc)})
            continue
        if detail.extra.get("zone") != "shakemap" or not detail.geometry:
            continue
        async with session_scope(maker) as session:
            row = await session.get(AlertRecord, alert_id)
            if row is None or row.version != alert.version:
                continue
            row.zone, row.zone_source = detail.geometry, "shakemap:mmi6"
            row.extra = {**row.extra, "shakemap_contours": detail.extra.get("shakemap_contours")}
            session.add(row)


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
