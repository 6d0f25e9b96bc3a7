"""USGS summary and detail feeds, ids merging, vanished events and the impact radius."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyproj import Geod
from shapely.geometry import Point, shape

from integrations import usgs
from integrations.alert import Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError, TransientFeedError

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "usgs"
DAY = FEEDS / "usgs_all_earthquakes_past_day.json"
GEOD = Geod(ellps="WGS84")


def day_feed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DAY.read_bytes())
    return data


def by_id(alerts: list[Any]) -> dict[str, Any]:
    return {a.external_id: a for a in alerts}


def test_summary_feed_first_event() -> None:
    alerts = usgs.parse_summary(DAY.read_bytes())
    assert len(alerts) == 188
    first = alerts[0]
    assert first.source == "usgs"
    assert first.external_id == "ak20255160"
    assert first.version == "1537070826993"
    assert first.hazard is Hazard.EARTHQUAKE
    assert first.headline == "M 2.0 - 132km WNW of Arctic Village, Alaska"
    assert first.onset == datetime(2018, 9, 16, 4, 0, 31, 969000, tzinfo=UTC)
    assert first.sent == datetime(2018, 9, 16, 4, 7, 6, 993000, tzinfo=UTC)
    assert first.onset is not None and first.onset.utcoffset() is not None
    assert first.geometry == {"type": "Point", "coordinates": [-148.2799, 68.7636]}
    assert first.extra["depth_km"] == 0.1
    assert first.extra["magnitude"] == 2.0 and first.extra["mag_type"] == "ml"
    assert first.certainty is Certainty.LIKELY
    assert first.urgency is Urgency.PAST
    assert first.status is Status.ACTUAL and first.msg_type is MsgType.ALERT
    assert first.severity is Severity.MINOR
    assert first.url == "https://earthquake.usgs.gov/earthquakes/eventpage/ak20255160"
    assert first.aliases == ("ak20255160",)
    assert first.extra["types"] == ["geoserve", "origin"]
    assert json.loads(first.raw) == day_feed()["features"][0]


def test_summary_feed_counts_and_values() -> None:
    alerts = usgs.parse_summary(DAY.read_bytes())
    assert all(a.onset.tzinfo is UTC for a in alerts if a.onset)
    assert sum(a.certainty is Certainty.OBSERVED for a in alerts) == 43  # reviewed
    assert sum(a.certainty is Certainty.LIKELY for a in alerts) == 145  # automatic
    events = by_id(alerts)
    # PAGER green on three M5.5+ events: PAGER wins over the magnitude.
    pager = {a.external_id: a.extra["magnitude"] for a in alerts if a.extra["pager"] == "green"}
    assert pager == {"us2000hf73": 5.5, "us2000hf24": 5.6, "us2000hf01": 5.5}
    assert all(events[i].severity is Severity.MINOR for i in pager)
    # No PAGER level: the magnitude class decides (M5.3 is moderate).
    assert events["us2000hf6h"].extra["pager"] is None
    assert events["us2000hf6h"].severity is Severity.MODERATE
    negative = sorted(a.external_id for a in alerts if a.extra["depth_km"] < 0)
    assert negative == ["ci38061215", "ci38061623", "hv70594167", "hv70594292"]
    assert events["hv70594292"].extra["depth_km"] == -1.69
    assert events["ak20254969"].aliases == ("ak20254969", "us2000hf7h")
    assert all("" not in a.aliases for a in alerts)
    assert max(a.extra["magnitude"] for a in alerts) == 5.6


def test_impact_radius_is_cheap_and_lazy() -> None:
    events = by_id(usgs.parse_summary(DAY.read_bytes()))
    quake = events["us2000hf24"]  # M5.6 at 10 km
    assert quake.geometry["type"] == "Point"
    assert quake.extra["impact_radius_km"] == 15.0
    zone = usgs.impact_zone(quake)
    assert zone is not None and zone["type"] == "Polygon"
    lon, lat = quake.geometry["coordinates"]
    circle = shape(zone)
    inside = GEOD.fwd(lon, lat, 45.0, 14_000.0)[:2]
    outside = GEOD.fwd(lon, lat, 45.0, 16_000.0)[:2]
    assert circle.contains(Point(*inside)) and not circle.contains(Point(*outside))
    # Small events get no zone.
    assert events["ak20255160"].extra["impact_radius_km"] == 0.0
    assert usgs.impact_zone(events["ak20255160"]) is None


def test_other_event_types_are_marked_or_skipped() -> None:
    feed = day_feed()
    feed["features"][0]["properties"]["type"] = "quarry blast"
    payload = json.dumps(feed).encode()
    marked = usgs.parse_summary(payload)
    assert len(marked) == 188
    blast = marked[0]
    assert blast.hazard is Hazard.OTHER and blast.severity is Severity.UNKNOWN
    assert blast.extra["event_type"] == "quarry blast"
    skipped = usgs.parse_summary(payload, skip_other_types=True)
    assert len(skipped) == 187 and "ak20255160" not in by_id(skipped)


def test_deleted_status_is_the_sources_own_cancel() -> None:
    feed = day_feed()
    feed["features"] = feed["features"][:1]
    feed["features"][0]["properties"]["status"] = "deleted"
    (alert,) = usgs.parse_summary(json.dumps(feed).encode())
    assert alert.msg_type is MsgType.CANCEL


def test_detail_sumatra_with_shakemap_and_impact_circle() -> None:
    alert = usgs.parse_detail((FEEDS / "us10004u1y_orig.json").read_bytes())
    assert alert.external_id == "us10004u1y"
    assert alert.version == "1457113214569"
    assert alert.aliases == ("us10004u1y", "gcmt20160302124948")
    assert alert.headline == "M7.8  - Southwest of Sumatra, Indonesia"
    assert alert.onset == datetime(2016, 3, 2, 12, 49, 48, 360000, tzinfo=UTC)
    assert alert.extra["magnitude"] == 7.8 and alert.extra["depth_km"] == 24.0
    assert alert.extra["tsunami_flag"] is True
    assert alert.extra["pager"] == "green" and alert.severity is Severity.MINOR
    assert alert.certainty is Certainty.OBSERVED
    assert alert.url == "https://earthquake.usgs.gov/earthquakes/eventpage/us10004u1y"
    assert alert.extra["shakemap_contours"] == (
        "https://earthquake.usgs.gov/products/shakemap/us10004u1y/us/1456937483212"
        "/download/cont_mi.json"
    )
    assert alert.extra["shakemap_version"] == "4"
    assert alert.extra["shakemap_maxmmi"] == 3.07
    assert alert.extra["impact_radius_km"] == 181.1
    assert alert.extra["zone"] == "impact_circle"
    assert alert.geometry is not None and alert.geometry["type"] == "Polygon"
    circle = shape(alert.geometry)
    assert circle.contains(Point(94.275, -4.9082))
    assert circle.contains(Point(*GEOD.fwd(94.275, -4.9082, 0.0, 175_000.0)[:2]))
    assert not circle.contains(Point(*GEOD.fwd(94.275, -4.9082, 0.0, 190_000.0)[:2]))


def test_detail_wasco_merged_networks_without_strong_shaking() -> None:
    alert = usgs.parse_detail((FEEDS / "ci37528064.json").read_bytes())
    assert alert.external_id == "ci37528064"
    assert alert.aliases == ("at00o30yrz", "ci37528064", "nc72596550", "us10004s7r")
    assert usgs.merge_key(alert) == {"at00o30yrz", "ci37528064", "nc72596550", "us10004s7r"}
    assert alert.extra["magnitude"] == 4.87
    assert alert.extra["pager"] == "green" and alert.extra["pager_alertlevel"] == "green"
    assert alert.extra["shakemap_version"] == "11" and alert.extra["shakemap_maxmmi"] == 6.6
    assert alert.extra["shakemap_contours"].endswith(
        "/products/shakemap/ci37528064/ci/1456358665798/download/cont_mi.json"
    )
    # Relative URLs of the captured deployment are made absolute.
    assert alert.url == "https://earthquake.usgs.gov/earthquakes/eventpage/ci37528064"
    assert alert.extra["zone"] == "epicentre"
    assert alert.geometry == {"type": "Point", "coordinates": [-119.3728333, 35.5423333]}
    assert alert.sent == datetime(2016, 3, 14, 21, 8, 1, 510000, tzinfo=UTC)


def test_scenario_shakemap_makes_an_exercise() -> None:
    doc = json.loads((FEEDS / "ci37528064.json").read_bytes())
    doc["properties"]["products"]["shakemap"][0]["properties"]["event-type"] = "SCENARIO"
    assert usgs.parse_detail(json.dumps(doc).encode()).status is Status.EXERCISE


def test_impact_radius_follows_allen_wald_worden_2012() -> None:
    def mmi(m: float, r: float) -> float:
        rm = -0.209 + 2.042 * math.exp(m - 5)
        value = 2.085 + 1.428 * m - 1.402 * math.log(math.hypot(r, rm))
        return value + (0.078 * math.log(r / 50) if r > 50 else 0.0)

    for magnitude, depth in [(5.6, 10.0), (6.5, 15.0), (7.8, 24.0), (8.5, 30.0)]:
        radius = usgs.impact_radius_km(magnitude, depth)
        hypocentral = math.hypot(radius, depth)
        assert mmi(magnitude, hypocentral) == pytest.approx(6.0, abs=0.01)
    assert usgs.impact_radius_km(6.0, 10) < usgs.impact_radius_km(7.0, 10)
    assert usgs.impact_radius_km(7.0, 10) < usgs.impact_radius_km(8.0, 10)
    assert usgs.impact_radius_km(7.0, 600) == 0.0  # deep: no strong shaking at the surface
    assert usgs.impact_radius_km(4.9, 0.0) == 0.0  # below the equation's range
    assert usgs.impact_radius_km(None, 10) == 0.0
    assert usgs.impact_radius_km(6.0, -1.5) == usgs.impact_radius_km(6.0, 0.0)


def test_dedupe_on_any_overlap_of_ids() -> None:
    events = by_id(usgs.parse_summary(DAY.read_bytes()))
    original = events["ak20254969"]
    # The preferred id moves to the other network's id with a later update.
    moved_feature = json.loads(original.raw)
    moved_feature["id"] = "us2000hf7h"
    moved_feature["properties"]["updated"] += 60_000
    moved = usgs.feature_to_alert(moved_feature)
    assert usgs.merge_key(original) & usgs.merge_key(moved)
    merged = usgs.dedupe([original, events["ak20255160"], moved])
    assert [a.external_id for a in merged] == ["ak20255160", "us2000hf7h"]
    assert usgs.vanished({"ak20254969"}, [moved]) == set()


def test_vanished_ids_are_only_candidates() -> None:
    alerts = usgs.parse_summary(DAY.read_bytes())
    previous = {a.external_id for a in alerts}
    assert usgs.vanished(previous, alerts) == set()
    assert usgs.vanished(previous, alerts[1:]) == {"ak20255160"}


def test_pager_losses() -> None:
    losses = usgs.parse_pager_losses((FEEDS / "us6000pi9w-losses.json").read_bytes())
    assert losses.total_fatalities == 291
    assert losses.total_dollars == 1_149_651_303
    assert losses.fatalities_by_country == {"BD": 0, "BT": 0, "CN": 291, "IN": 0, "NP": 0}
    assert losses.dollars_by_country["CN"] == 1_149_651_298
    assert losses.dollars_by_country["NP"] == 5
    assert losses.alert_level == "red"  # over US$1 billion; 291 deaths alone is orange


def test_shakemap_zone_from_closed_contours() -> None:
    # No contour file is among the real samples: this one is built in the ShakeMap 4 layout
    # (MultiLineString features with an MMI "value") to exercise the polygon building.
    ring6 = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    ring7 = [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75], [0.25, 0.25]]
    cut_open = [[2.0, 0.0], [3.0, 0.0], [3.0, 1.0]]
    contours = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"value": v}, "geometry": g}
            for v, g in [
                (
                    5.0,
                    {
                        "type": "MultiLineString",
                        "coordinates": [[[-1, -1], [2, -1], [2, 2], [-1, -1]]],
                    },
                ),
                (6.0, {"type": "MultiLineString", "coordinates": [ring6, cut_open]}),
                (7.0, {"type": "LineString", "coordinates": ring7}),
            ]
        ],
    }
    zone = usgs.shakemap_zone(json.dumps(contours).encode())
    assert zone is not None
    assert shape(zone).bounds == (0.0, 0.0, 1.0, 1.0)
    assert usgs.shakemap_zone(json.dumps(contours).encode(), min_mmi=8.0) is None
    with pytest.raises(PayloadError):
        usgs.shakemap_zone(b"<html>")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{",
        b"[]",
        b"\xff\xfe garbage",
        b'{"type": "Feature"}',
        b'{"type": "FeatureCollection", "features": [{"id": "x1", "properties": {}}]}',
        b'{"type": "FeatureCollection", "features": [{"id": "x1", "properties": {"time": 1, '
        b'"updated": 2}, "geometry": {"type": "Point", "coordinates": [200, 95, 1]}}]}',
        b"[" * 100_000,
    ],
)
def test_garbage_is_a_payload_error(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        usgs.parse_summary(payload)


def test_detail_garbage_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        usgs.parse_detail(DAY.read_bytes())  # a FeatureCollection, not one event
    with pytest.raises(PayloadError):
        usgs.parse_pager_losses(b'{"empirical_fatality": {}}')


def test_summary_urls() -> None:
    assert usgs.summary_url("all", "day") == (
        "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_day.geojson"
    )
    with pytest.raises(ValueError, match="period"):
        usgs.summary_url("4.5", "year")


def test_summary_parsing_keeps_well_over_2000_items_per_second() -> None:
    """A guard against a regression by an order of magnitude, not a benchmark: best of five
    runs, with the floor ten times under what the parser does on a laptop."""
    content = DAY.read_bytes()
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        count = len(usgs.parse_summary(content))
        best = min(best, time.perf_counter() - started)
    assert count / best > 2_000


async def test_fetch_detail_refines_the_zone_with_shakemap_contours() -> None:
    detail = (FEEDS / "us10004u1y_orig.json").read_bytes()
    ring = [[94.0, -5.2], [94.6, -5.2], [94.6, -4.6], [94.0, -4.6], [94.0, -5.2]]
    contours = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"value": 6.0},
                "geometry": {"type": "LineString", "coordinates": ring},
            }
        ],
    }
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/cont_mi.json"):
            return httpx.Response(200, json=contours)
        return httpx.Response(200, content=detail)

    url = "https://earthquake.usgs.gov/earthquakes/feed/v1.0/detail/us10004u1y.geojson"
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        alert = await usgs.fetch_detail(client, url)
    assert seen == [url, alert.extra["shakemap_contours"]]
    assert alert.extra["zone"] == "shakemap"
    assert alert.geometry is not None and shape(alert.geometry).bounds == (94.0, -5.2, 94.6, -4.6)
    assert alert.fetch is not None and alert.fetch.url == url


async def test_fetch_detail_keeps_the_circle_when_contours_fail() -> None:
    detail = (FEEDS / "us10004u1y_orig.json").read_bytes()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cont_mi.json"):
            return httpx.Response(404)
        return httpx.Response(200, content=detail)

    url = "https://earthquake.usgs.gov/earthquakes/feed/v1.0/detail/us10004u1y.geojson"
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        alert = await usgs.fetch_detail(client, url)
        assert alert.extra["zone"] == "impact_circle"
        assert "404" in alert.extra["shakemap_error"]
    busy = httpx.MockTransport(lambda request: httpx.Response(503))
    async with httpx.AsyncClient(transport=busy) as client:
        with pytest.raises(TransientFeedError):
            await usgs.fetch_detail(client, url)
