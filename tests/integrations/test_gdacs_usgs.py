"""GDACS and USGS samples parsed with asserted values."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations import gdacs, usgs
from integrations.alert import Certainty, Hazard, MsgType, Severity
from integrations.errors import PayloadError

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def test_gdacs_rss_with_bom_and_episodes() -> None:
    content = (FEEDS / "gdacs" / "gdacs-rss.xml").read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    alerts = gdacs.parse_rss(content)
    assert len(alerts) == 16
    kinds = [a.extra["eventtype"] for a in alerts]
    assert (kinds.count("TC"), kinds.count("EQ"), kinds.count("DR")) == (3, 2, 11)
    assert sum(1 for a in alerts if a.msg_type is MsgType.CANCEL) == 9  # iscurrent false
    first = alerts[0]
    assert (first.external_id, first.version) == ("TC1000643", "1")
    assert first.geometry == {"type": "Point", "coordinates": [59.8, -19.4]}
    assert first.onset == datetime(2019, 12, 29, 12, 0, tzinfo=UTC)
    assert first.certainty is Certainty.LIKELY and first.extra["estimate"] is True


def test_gdacs_24h_and_fixture() -> None:
    alerts = gdacs.parse_rss((FEEDS / "gdacs" / "gdacs-rss-24h.xml").read_bytes())
    assert len(alerts) == 21
    levels = [a.extra["episodealertlevel"] or a.extra["alertlevel"] for a in alerts]
    assert len({a.external_id for a in alerts}) == 21
    assert {"Green", "Orange"} >= set(levels)
    assert all(a.severity in {Severity.MINOR, Severity.SEVERE} for a in alerts)
    assert len(gdacs.parse_rss((FEEDS / "gdacs" / "gdacs-1.xml").read_bytes())) == 4


def test_gdacs_event_and_geometry() -> None:
    event = gdacs.parse_event((FEEDS / "gdacs" / "tc-1001253-ep1-event.json").read_bytes())
    assert (event.external_id, event.hazard) == ("TC1001253", Hazard.TROPICAL_CYCLONE)
    assert event.onset == datetime(2026, 1, 28, 6, 0, tzinfo=UTC)
    flood = gdacs.parse_event((FEEDS / "gdacs" / "1102983-1-geteventdata-source.json").read_bytes())
    assert (flood.external_id, flood.countries, flood.hazard) == (
        "FL1102983",
        ("ESP",),
        Hazard.FLOOD,
    )
    zones = gdacs.parse_geometry((FEEDS / "gdacs" / "tc-1001253-ep1-geometry.json").read_bytes())
    assert set(zones) >= {"green", "orange"}
    assert all(z["type"] in {"Polygon", "MultiPolygon"} for z in zones.values())
    fire = gdacs.parse_geometry((FEEDS / "gdacs" / "wf-1028649-ep1-geometry.json").read_bytes())
    assert fire["area"]["type"] == "MultiPolygon"
    assert gdacs.needs_geometry(None, event) and not gdacs.needs_geometry("1", event)


def test_usgs_summary() -> None:
    alerts = usgs.parse_summary(
        (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes()
    )
    assert len(alerts) == 188
    assert sum(a.certainty is Certainty.OBSERVED for a in alerts) == 43
    assert sum(a.extra["pager"] == "green" for a in alerts) == 3
    assert sum(a.extra["depth_km"] < 0 for a in alerts) == 4
    merged = [a for a in alerts if len(a.aliases) > 1]
    assert merged and all("" not in a.aliases for a in merged)
    assert all(a.onset is not None and a.onset.tzinfo is not None for a in alerts)


def test_usgs_detail_with_shakemap() -> None:
    sumatra = usgs.parse_detail((FEEDS / "usgs" / "us10004u1y_orig.json").read_bytes())
    assert sumatra.extra["magnitude"] == 7.8
    assert sumatra.extra["shakemap_contours"].endswith("download/cont_mi.json")
    assert 100 < sumatra.extra["impact_radius_km"] < 200
    wasco = usgs.parse_detail((FEEDS / "usgs" / "ci37528064.json").read_bytes())
    assert set(wasco.aliases) == {"at00o30yrz", "ci37528064", "nc72596550", "us10004s7r"}


def test_impact_radius_grows_with_magnitude() -> None:
    assert (
        usgs.impact_radius_km(6.0, 10)
        < usgs.impact_radius_km(7.0, 10)
        < usgs.impact_radius_km(8.0, 10)
    )
    assert usgs.impact_radius_km(7.0, 600) < usgs.impact_radius_km(7.0, 10)


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b'{"type": "Feature"}'])
def test_garbled_json_is_refused_cleanly(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        usgs.parse_summary(payload)


def test_parsing_is_fast_enough() -> None:
    """Not a timing test of record (see bench/feeds.py), only a guard against a regression by
    orders of magnitude."""
    content = (FEEDS / "usgs" / "usgs_all_earthquakes_past_day.json").read_bytes()
    started = time.perf_counter()
    usgs.parse_summary(content)
    assert time.perf_counter() - started < 1.0


def test_each_gdacs_alert_keeps_its_own_item_bytes() -> None:
    alerts = gdacs.parse_rss((FEEDS / "gdacs" / "gdacs-rss-24h.xml").read_bytes())
    for alert in alerts:
        assert alert.raw.startswith(b"<item") and alert.raw.endswith(b"</item>")
        assert f">{alert.external_id}<".encode() in alert.raw
