"""Manual alerts: an operator's zone and fields, validated into an Alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pyproj import Geod
from shapely.geometry import Point, shape

from integrations.alert import Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError
from integrations.manual import manual_alert, parse_manual

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
SENT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
KLANG = {"type": "Point", "coordinates": [101.45, 3.04]}


def fields(**more: Any) -> dict[str, Any]:
    return {"hazard": "flood", "severity": "severe", "headline": "Flooding in Klang", **more}


def errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[tuple[Any, ...], str]]:
    return [(tuple(e["loc"]), e["msg"]) for e in exc.value.errors()]


def test_point_and_radius_become_a_geodesic_circle() -> None:
    alert = manual_alert(KLANG, fields(radius_km=25, countries=["mys"]), sent=SENT)
    assert alert.source == "manual"
    assert alert.hazard is Hazard.FLOOD and alert.severity is Severity.SEVERE
    assert alert.certainty is Certainty.OBSERVED and alert.urgency is Urgency.IMMEDIATE
    assert alert.status is Status.ACTUAL and alert.msg_type is MsgType.ALERT
    assert alert.countries == ("MYS",)
    assert alert.sent == SENT and alert.version == "1"
    assert alert.geometry is not None and alert.geometry["type"] == "Polygon"
    zone = shape(alert.geometry)
    geod = Geod(ellps="WGS84")
    assert zone.contains(Point(*geod.fwd(101.45, 3.04, 90.0, 24_000.0)[:2]))
    assert not zone.contains(Point(*geod.fwd(101.45, 3.04, 90.0, 26_000.0)[:2]))
    assert alert.extra == {"radius_km": 25.0}


def test_feature_properties_are_fields_and_the_id_is_stable() -> None:
    # The zone is PDC's real East Java volcano polygon, declared by hand.
    feature = json.loads((FEEDS / "pdc" / "hazard_geo.geojson").read_bytes())["features"][0]
    feature["properties"] = {
        "hazard": "volcano",
        "severity": 4,
        "headline": "Semeru eruption: evacuate the southern slopes",
        "onset": "2026-11-24T14:00:00+07:00",
        "expires": "2026-11-25T14:00:00+07:00",
    }
    first = manual_alert(feature, sent=SENT)
    again = parse_manual(json.dumps(feature).encode(), sent=SENT)
    assert first.external_id == again.external_id
    assert first.external_id.startswith("manual-")
    assert first.hazard is Hazard.VOLCANO and first.severity is Severity.EXTREME
    assert first.onset == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert first.expires == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    assert first.geometry is not None and shape(first.geometry).contains(Point(112.922, -8.108))
    other = manual_alert(feature, {"severity": "severe"}, sent=SENT)
    assert other.external_id != first.external_id
    named = manual_alert(feature, {"external_id": "ops-2026-17", "version": "2"}, sent=SENT)
    assert (named.external_id, named.version) == ("ops-2026-17", "2")


def test_country_only_declaration_from_a_body() -> None:
    body = {
        "hazard": "conflict",
        "severity": "extreme",
        "headline": "Armed clashes near the border crossings",
        "countries": ["MMR", "tha"],
        "status": "exercise",
        "msg_type": "update",
        "references": ["manual-abc"],
    }
    alert = parse_manual(json.dumps(body).encode(), sent=SENT)
    assert alert.geometry is None and alert.countries == ("MMR", "THA")
    assert alert.status is Status.EXERCISE and not alert.is_real
    assert alert.msg_type is MsgType.UPDATE and alert.references == ("manual-abc",)


def test_unclosed_polygon_is_repaired() -> None:
    ring = [[100.0, 13.0], [101.0, 13.0], [101.0, 14.0], [100.0, 14.0]]
    alert = manual_alert({"type": "Polygon", "coordinates": [ring]}, fields(), sent=SENT)
    assert alert.geometry is not None and shape(alert.geometry).contains(Point(100.5, 13.5))


@pytest.mark.parametrize(
    ("geometry", "more", "loc", "words"),
    [
        (KLANG, {}, ("geometry",), "needs radius_km"),
        (KLANG, {"radius_km": 0}, ("radius_km",), "greater than 0"),
        (KLANG, {"radius_km": 5000}, ("radius_km",), "less than or equal"),
        (
            {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            {},
            ("geometry",),
            "not an area",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            {"radius_km": 3},
            ("geometry",),
            "Point geometry only",
        ),
        (None, {}, (), "give a geometry, or at least one country"),
        (KLANG, {"radius_km": 3, "severity": "awful"}, ("severity",), "unknown severity"),
        (KLANG, {"radius_km": 3, "hazard": "meteor"}, ("hazard",), "Input should be"),
        (KLANG, {"radius_km": 3, "onset": "2026-11-24T14:00:00"}, ("onset",), "timezone"),
        (
            KLANG,
            {
                "radius_km": 3,
                "onset": "2026-11-24T14:00:00Z",
                "expires": "2026-11-24T13:00:00Z",
            },
            (),
            "expires must be after onset",
        ),
        (KLANG, {"radius_km": 3, "countries": ["Malaysia"]}, ("countries",), "alpha-3"),
        (KLANG, {"radius_km": 3, "headline": " "}, ("headline",), "at least 3"),
        (KLANG, {"radius_km": 3, "sender": "me"}, ("sender",), "Extra inputs"),
        (KLANG, {"radius_km": 3, "url": "http://x"}, ("url",), "pattern"),
    ],
)
def test_bad_declarations_say_where_and_why(
    geometry: dict[str, Any] | None, more: dict[str, Any], loc: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        manual_alert(geometry, fields(**more), sent=SENT)
    assert any(where == loc and words in msg for where, msg in errors(exc)), errors(exc)


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b'"flood"'])
def test_body_that_is_not_an_object(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_manual(payload)
