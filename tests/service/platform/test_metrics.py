"""``GET /metrics``: the text parses, a route with an id is counted under its template, the queues
follow their rows, the feeds and the index show what they are, a slow database slows no scrape
past its deadline, nobody without the metrics token reads it, no label holds a person or an id,
and the dashboard asks only for what is exposed."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, text, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from service.alerts.models import FeedState
from service.app import create_app
from service.audit.models import AuditEvent
from service.auth.limits import Limits
from service.auth.permissions import Role
from service.db import session_scope
from service.directory.models import OrgKind
from service.feeds.config import FeedConfig
from service.messaging.models import OutboundMessage
from service.metrics import (
    DELIVERIES,
    LATENCY_BUCKETS,
    MESSAGES,
    OUTBOX,
    Metrics,
    MetricsMiddleware,
    RouteTemplates,
)
from service.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from tests.conftest import bearer, http_scope, make_org_in, make_token_in, settings_for, unique

TOKEN = "metrics-token-for-the-tests-" + "0" * 16
SCRAPER = bearer(TOKEN)
DASHBOARD = Path(__file__).parents[3] / "deploy" / "dashboards" / "lifeline.json"
#: Every label name /metrics may use: ours, and prometheus-client's process and platform ones.
LABELS = {
    "route", "method", "status", "le", "queue", "state", "feed", "version",
    "generation", "implementation", "major", "minor", "patchlevel",
}  # fmt: skip
SUBSCRIPTIONS = WebhookSubscription.__table__  # type: ignore[attr-defined]
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


@pytest.fixture(scope="session")
async def metrics_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The app with a metrics token, on the shared database, with feeds of its own: the feed
    rows other tests write are not its."""
    settings = settings_for(database_url).model_copy(update={"metrics_token": TOKEN})
    application = create_app(settings, configure_logs=False)
    async with application.router.lifespan_context(application):
        await application.state.register_index.ready.wait()
        application.state.feeds = (
            FeedConfig.model_validate(
                {"name": unique("feed"), "kind": "usgs", "url": "https://feeds.example.org/a"}
            ),
            FeedConfig.model_validate(
                {
                    "name": unique("feed"),
                    "kind": "usgs",
                    "url": "https://feeds.example.org/b",
                    "enabled": False,
                }
            ),
        )
        yield application


