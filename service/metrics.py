"""``GET /metrics``: what one API process is doing, in the Prometheus text format.

Three kinds of figures (every metric, its labels and the alerts worth setting: docs/metrics.md):

- the requests this process answered, counted and timed by a small ASGI middleware under the
  route's template (``/api/v1/workers/{id}``), never the path itself: an id is no label;
- what is read at scrape time: the queues (webhook outbox, welfare messages, audit events not
  yet chained), each feed's health and the exposure index's lag, by cheap indexed counts under
  a deadline (``LIFELINE_METRICS_DATABASE_TIMEOUT_S``), so that a slow database slows no
  scrape past it; those of a read that failed are left out and
  ``lifeline_metrics_database_read_ok`` says 0;
- prometheus-client's own collectors of the process and the platform.

Each process keeps its own figures in a registry of its own and serves them itself: every API
replica, every ``serve --processes`` process, is a target Prometheus scrapes on its own, so no
multiprocess mode is needed. The labels are route templates, methods, statuses, queue and feed
names: nothing of a person, no record's id.

The caller is Prometheus, with the deployment's ``LIFELINE_METRICS_TOKEN`` rather than an API
token: a scrape every 15 seconds writes no audit row and needs no database to be let in, and the
token reads nothing else.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import prometheus_client
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import Select, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.routing import BaseRoute, Mount, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import __version__
from service.alerts.models import FeedState
from service.audit.models import AuditEvent, AuditLink
from service.auth.limits import count_failure, limit_address, refuse_if_throttled
from service.errors import NotFound, Unauthenticated
from service.feeds.config import FeedConfig
from service.messaging.models import MessageState, OutboundMessage
from service.openapi import declare_answers, raises
from service.registry.models import RegisterChange
from service.settings import Settings
from service.webhooks.models import OutboxEvent, WebhookDelivery

log = logging.getLogger("lifeline.metrics")

PATH = "/metrics"
#: The label of a request no route took (a 404 of the router, a path refused before routing).
UNMATCHED = "unmatched"
#: 5 ms to 10 s: a lookup takes a few milliseconds, a large zone or export seconds; past 10 s
#: only the count matters.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Methods counted as themselves; anything else a client invents is ``other``, so that a
#: scanner cannot grow the label without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
EVENT_STREAM = b"text/event-stream"


class Metrics:
    """The collectors of one app. A registry of its own, not prometheus-client's global one: a
    process (the tests) may build many apps, each counting its own requests."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lifeline_http_requests",
            "HTTP requests answered, by route template, method and status; counted when the "
            "response starts",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "lifeline_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response body, by route template "
            "and method (event streams left out: their length is how long a page stays open)",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "lifeline_http_requests_in_flight",
            "Requests being answered now, event streams of open pages included",
            registry=self.registry,
        )
        build = Gauge(
            "lifeline_build_info",
            "The version this process runs (always 1)",
            ["version"],
            registry=self.registry,
        )
        build.labels(__version__).set(1)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        # The collector of the garbage collector keeps no state: the global one, registered here.
        self.registry.register(GC_COLLECTOR)


# The requests.


