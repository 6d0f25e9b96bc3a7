"""Alerts pushed, declared, polled: the same item twice changes nothing, chains stay one alert,
hostile input is refused, a failing feed never stops the others, two workers store once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import select

from service.alerts.models import AlertRecord
from service.auth.permissions import Role
from service.feeds.config import FeedConfig
from service.feeds.poller import poll_due, poll_feed
from tests.conftest import TokenFactory, bearer, unique

FEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
CAP_XML = {"Content-Type": "application/cap+xml"}


def cap_message(
    identifier: str,
    msg_type: str = "Alert",
    references: str = "",
    status: str = "Actual",
    sent: str = "2026-11-20T10:00:00+08:00",
    polygon: str = "14.5,120.9 14.5,121.1 14.7,121.1 14.5,120.9",
) -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>pagasa.test</sender><sent>{sent}</sent>
  <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info><category>Met</category><event>Typhoon</event><urgency>Immediate</urgency><severity>Severe</severity>
  <certainty>Likely</certainty><headline>Typhoon signal no. 3 over Metro Manila</headline>
  <area><areaDesc>Metro Manila</areaDesc><polygon>{polygon}</polygon></area></info>
</alert>""".encode()


async def count_alerts(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return int((await session.exec(select(func.count()).select_from(AlertRecord))).one())


async def test_a_cap_chain_is_one_alert_and_the_same_message_changes_nothing(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = bearer(await make_token(Role.INTEGRATION))
    first_id = unique("TY")
    first = await client.post(
        "/api/v1/alerts/cap", content=cap_message(first_id), headers={**token, **CAP_XML}
    )
    assert first.status_code == 201, first.text
    alert = first.json()
    assert (alert["hazard"], alert["severity"], alert["exercise"]) == (
        "tropical_cyclone",
        "severe",
        False,
    )
    assert alert["geometry"]["type"] == "Polygon"
    again = await client.post(
        "/api/v1/alerts/cap", content=cap_message(first_id), headers={**token, **CAP_XML}
    )
    assert again.status_code == 200
    assert again.json()["versions"] == 1
    update = cap_message(
        unique("TY"),
        "Update",
        f"pagasa.test,{first_id},2026-11-20T10:00:00+08:00",
        sent="2026-11-20T16:00:00+08:00",
        polygon="14.0,120.5 14.0,121.5 15.0,121.5 14.0,120.5",
    )
    updated = await client.post("/api/v1/alerts/cap", content=update, headers={**token, **CAP_XML})
    assert updated.status_code == 201
    assert updated.json()["id"] == alert["id"]
    assert updated.json()["versions"] == 2
    cancel = cap_message(
        unique("TY"),
        "Cancel",
        f"pagasa.test,{first_id},2026-11-20T10:00:00+08:00",
        sent="2026-11-20T22:00:00+08:00",
    )
    cancelled = (
        await client.post("/api/v1/alerts/cap", content=cancel, headers={**token, **CAP_XML})
    ).json()
    assert cancelled["id"] == alert["id"] and cancelled["cancelled"] is True
    reader = bearer(await make_token(Role.VIEWER))
    detail = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=reader)).json()
    assert [v["msg_type"] for v in detail["history"]] == ["alert", "update", "cancel"]