@pytest.fixture
async def scraper(metrics_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=metrics_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as c:
        yield c


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_the_text_parses_into_every_family(scraper: httpx.AsyncClient) -> None:
    await scraper.get("/healthz")
    response = await scraper.get("/metrics", headers=SCRAPER)
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {
        "lifeline_http_requests",
        "lifeline_http_request_duration_seconds",
        "lifeline_http_requests_in_flight",
        "lifeline_build_info",
        "lifeline_metrics_database_read_ok",
        "lifeline_metrics_database_read_seconds",
        "lifeline_queue_items",
        "lifeline_audit_chain_last_link_timestamp_seconds",
        "lifeline_feed_last_success_timestamp_seconds",
        "lifeline_feed_consecutive_failures",
        "lifeline_feed_interval_seconds",
        "lifeline_exposure_index_ready",
        "lifeline_exposure_index_workers",
        "lifeline_exposure_index_current_timestamp_seconds",
        "lifeline_exposure_index_lag_changes",
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_collections",
    } <= set(families)
    assert families["lifeline_http_requests"].type == "counter"
    assert families["lifeline_http_request_duration_seconds"].type == "histogram"
    buckets = {
        float(s.labels["le"])
        for s in families["lifeline_http_request_duration_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert buckets == {*LATENCY_BUCKETS, float("inf")}
    # No _created series: they double the series for a figure nobody graphs.
    assert "_created" not in response.text
    assert value(await scrape(scraper), "lifeline_metrics_database_read_ok") == 1, (
        "the database read failed"
    )


async def test_a_route_with_an_id_is_counted_under_its_template(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    admin = await make_token_in(metrics_app, Role.ADMIN, await make_org_in(metrics_app))
    task_id = str(uuid.uuid4())
    route = {"route": "/api/v1/tasks/{id}", "method": "GET"}
    before = await scrape(scraper)
    assert (await scraper.get(f"/api/v1/tasks/{task_id}", headers=bearer(admin))).status_code == 404
    assert (await scraper.get(f"/api/v1/tasks/{task_id}")).status_code == 401
    assert (await scraper.get(f"/no/such/{task_id}")).status_code == 404
    response = await scraper.get("/metrics", headers=SCRAPER)
    assert task_id not in response.text
    after = await scrape(scraper)
    for status in ("404", "401"):
        counted = "lifeline_http_requests_total"
        assert value(after, counted, **route, status=status) == (
            value(before, counted, **route, status=status) + 1
        ), status
    count = "lifeline_http_request_duration_seconds_count"
    assert value(after, count, **route) == value(before, count, **route) + 2
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "lifeline_http_requests_total", **unmatched) >= 1
    # The scrape being answered is in flight while it reads itself.
    assert value(after, "lifeline_http_requests_in_flight") >= 1


def test_every_route_has_a_template_with_its_prefix(metrics_app: FastAPI) -> None:
    routes = RouteTemplates(metrics_app.router.routes)
    templates = {template for _, _, template in routes.patterns}
    assert {"/api/v1/workers/{id}", "/api/v1/tasks/{id}", "/metrics", "/healthz"} <= templates
    assert "/console/static/{path}" in templates
    scope = {"type": "http", "method": "PATCH", "path": "/api/v1/tasks/abc"}
    assert routes.template(scope, "/api/v1/tasks/abc") == "/api/v1/tasks/{id}"
    assert routes.template(scope, "/api/v1/tasks/abc/nothing/here") == "unmatched"


async def test_a_streamed_answer_is_counted_when_it_starts_and_timed_to_its_end() -> None:
    metrics = Metrics()
    release = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first,"
        await release.wait()
        yield b"last"

    async def download(request: Request) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/csv")

    app = MetricsMiddleware(Starlette(routes=[Route("/exports/{id}", download)]), metrics=metrics)
    sent: list[dict[str, Any]] = []
    first_chunk = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)
        if message.get("body") == b"first,":
            first_chunk.set()

    started = time.perf_counter()
    answering = asyncio.create_task(app(http_scope("GET", "/exports/42", {}), receive, send))
    await first_chunk.wait()
    route = {"route": "/exports/{id}", "method": "GET"}
    registry = metrics.registry
    assert (
        registry.get_sample_value("lifeline_http_requests_total", {**route, "status": "200"}) == 1
    )
    assert registry.get_sample_value("lifeline_http_requests_in_flight") == 1
    assert registry.get_sample_value("lifeline_http_request_duration_seconds_count", route) is None
    await asyncio.sleep(0.05)
    release.set()
    await answering
    took = time.perf_counter() - started
    assert registry.get_sample_value("lifeline_http_requests_in_flight") == 0
    assert registry.get_sample_value("lifeline_http_request_duration_seconds_count", route) == 1
    timed = registry.get_sample_value("lifeline_http_request_duration_seconds_sum", route)
    assert timed is not None and 0.05 <= timed <= took


async def test_the_queue_depths_follow_their_rows(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    maker = metrics_app.state.sessionmaker
    event = OutboxEvent(type="task.updated", subject=unique("subject"))
    subscriptions = [
        WebhookSubscription(
            organization_id=str(uuid.uuid4()), url="https://receiver.test/hook", secret_sealed="x"
        )
        for _ in range(2)
    ]
    waiting = OutboundMessage(step="check", kind="check", language="en", gateway="drill")
    failed = OutboundMessage(
        step="check", kind="check", language="en", gateway="drill", state="failed"
    )
    queues = {
        ("webhook_events", "waiting"): 1,
        ("webhook_deliveries", "waiting"): 1,
        ("webhook_deliveries", "failed"): 1,
        ("welfare_messages", "waiting"): 1,
        ("welfare_messages", "failed"): 1,
        ("audit_chain", "waiting"): 1,
    }
    before = await scrape(scraper)
    try:
        async with session_scope(maker) as session:
            session.add_all([event, *subscriptions, waiting, failed])
            await session.flush()
            for status, subscription in zip(("pending", "dead"), subscriptions, strict=True):
                session.add(
                    WebhookDelivery(
                        event_id=event.id,
                        subscription_id=subscription.id,
                        subject=event.subject,
                        status=status,
                    )
                )
            session.add(AuditEvent(channel="cli", action="metrics.test"))
        after = await scrape(scraper)
        for (queue, state), added in queues.items():
            name, labels = "lifeline_queue_items", {"queue": queue, "state": state}
            assert value(after, name, **labels) == value(before, name, **labels) + added, labels
        async with metrics_app.state.engine.begin() as conn:
            await conn.execute(
                update(OUTBOX).where(OUTBOX.c.id == event.id).values(fanned_out=True)
            )
        fanned = await scrape(scraper)
        labels = {"queue": "webhook_events", "state": "waiting"}
        assert value(fanned, "lifeline_queue_items", **labels) == value(
            before, "lifeline_queue_items", **labels
        )
    finally:
        async with metrics_app.state.engine.begin() as conn:
            # The deliveries go with their event and subscription (ON DELETE CASCADE).
            await conn.execute(delete(DELIVERIES).where(DELIVERIES.c.event_id == event.id))
            await conn.execute(delete(OUTBOX).where(OUTBOX.c.id == event.id))
            await conn.execute(
                delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id.in_([s.id for s in subscriptions]))
            )
            await conn.execute(delete(MESSAGES).where(MESSAGES.c.id.in_([waiting.id, failed.id])))


async def test_each_enabled_feed_shows_its_last_success_and_failures(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    on, off = metrics_app.state.feeds
    never = await scrape(scraper)
    assert value(never, "lifeline_feed_last_success_timestamp_seconds", feed=on.name) == 0
    assert value(never, "lifeline_feed_interval_seconds", feed=on.name) == on.interval_s
    succeeded = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    async with session_scope(metrics_app.state.sessionmaker) as session:
        session.add(FeedState(name=on.name, last_success=succeeded, consecutive_failures=3))
        session.add(FeedState(name=off.name, last_success=succeeded, consecutive_failures=7))
    samples = await scrape(scraper)
    success = "lifeline_feed_last_success_timestamp_seconds"
    assert value(samples, success, feed=on.name) == succeeded.timestamp()
    assert value(samples, "lifeline_feed_consecutive_failures", feed=on.name) == 3
    # A feed that is off is not polled: nothing of it is shown to go stale.
    assert not [key for key in samples if ("feed", off.name) in key[1]]


async def test_the_exposure_index_shows_its_size_and_lag(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    officer = await make_token_in(
        metrics_app,
        Role.CONSULAR_OFFICER,
        await make_org_in(metrics_app, OrgKind.EMBASSY, "MYS", represents="PHL"),
    )
    index = metrics_app.state.register_index
    await index.refresh()
    current = await scrape(scraper)
    assert value(current, "lifeline_exposure_index_ready") == 1
    assert value(current, "lifeline_exposure_index_lag_changes") == 0
    assert value(current, "lifeline_exposure_index_workers") == len(index.index)
    assert value(current, "lifeline_exposure_index_current_timestamp_seconds") > time.time() - 60
    made = await scraper.post(
        "/api/v1/workers",
        json={
            "nationality": "PHL",
            "given_name": "Lag",
            "location": {"lat": 3.139, "lon": 101.687},
            "source": "embassy_registration",
        },
        headers=bearer(officer),
    )
    assert made.status_code == 201, made.text
    # Changes the index has not applied yet, until its follower (or this) refreshes it.
    behind = index.last_seq
    async with metrics_app.state.engine.connect() as conn:
        head = (await conn.execute(text("SELECT MAX(seq) FROM register_changes"))).scalar_one()
    lagging = await scrape(scraper)
    if index.last_seq == behind:  # the follower did not run in between
        assert value(lagging, "lifeline_exposure_index_lag_changes") >= head - behind >= 1
    await index.refresh()
    assert value(await scrape(scraper), "lifeline_exposure_index_lag_changes") == 0


async def test_a_database_past_the_deadline_leaves_its_figures_out(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    settings = metrics_app.state.settings
    # A request counted before, whatever ran before this test.
    assert (await scraper.get("/healthz")).status_code == 200
    metrics_app.state.settings = settings.model_copy(update={"metrics_database_timeout_s": 1e-6})
    try:
        started = time.perf_counter()
        samples = await scrape(scraper)
        # Bounded (generously: the suite shares a loaded machine), not timed.
        assert time.perf_counter() - started < 5
        # A deadline the database meets, however loaded the machine: the figures are back.
        metrics_app.state.settings = settings.model_copy(update={"metrics_database_timeout_s": 30})
        again = await scrape(scraper)
    finally:
        metrics_app.state.settings = settings
    assert value(samples, "lifeline_metrics_database_read_ok") == 0
    names = {name for name, _ in samples}
    assert "lifeline_queue_items" not in names
    assert "lifeline_exposure_index_lag_changes" not in names
    # What needs no database is still there.
    assert "lifeline_http_requests_total" in names and "process_cpu_seconds_total" in names
    assert value(again, "lifeline_metrics_database_read_ok") == 1


async def test_a_locked_table_slows_no_scrape_past_the_deadline(
    metrics_app: FastAPI, scraper: httpx.AsyncClient, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite's readers are not blocked by a writer (WAL)")
    settings = metrics_app.state.settings
    metrics_app.state.settings = settings.model_copy(update={"metrics_database_timeout_s": 0.5})
    try:
        async with metrics_app.state.engine.connect() as holder:
            await holder.execute(text("LOCK TABLE outbox_events IN ACCESS EXCLUSIVE MODE"))
            started = time.perf_counter()
            samples = await scrape(scraper)
            took = time.perf_counter() - started
            await holder.rollback()
    finally:
        metrics_app.state.settings = settings
    assert 0.4 < took < 5, took  # the deadline (0.5 s), generously bounded: not a hang
    assert value(samples, "lifeline_metrics_database_read_ok") == 0
    assert value(await scrape(scraper), "lifeline_metrics_database_read_ok") == 1


async def test_nobody_without_the_metrics_token_reads_them(
    app: FastAPI, client: httpx.AsyncClient, metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    admin = await make_token_in(metrics_app, Role.ADMIN, await make_org_in(metrics_app))
    for headers in (
        {},
        {"Authorization": "Bearer " + TOKEN[:-1] + "1"},
        # An API token, an administrator's even: it is not the metrics token.
        bearer(admin),
        {"Authorization": "Basic eDp5"},
    ):
        refused = await scraper.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "lifeline_" not in refused.text
    # Without a token set, /metrics is off: nothing to guess. Without a token it is a 401 all
    # the same, as the OpenAPI document says of a missing Authorization.
    off = await client.get("/metrics", headers=SCRAPER)
    assert off.status_code == 404
    assert off.json()["type"].endswith("/not-found")
    assert (await client.get("/metrics")).status_code == 401


async def test_a_guessed_metrics_token_is_throttled_as_a_bad_api_token_is(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    limits = metrics_app.state.limits
    metrics_app.state.limits = Limits.build(
        token_per_minute=0, address_per_minute=0, failures_per_minute=2, secret="test"
    )
    try:
        for _ in range(2):
            guess = await scraper.get("/metrics", headers=bearer("guess-" + "1" * 32))
            assert guess.status_code == 401
        throttled = await scraper.get("/metrics", headers=SCRAPER)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
    finally:
        metrics_app.state.limits = limits


async def test_no_label_holds_a_person_or_an_id(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    officer = await make_token_in(
        metrics_app,
        Role.CONSULAR_OFFICER,
        await make_org_in(metrics_app, OrgKind.EMBASSY, "MYS", represents="PHL"),
    )
    name, document = unique("Name"), f"PX{uuid.uuid4().int % 10**8:08d}"
    made = await scraper.post(
        "/api/v1/workers",
        json={
            "nationality": "PHL",
            "given_name": name,
            "document_number": document,
            "phone": "+60123456789",
            "location": {"lat": 3.139, "lon": 101.687},
            "source": "embassy_registration",
        },
        headers=bearer(officer),
    )
    assert made.status_code == 201, made.text
    worker_id = made.json()["id"]
    await scraper.get(f"/api/v1/workers/{worker_id}", headers=bearer(officer))
    await scraper.get(f"/api/v1/workers/{worker_id}?given_name={name}", headers=bearer(officer))
    await scraper.request("BREW", f"/{name}", headers=bearer(officer))
    response = await scraper.get("/metrics", headers=SCRAPER)
    for secret in (name, document, worker_id, "60123456789", officer):
        assert secret not in response.text
    templates = {t for _, _, t in RouteTemplates(metrics_app.router.routes).patterns}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            assert set(sample.labels) <= LABELS, sample
            for label, shown in sample.labels.items():
                assert not _UUID.search(shown), sample
                if label == "route":
                    assert shown in templates or shown == "unmatched", sample
                if label == "method":
                    assert shown.isupper() or shown == "other", sample


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


async def test_the_dashboard_asks_only_for_what_is_exposed(
    metrics_app: FastAPI, scraper: httpx.AsyncClient
) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = _exprs(dashboard)
    assert len(exprs) >= 8
    await scraper.get("/healthz")  # a request timed: the histogram's series exist
    exposed = {name for name, _ in await scrape(scraper)}
    asked = {
        name
        for expr in exprs
        for name in re.findall(r"\b((?:lifeline|process|python)_[a-z0-9_]+)\b", expr)
    }
    assert asked, exprs
    assert asked <= exposed, sorted(asked - exposed)
    titles = " ".join(str(p.get("title", "")) for p in dashboard["panels"]).lower()
    for subject in ("request", "error", "latency", "queue", "feed", "index"):
        assert subject in titles, subject


def test_metrics_are_declared_in_the_openapi_document(metrics_app: FastAPI) -> None:
    operation = metrics_app.openapi()["paths"]["/metrics"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/plain"}
    for status in ("401", "404", "429"):
        content = operation["responses"][status]["content"]
        assert set(content) == {"application/problem+json"}, status
    assert operation["security"] == [{"MetricsToken": []}]


def test_an_app_without_the_token_still_builds_its_metrics(database_url: str) -> None:
    # Each app its own registry: building a second one in the process is no duplicate.
    first = create_app(settings_for(database_url), configure_logs=False)
    second = create_app(settings_for(database_url), configure_logs=False)
    assert first.state.metrics.registry is not second.state.metrics.registry