class RouteTemplates:
    """The template of every route of an app, under the prefixes it is included with
    (``/api/v1`` + ``/tasks/{id}``): FastAPI routes a request to the route of the router it
    was written in, whose own template lacks the prefix."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.of: dict[int, str] = {}
        self.patterns: list[tuple[re.Pattern[str], frozenset[str] | None, str]] = []
        for prefix, route in _flatten(routes, ""):
            own = getattr(route, "path", None)
            if not isinstance(own, str):
                continue
            whole = prefix + own + ("/{path:path}" if isinstance(route, Mount) else "")
            pattern, template, _ = compile_path(whole)
            self.of.setdefault(id(route), template)
            methods = getattr(route, "methods", None)
            self.patterns.append((pattern, frozenset(methods) if methods else None, template))

    def template(self, scope: Scope, path: str) -> str:
        """The template of the route that took the request, never its path. A request answered
        before routing (an idempotent write replayed, a path refused) is matched here on its
        path as it came; one no route takes is ``unmatched``."""
        route = scope.get("route")
        if route is not None:
            known = self.of.get(id(route)) or getattr(route, "path_format", None)
            if known:
                return str(known)
        method = scope.get("method", "GET")
        other = None
        for pattern, methods, template in self.patterns:
            if pattern.match(path):
                if methods is None or method in methods:
                    return template
                other = other or template
        return other or UNMATCHED


def _flatten(routes: Iterable[BaseRoute], prefix: str) -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _flatten(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        else:
            yield prefix, route


class MetricsMiddleware:
    """Counts each request when its response starts, times it to the end of its body (a
    streamed download to its last chunk), and holds the in-flight gauge meanwhile."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.routes: RouteTemplates | None = None

    def _template(self, scope: Scope, path: str) -> str:
        if self.routes is None:
            app = scope.get("app")
            if app is None:  # refused before the app was reached
                return UNMATCHED
            # At the first request: every route is in the app by then.
            self.routes = RouteTemplates(app.router.routes)
        return self.routes.template(scope, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # As it came: routing changes the scope on the way in (a mount).
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        method = method if method in METHODS else "other"
        answered: dict[str, Any] = {}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not answered:
                route = self._template(scope, path)
                answered["route"] = route
                answered["stream"] = any(
                    name == b"content-type" and value.startswith(EVENT_STREAM)
                    for name, value in message.get("headers", [])
                )
                self.metrics.requests.labels(route, method, str(message["status"])).inc()
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, counting_send)
        except BaseException:
            if not answered:
                # Nothing was sent: the server answers 500 (or the client is gone).
                answered["route"] = self._template(scope, path)
                answered["stream"] = False
                self.metrics.requests.labels(answered["route"], method, "500").inc()
            raise
        finally:
            self.metrics.in_flight.dec()
            if answered and not answered["stream"]:
                self.metrics.duration.labels(answered["route"], method).observe(
                    time.perf_counter() - started
                )


# What is read at scrape time.


@dataclass
class DatabaseFigures:
    """What one scrape read from the database."""

    #: (queue, state) → items.
    queues: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Feed name → (last success as Unix time, or None; consecutive failures).
    feeds: dict[str, tuple[float | None, int]] = field(default_factory=dict)
    #: The register's last change (its ``seq``), for the index's lag.
    register_seq: int | None = None
    #: When the audit chain last grew (Unix time), None before its first link.
    chained_at: float | None = None


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


OUTBOX = _table(OutboxEvent)
DELIVERIES = _table(WebhookDelivery)
MESSAGES = _table(OutboundMessage)
EVENTS = _table(AuditEvent)
LINKS = _table(AuditLink)
CHANGES = _table(RegisterChange)
FEED_STATES = _table(FeedState)


async def _count(conn: AsyncConnection, query: Select[Any]) -> int:
    return int((await conn.execute(query)).scalar_one())


