"""PDC hazards (JSON API, epoch-millisecond strings) and hazard polygons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape

from integrations import pdc
from integrations.alert import Certainty, Hazard, MsgType, Severity, Status
from integrations.errors import PayloadError

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "pdc"
HAZARD_UUID = "f2762e72-5169-487e-a3fa-30e21fc55893"
VOLCANO_UUID = "b8ba09e7-20f3-443f-ac69-37653eb9e647"


def hazards() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FEEDS / "hazard_data.json").read_bytes())
    return data


def test_landslide_warning_in_peru() -> None:
    (alert,) = pdc.parse_hazards((FEEDS / "hazard_data.json").read_bytes())
    assert alert.source == "pdc"
    assert alert.external_id == HAZARD_UUID
    assert alert.aliases == ("313159",)
    assert alert.headline == "Landslide - Central Andes, Huaraz, Ancash, Peru"
    assert alert.hazard is Hazard.OTHER and alert.extra["type_id"] == "LANDSLIDE"
    assert alert.severity is Severity.SEVERE and alert.extra["severity_id"] == "WARNING"
    assert alert.certainty is Certainty.LIKELY
    assert alert.status is Status.ACTUAL and alert.msg_type is MsgType.ALERT  # status "A"
    # Epoch-millisecond strings, read as UTC.
    assert alert.onset == datetime(2025, 2, 7, 0, 40, 50, 166000, tzinfo=UTC)
    assert alert.expires == datetime(2025, 2, 8, 12, 40, 50, 166000, tzinfo=UTC)
    # The version is the later of update_Date and last_Update.
    assert alert.version == "1738900579421"
    assert alert.sent == datetime(2025, 2, 7, 3, 56, 19, 421000, tzinfo=UTC)
    assert alert.extra["created"] == "2025-02-07T03:15:29.959000+00:00"
    assert alert.geometry == {"type": "Point", "coordinates": [-77.31, -9.77]}
    assert alert.url == f"https://hazardbrief.pdc.org/PRODUCTION/ui/index.html?uuid={HAZARD_UUID}"
    assert "1.32 Million people" in alert.description
    assert alert.extra["autoexpire"] is True
    assert json.loads(alert.raw)["hazard_ID"] == 313159


def test_inactive_hazard_is_a_cancel_and_types_map() -> None:
    items = hazards()
    items[0]["status"] = "E"
    items[0]["type_ID"] = "CYCLONE"
    items[0]["severity_ID"] = "WATCH"
    (alert,) = pdc.parse_hazards(json.dumps(items).encode())
    assert alert.msg_type is MsgType.CANCEL
    assert alert.hazard is Hazard.TROPICAL_CYCLONE
    assert alert.severity is Severity.MODERATE


def test_volcano_polygon_east_java() -> None:
    polygons = pdc.parse_hazard_polygons((FEEDS / "hazard_geo.geojson").read_bytes())
    assert list(polygons) == [VOLCANO_UUID]
    zone = shape(polygons[VOLCANO_UUID])
    assert zone.geom_type == "Polygon" and zone.is_valid
    assert len(zone.interiors) == 8
    minx, miny, maxx, maxy = zone.bounds
    assert (round(minx, 3), round(miny, 3), round(maxx, 3), round(maxy, 3)) == (
        112.85,
        -8.334,
        113.169,
        -8.047,
    )
    assert zone.contains(Point(112.922, -8.108))  # Semeru's summit


def test_polygons_replace_points_only_for_their_hazard() -> None:
    alerts = pdc.parse_hazards((FEEDS / "hazard_data.json").read_bytes())
    polygons = pdc.parse_hazard_polygons((FEEDS / "hazard_geo.geojson").read_bytes())
    # The two samples are different hazards: the landslide keeps its point.
    assert pdc.with_polygons(alerts, polygons) == alerts
    (joined,) = pdc.with_polygons(alerts, {HAZARD_UUID: polygons[VOLCANO_UUID]})
    assert joined.geometry == polygons[VOLCANO_UUID]
    assert joined.extra["point"] == {"type": "Point", "coordinates": [-77.31, -9.77]}


def test_other_crs_is_refused() -> None:
    doc = json.loads((FEEDS / "hazard_geo.geojson").read_bytes())
    doc["crs"]["properties"]["name"] = "EPSG:3857"
    with pytest.raises(PayloadError, match="EPSG:3857"):
        pdc.parse_hazard_polygons(json.dumps(doc).encode())


@pytest.mark.parametrize(
    "change",
    [
        {"uuid": None},
        {"update_Date": "yesterday"},
        {"update_Date": None, "last_Update": None},
        {"latitude": 95.0},
        {"longitude": "east"},
    ],
)
def test_bad_hazard_is_a_payload_error(change: dict[str, Any]) -> None:
    items = hazards()
    items[0].update(change)
    with pytest.raises(PayloadError):
        pdc.parse_hazards(json.dumps(items).encode())


@pytest.mark.parametrize("payload", [b"", b"<hazardBeans/>", b'{"type": "Feature"}', b"[1]"])
def test_garbage_is_a_payload_error(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        pdc.parse_hazards(payload)
    with pytest.raises(PayloadError):
        pdc.parse_hazard_polygons(payload)