async def test_exercises_are_kept_and_marked(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = bearer(await make_token(Role.INTEGRATION))
    drill = (FEEDS / "cap" / "Philippines-Tsunami.xml").read_bytes()
    response = await client.post("/api/v1/alerts/cap", content=drill, headers={**token, **CAP_XML})
    assert response.status_code in {200, 201}
    assert response.json()["exercise"] is True
    assert response.json()["status"] == "exercise"


async def test_hostile_and_broken_cap_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, make_token: TokenFactory, app: FastAPI
) -> None:
    token = bearer(await make_token(Role.INTEGRATION))
    before = await count_alerts(app)
    for payload, words in (
        ((FEEDS / "cap" / "xee.cap").read_bytes(), "DTD"),
        (b"<alert", "well-formed"),
        (b"{}", "XML"),
    ):
        response = await client.post(
            "/api/v1/alerts/cap", content=payload, headers={**token, **CAP_XML}
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"]
    wrong_type = await client.post(
        "/api/v1/alerts/cap", content=b"<x/>", headers={**token, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert await count_alerts(app) == before
    viewer = bearer(await make_token(Role.VIEWER))
    assert (
        await client.post(
            "/api/v1/alerts/cap", content=cap_message("x"), headers={**viewer, **CAP_XML}
        )
    ).status_code == 403


async def test_manual_alerts_are_idempotent(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = bearer(await make_token(Role.COORDINATOR))
    body = {
        "hazard": "civil_unrest",
        "severity": "severe",
        "headline": f"Unrest in the port district {unique('x')}",
        "geometry": {"type": "Point", "coordinates": [121.0, 14.6]},
        "radius_km": 20,
    }
    first = await client.post("/api/v1/alerts", json=body, headers=token)
    assert first.status_code == 201, first.text
    assert first.json()["geometry"]["type"] == "Polygon"
    assert (await client.post("/api/v1/alerts", json=body, headers=token)).status_code == 200
    bad = await client.post(
        "/api/v1/alerts", json={**body, "severity": "apocalyptic"}, headers=token
    )
    assert bad.status_code == 422
    listed = (await client.get("/api/v1/alerts", params={"source": "manual"}, headers=token)).json()
    assert first.json()["id"] in [a["id"] for a in listed["items"]]


def feed_server(routes: dict[str, object]) -> httpx.MockTransport:
    """Serves fixture bytes by path; a callable entry decides per request."""
    seen_etags: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        entry = routes.get(request.url.path)
        if callable(entry):
            return entry(request)  # type: ignore[no-any-return]
        if entry is None:
            return httpx.Response(404)
        seen_etags.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        assert "Lifeline" in request.headers["user-agent"]
        return httpx.Response(200, content=entry, headers={"ETag": '"v1"'})  # type: ignore[arg-type]

    return httpx.MockTransport(handler)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("slow", request=request)


FEED_SET = (
    FeedConfig(name="gdacs-test", kind="gdacs_rss", url="https://feeds.test/gdacs.xml"),
    FeedConfig(name="usgs-test", kind="usgs", url="https://feeds.test/usgs.json"),
    FeedConfig(name="broken", kind="usgs", url="https://feeds.test/garbage"),
    FeedConfig(name="down", kind="gdacs_rss", url="https://feeds.test/500"),
    FeedConfig(name="slow", kind="gdacs_rss", url="https://feeds.test/slow"),
    FeedConfig(name="cap-index", kind="cap_index", url="https://feeds.test/index.rss"),
)


@pytest.fixture
def routes() -> dict[str, object]:
    index = b"""<rss version="2.0"><channel><title>t</title>
      <item><link>https://feeds.test/a.cap</link><guid>a</guid></item>
      <item><link>https://feeds.test/xee.cap</link><guid>b</guid></item></channel></rss>"""
    return {
        "/gdacs.xml": (FEEDS / "gdacs" / "gdacs-rss.xml").read_bytes(),
        "/usgs.json": (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes(),
        "/garbage": b"\x00\x01 not json at all",
        "/500": lambda r: httpx.Response(500),
        "/slow": timeout,
        "/index.rss": index,
        "/a.cap": (FEEDS / "cap" / "example2.xml").read_bytes(),
        "/xee.cap": (FEEDS / "cap" / "xee.cap").read_bytes(),
    }


async def test_polling_survives_failing_feeds_and_repolls_write_nothing(
    app: FastAPI, routes: dict[str, object], backend: str
) -> None:
    feeds = tuple(
        f.model_copy(update={"name": f"{f.name}-{backend}-{unique('r')}"}) for f in FEED_SET
    )
    async with httpx.AsyncClient(transport=feed_server(routes)) as http:
        polled = await poll_due(app.state.engine, app.state.sessionmaker, http, feeds)
        outcomes = {f.name: o for f, o in zip(FEED_SET, polled, strict=True)}
        assert outcomes["gdacs-test"].status == "ok" and outcomes["gdacs-test"].items == 16
        assert outcomes["usgs-test"].items == 188
        assert outcomes["broken"].status == "failed" and "JSON" in (outcomes["broken"].error or "")
        assert outcomes["down"].status == "failed" and "500" in (outcomes["down"].error or "")
        assert outcomes["slow"].status == "failed" and "Timeout" in (outcomes["slow"].error or "")
        assert outcomes["cap-index"].items == 1 and "DTD" in outcomes["cap-index"].skipped_items[0]
        before = await count_alerts(app)
        again = await poll_feed(app.state.engine, app.state.sessionmaker, http, feeds[0])
        assert again.status == "not_modified"  # the ETag came back
        forced = await poll_feed(app.state.engine, app.state.sessionmaker, http, feeds[1])
        assert (forced.new, forced.updated) == (0, 0)
        assert await count_alerts(app) == before


async def test_two_workers_store_each_alert_once(app: FastAPI, routes: dict[str, object]) -> None:
    config = FeedConfig(name=f"race-{unique('r')}", kind="usgs", url="https://feeds.test/usgs.json")
    routes["/usgs.json"] = (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes()
    async with (
        httpx.AsyncClient(transport=feed_server(routes)) as one,
        httpx.AsyncClient(transport=feed_server(routes)) as two,
    ):
        results = await asyncio.gather(
            poll_feed(app.state.engine, app.state.sessionmaker, one, config),
            poll_feed(app.state.engine, app.state.sessionmaker, two, config),
        )
    async with app.state.sessionmaker() as session:
        ids = (
            await session.exec(select(AlertRecord.external_id).where(AlertRecord.source == "usgs"))
        ).all()
    assert len(ids) == len(set(ids))
    assert sum(r.new for r in results) <= 188


async def test_feed_health_and_poll_now(
    client: httpx.AsyncClient, make_token: TokenFactory, app: FastAPI, routes: dict[str, object]
) -> None:
    token = bearer(await make_token(Role.INTEGRATION))
    original = app.state.feeds, app.state.http
    app.state.feeds = (
        FeedConfig(name="gdacs-now", kind="gdacs_rss", url="https://feeds.test/gdacs.xml"),
    )
    app.state.http = httpx.AsyncClient(transport=feed_server(routes))
    try:
        polled = await client.post("/api/v1/feeds/gdacs-now/poll", headers=token)
        assert polled.status_code == 200, polled.text
        assert polled.json()["status"] in {"ok", "not_modified"}
        health = (await client.get("/api/v1/feeds", headers=token)).json()
        assert health[0]["name"] == "gdacs-now" and health[0]["last_success"] is not None
        assert (await client.post("/api/v1/feeds/nope/poll", headers=token)).status_code == 404
    finally:
        await app.state.http.aclose()
        app.state.feeds, app.state.http = original


async def test_every_alert_gets_a_zone(
    client: httpx.AsyncClient, make_token: TokenFactory, app: FastAPI
) -> None:
    token = bearer(await make_token(Role.INTEGRATION))
    geocoded = cap_message(unique("KL")).replace(
        b"<polygon>14.5,120.9 14.5,121.1 14.7,121.1 14.5,120.9</polygon>",
        b"<geocode><valueName>ISO3166-2</valueName><value>MY-14</value></geocode>",
    )
    alert = (
        await client.post("/api/v1/alerts/cap", content=geocoded, headers={**token, **CAP_XML})
    ).json()
    assert alert["geometry"] is None
    assert alert["zone_source"] == "geocodes" and alert["zone"]["type"] in {
        "Polygon",
        "MultiPolygon",
    }

    event_id = str(abs(hash(unique("e"))) % 10**8 + 10**8)  # an event no other test has seen
    routes = {
        "/gdacs.xml": (FEEDS / "gdacs" / "gdacs-1.xml")
        .read_bytes()
        .replace(b"1000643", event_id.encode()),
        "/geometry": (FEEDS / "gdacs" / "tc-1001253-ep1-geometry.json").read_bytes(),
        "/usgs.json": (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes(),
    }

    def serve(request: httpx.Request) -> httpx.Response:
        body = routes.get(request.url.path)
        return httpx.Response(200, content=body) if body else httpx.Response(404)

    gdacs_feed = FeedConfig(
        name=f"gdacs-{unique('z')}",
        kind="gdacs_rss",
        url="https://feeds.test/gdacs.xml",
        geometry_url="https://feeds.test/geometry?eventid={eventid}&episodeid={episodeid}",
    )
    usgs_feed = FeedConfig(
        name=f"usgs-{unique('z')}", kind="usgs", url="https://feeds.test/usgs.json"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        await poll_feed(app.state.engine, app.state.sessionmaker, http, gdacs_feed)
        await poll_feed(app.state.engine, app.state.sessionmaker, http, usgs_feed)
    async with app.state.sessionmaker() as session:
        tc = (
            await session.exec(
                select(AlertRecord).where(AlertRecord.external_id == f"TC{event_id}")
            )
        ).one()
        # The feed's first quake has no ShakeMap; other tests store quakes that have one.
        quake = (
            await session.exec(
                select(AlertRecord).where(
                    AlertRecord.source == "usgs", AlertRecord.external_id == "ak20255160"
                )
            )
        ).first()
    assert tc.zone_source is not None and tc.zone_source.startswith("gdacs:")
    assert (
        quake is not None
        and quake.zone_source is not None
        and quake.zone_source.startswith("point+")
    )


async def test_usgs_events_merge_on_any_shared_id(app: FastAPI) -> None:
    from integrations.alert import Alert, Certainty, Hazard, MsgType, Severity, Status, Urgency
    from service.alerts.service import UPDATED, store_alert
    from service.auth.principal import WORKER

    net = unique("n").replace("-", "")

    def quake(preferred: str, version: str) -> Alert:
        return Alert(
            source="usgs",
            external_id=preferred,
            version=version,
            hazard=Hazard.EARTHQUAKE,
            severity=Severity.MODERATE,
            certainty=Certainty.LIKELY,
            urgency=Urgency.PAST,
            status=Status.ACTUAL,
            msg_type=MsgType.ALERT,
            headline="M 6.1",
            geometry={"type": "Point", "coordinates": [122.0, 11.0]},
            aliases=(f"us{net}", f"ci{net}"),
            extra={"impact_radius_km": 20.0},
        )

    async with app.state.sessionmaker() as session:
        first, _ = await store_alert(session, alert=quake(f"us{net}", "1"), actor=WORKER)
        # The preferred id changes to the regional network's: still the same event.
        second, outcome = await store_alert(session, alert=quake(f"ci{net}", "2"), actor=WORKER)
        await session.commit()
    assert second.id == first.id and outcome == UPDATED


async def test_significant_quakes_take_their_shakemap_as_zone(app: FastAPI) -> None:
    import json

    detail = json.loads((FEEDS / "usgs" / "us10004u1y_orig.json").read_bytes())
    lon, lat = detail["geometry"]["coordinates"][:2]
    event = unique("us").replace("-", "")
    detail["id"] = event
    detail["properties"]["ids"] = f",{event},"
    summary = {
        "type": "FeatureCollection",
        "metadata": {},
        "features": [
            {
                **detail,
                "properties": {
                    **detail["properties"],
                    "detail": "https://feeds.test/detail.json",
                    "products": None,
                },
            }
        ],
    }
    ring = [
        [lon - 1, lat - 1],
        [lon + 1, lat - 1],
        [lon + 1, lat + 1],
        [lon - 1, lat + 1],
        [lon - 1, lat - 1],
    ]
    contours = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"value": 6},
                "geometry": {"type": "MultiLineString", "coordinates": [ring]},
            }
        ],
    }

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/summary.json":
            return httpx.Response(200, json=summary)
        if request.url.path == "/detail.json":
            return httpx.Response(200, json=detail)
        if request.url.path.endswith("cont_mi.json"):
            return httpx.Response(200, json=contours)
        return httpx.Response(404)

    feed = FeedConfig(
        name=f"usgs-{unique('s')}", kind="usgs", url="https://feeds.test/summary.json"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        outcome = await poll_feed(app.state.engine, app.state.sessionmaker, http, feed)
    assert outcome.new == 1
    async with app.state.sessionmaker() as session:
        row = (
            await session.exec(select(AlertRecord).where(AlertRecord.external_id == event))
        ).one()
    assert row.zone_source == "shakemap:mmi6"
    assert row.zone is not None and row.zone["type"] in {"Polygon", "MultiPolygon"}