async def read_database(conn: AsyncConnection, feed_names: Sequence[str]) -> DatabaseFigures:
    """The queues, the feeds' rows and the register's head: each a count or a lookup on an
    index (a state column, a primary key), however large the tables have grown."""
    figures = DatabaseFigures()
    count = select(func.count())
    queues = figures.queues
    queues["webhook_events", "waiting"] = await _count(
        conn, count.where(OUTBOX.c.fanned_out.is_(False))
    )
    for status, shown in (("pending", "waiting"), ("dead", "failed")):
        queues["webhook_deliveries", shown] = await _count(
            conn, count.where(DELIVERIES.c.status == status)
        )
    for state, shown in ((MessageState.PENDING, "waiting"), (MessageState.FAILED, "failed")):
        queues["welfare_messages", shown] = await _count(
            conn, count.where(MESSAGES.c.state == state.value)
        )
    # Above the highest event chained, by the primary key: an event committed late below it
    # (a long transaction) is chained by the next pass and not counted here meanwhile.
    chained = select(func.coalesce(func.max(LINKS.c.event_id), 0)).scalar_subquery()
    queues["audit_chain", "waiting"] = await _count(conn, count.where(EVENTS.c.id > chained))
    last_link = (
        await conn.execute(select(LINKS.c.chained_at).order_by(LINKS.c.seq.desc()).limit(1))
    ).scalar_one_or_none()
    figures.chained_at = last_link.timestamp() if last_link is not None else None
    figures.register_seq = await _count(conn, select(func.coalesce(func.max(CHANGES.c.seq), 0)))
    if feed_names:
        rows = await conn.execute(
            select(
                FEED_STATES.c.name,
                FEED_STATES.c.last_success,
                FEED_STATES.c.consecutive_failures,
            ).where(FEED_STATES.c.name.in_(feed_names))
        )
        for name, last_success, failures in rows:
            figures.feeds[name] = (
                last_success.timestamp() if last_success is not None else None,
                int(failures),
            )
    return figures


async def read_database_bounded(
    engine: AsyncEngine, feed_names: Sequence[str], timeout_s: float
) -> DatabaseFigures:
    """``read_database`` within ``timeout_s``, the wait for a connection included. PostgreSQL
    is told the same deadline, so that it stops the statements itself rather than leave them
    running after the scrape gave up."""
    async with asyncio.timeout(timeout_s):
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
            return await read_database(conn, feed_names)


def _gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def scrape_families(
    figures: DatabaseFigures | None,
    read_s: float,
    feeds: Iterable[FeedConfig],
    index: Any,
) -> list[Metric]:
    """The figures read at this scrape, as metric families. ``figures`` is None when the read
    failed: the families that need it are left out rather than shown stale or as zeros."""
    ok = _gauge(
        "lifeline_metrics_database_read_ok",
        "1 if this scrape read the queues and feeds from the database within its deadline",
    )
    ok.add_metric([], 1 if figures is not None else 0)
    took = _gauge(
        "lifeline_metrics_database_read_seconds", "How long this scrape's database reads took"
    )
    took.add_metric([], read_s)
    families: list[Metric] = [ok, took]
    enabled = [f for f in feeds if f.enabled]
    if figures is not None:
        queues = _gauge(
            "lifeline_queue_items",
            "Items in a queue, by queue and state: waiting to go, or failed for good",
            ["queue", "state"],
        )
        for (queue, state), count in sorted(figures.queues.items()):
            queues.add_metric([queue, state], count)
        chained = _gauge(
            "lifeline_audit_chain_last_link_timestamp_seconds",
            "When the audit chain last grew (Unix time); 0 before its first link",
        )
        chained.add_metric([], figures.chained_at or 0)
        success = _gauge(
            "lifeline_feed_last_success_timestamp_seconds",
            "When each enabled feed was last polled successfully (Unix time); 0 if never",
            ["feed"],
        )
        failures = _gauge(
            "lifeline_feed_consecutive_failures",
            "Failed polls of each enabled feed since its last success",
            ["feed"],
        )
        for feed in enabled:
            last, failed = figures.feeds.get(feed.name, (None, 0))
            success.add_metric([feed.name], last or 0)
            failures.add_metric([feed.name], failed)
        families += [queues, chained, success, failures]
    interval = _gauge(
        "lifeline_feed_interval_seconds", "How often each enabled feed is polled", ["feed"]
    )
    for feed in enabled:
        interval.add_metric([feed.name], feed.interval_s)
    families.append(interval)
    families += _index_families(index, figures)
    return families


