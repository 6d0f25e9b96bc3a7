"""NASA EONET events, in both answer formats, and its categories."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations import eonet
from integrations.alert import Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "eonet"


def events() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FEEDS / "events.json").read_bytes())
    return data


def test_events_json() -> None:
    alerts = eonet.parse_events((FEEDS / "events.json").read_bytes())
    assert [a.external_id for a in alerts] == ["EONET_15547", "EONET_15545", "EONET_15546"]
    narda, ragasa, neoguri = alerts
    assert ragasa.source == "eonet"
    assert ragasa.headline == "Super Typhoon Ragasa"
    assert ragasa.hazard is Hazard.TROPICAL_CYCLONE
    assert ragasa.extra["observations"] == 19
    assert ragasa.onset == datetime(2025, 9, 18, 18, 0, tzinfo=UTC)
    assert ragasa.version == "2025-09-23T06:00:00+00:00"
    assert ragasa.sent == datetime(2025, 9, 23, 6, 0, tzinfo=UTC)
    assert ragasa.geometry == {"type": "Point", "coordinates": [117.1, 20.4]}
    assert ragasa.extra["magnitude"] == 120.0 and ragasa.extra["magnitude_unit"] == "kts"
    assert ragasa.severity is Severity.EXTREME  # 120 kt: category 4
    track = ragasa.extra["track"]
    assert track["type"] == "LineString" and len(track["coordinates"]) == 19
    assert track["coordinates"][0] == [132.2, 16.0]
    assert ragasa.extra["sources"] == ["JTWC"]
    assert ragasa.url == "https://eonet.gsfc.nasa.gov/api/v3/events/EONET_15545"
    assert ragasa.msg_type is MsgType.ALERT and ragasa.expires is None
    assert ragasa.certainty is Certainty.OBSERVED and ragasa.status is Status.ACTUAL
    assert (narda.headline, narda.extra["magnitude"], narda.severity) == (
        "Tropical Storm Narda",
        60.0,
        Severity.MODERATE,
    )
    assert narda.geometry == {"type": "Point", "coordinates": [-105.6, 15.7]}
    assert (neoguri.extra["magnitude"], neoguri.severity) == (75.0, Severity.SEVERE)
    assert neoguri.geometry == {"type": "Point", "coordinates": [153.3, 30.7]}


def test_events_geojson_groups_observations_by_event() -> None:
    content = (FEEDS / "events_geojson.json").read_bytes()
    assert len(json.loads(content)["features"]) == 34
    alerts = {a.external_id: a for a in eonet.parse_events_geojson(content)}
    assert list(alerts) == ["EONET_15547", "EONET_15545", "EONET_15546"]
    from_json = {a.external_id: a for a in eonet.parse_events((FEEDS / "events.json").read_bytes())}
    for event_id in ("EONET_15547", "EONET_15545"):
        a, b = alerts[event_id], from_json[event_id]
        assert (a.version, a.geometry, a.onset, a.severity, a.hazard, a.url) == (
            b.version,
            b.geometry,
            b.onset,
            b.severity,
            b.hazard,
            b.url,
        )
        assert a.extra["observations"] == b.extra["observations"]
    # The GeoJSON capture holds only the first 8 of Neoguri's 19 positions.
    neoguri = alerts["EONET_15546"]
    assert neoguri.extra["observations"] == 8
    assert neoguri.version == "2025-09-20T12:00:00+00:00"
    assert neoguri.geometry == {"type": "Point", "coordinates": [155.0, 26.3]}
    assert neoguri.extra["magnitude"] == 95.0


def test_parse_tells_the_formats_apart() -> None:
    assert len(eonet.parse((FEEDS / "events.json").read_bytes())) == 3
    assert len(eonet.parse((FEEDS / "events_geojson.json").read_bytes())) == 3


def test_categories_cover_the_mapping() -> None:
    categories = eonet.parse_categories((FEEDS / "categories.json").read_bytes())
    assert len(categories) == 13
    assert categories["severeStorms"] == "Severe Storms"
    assert categories["wildfires"] == "Wildfires"
    assert set(categories) == set(eonet.CATEGORIES)


def test_closed_event_is_a_cancel() -> None:
    doc = events()
    event = doc["events"][1]
    event["closed"] = "2025-09-25T00:00:00Z"
    alert = eonet.parse_events(json.dumps(doc).encode())[1]
    assert alert.msg_type is MsgType.CANCEL
    assert alert.urgency is Urgency.PAST
    assert alert.expires == datetime(2025, 9, 25, tzinfo=UTC)
    assert alert.version == "2025-09-25T00:00:00+00:00"


def test_polygon_observation_and_other_categories() -> None:
    doc = events()
    event = doc["events"][0]
    event["categories"] = [{"id": "wildfires", "title": "Wildfires"}]
    ring = [[100.0, 1.0], [101.0, 1.0], [101.0, 2.0], [100.0, 2.0], [100.0, 1.0]]
    event["geometry"].append(
        {
            "magnitudeValue": 5000.0,
            "magnitudeUnit": "acres",
            "date": "2025-09-24T00:00:00Z",
            "type": "Polygon",
            "coordinates": [ring],
        }
    )
    alert = eonet.parse_events(json.dumps(doc).encode())[0]
    assert alert.hazard is Hazard.WILDFIRE
    assert alert.geometry == {"type": "Polygon", "coordinates": [ring]}
    assert alert.severity is Severity.UNKNOWN  # acres say nothing of the danger to people


def test_events_url_sends_bbox_in_eonet_order() -> None:
    url = eonet.events_url(days=20, categories=["severeStorms"], bbox=(92.0, -11.0, 141.0, 28.5))
    query = parse_qs(urlsplit(url).query)
    assert query["bbox"] == ["92.0,28.5,141.0,-11.0"]
    assert query["category"] == ["severeStorms"] and query["status"] == ["open"]
    with pytest.raises(ValueError, match="categories"):
        eonet.events_url(categories=["storms"])


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{",
        b'{"events": {}}',
        b'{"events": [{"id": "EONET_1", "geometry": [{"type": "Point"}]}]}',
        b'{"events": [{"id": "EONET_1", "geometry": [{"date": "2025-01-01T00:00:00Z", '
        b'"type": "Point", "coordinates": [200, 95]}]}]}',
        b'{"events": [{"id": "EONET_1", "geometry": []}]}',
        b'{"type": "FeatureCollection", "features": [{"properties": {}}]}',
    ],
)
def test_garbage_is_a_payload_error(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        eonet.parse(payload)