def _index_families(index: Any, figures: DatabaseFigures | None) -> list[Metric]:
    if index is None:
        return []
    ready = _gauge(
        "lifeline_exposure_index_ready",
        "1 once this process's exposure index is built and answers exposure requests",
    )
    ready.add_metric([], 1 if index.ready.is_set() else 0)
    workers = _gauge(
        "lifeline_exposure_index_workers", "Located workers in this process's exposure index"
    )
    workers.add_metric([], len(index.index))
    current = _gauge(
        "lifeline_exposure_index_current_timestamp_seconds",
        "When this process's exposure index last knew itself current with the register "
        "(built, or a refresh that found no more changes; Unix time); 0 before it is built",
    )
    current.add_metric([], index.current_at or 0)
    families: list[Metric] = [ready, workers, current]
    if figures is not None and figures.register_seq is not None:
        lag = _gauge(
            "lifeline_exposure_index_lag_changes",
            "Register changes made that this process's exposure index has not applied yet",
        )
        lag.add_metric([], max(0, figures.register_seq - index.last_seq))
        families.append(lag)
    return families


class _Scrape(Collector):
    """The process's registry and this scrape's own families, for one exposition."""

    def __init__(self, registry: CollectorRegistry, families: list[Metric]) -> None:
        self.registry = registry
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        yield from self.families


# The route.

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="MetricsToken",
    description="The deployment's `LIFELINE_METRICS_TOKEN` (not an API token)",
)


@raises(401, 404, 429)
async def metrics_scraper(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let in the holder of the metrics token; count a wrong one as a failed authentication of
    its address, as a bad API token is, so that guessing it is throttled the same way. Without
    any token the answer is a 401 whether metrics are on or off; with one, off is a 404."""
    limit_address(request)
    refuse_if_throttled(request)
    if credentials is None:
        if request.headers.get("authorization"):
            # Another scheme than Bearer, or nothing after it: a failure all the same.
            await count_failure(request, "scheme")
        raise Unauthenticated("Send the metrics token: Authorization: Bearer <metrics token>")
    expected: str | None = request.app.state.settings.metrics_token
    if expected is None:
        raise NotFound("Metrics are off in this deployment (LIFELINE_METRICS_TOKEN is not set)")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        await count_failure(request, "metrics_token")
        raise Unauthenticated("Send the metrics token: Authorization: Bearer <metrics token>")


router = APIRouter(tags=["service"])


@router.get(
    PATH,
    response_class=Response,
    responses={
        200: {
            "description": "This process's metrics in the Prometheus text format (0.0.4); "
            "every metric and label: docs/metrics.md",
            "content": {CONTENT_TYPE_PLAIN_0_0_4.split(";")[0]: {"schema": {"type": "string"}}},
        }
    },
    dependencies=[Depends(metrics_scraper)],
)
async def metrics(request: Request) -> Response:
    """This API process's metrics, for Prometheus: requests by route, queues, feeds, the exposure
    index and the process. Each process answers for itself: scrape every one."""
    state = request.app.state
    settings: Settings = state.settings
    started = time.perf_counter()
    figures: DatabaseFigures | None
    try:
        figures = await read_database_bounded(
            state.engine,
            [f.name for f in state.feeds if f.enabled],
            settings.metrics_database_timeout_s,
        )
    except Exception as exc:  # a slow or absent database: the scrape says so and goes on
        log.warning("metrics: the database was not read", extra={"error": type(exc).__name__})
        figures = None
    families = scrape_families(
        figures,
        time.perf_counter() - started,
        state.feeds,
        getattr(state, "register_index", None),
    )
    body = generate_latest(_Scrape(state.metrics.registry, families))
    return Response(
        body, media_type=CONTENT_TYPE_PLAIN_0_0_4, headers={"Cache-Control": "no-store"}
    )


def install_metrics(app: FastAPI) -> None:
    """Serve ``/metrics`` and count every request; call it last, so that the middleware is the
    outermost and times what the others add."""
    # The ``_created`` series of each counter and histogram double the series for a figure
    # nobody graphs; prometheus-client's switch for them is process-wide.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    app.state.metrics = Metrics()
    declare_answers((router,))
    app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
