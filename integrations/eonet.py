"""NASA EONET v3 natural events (JSON and GeoJSON) as corroborating alerts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from integrations.alert import Alert, Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError
from integrations.timeparse import parse_time

SOURCE = "eonet"
EVENTS_URL = "https://eonet.gsfc.nasa.gov/api/v3/events"
GEOJSON_URL = "https://eonet.gsfc.nasa.gov/api/v3/events/geojson"

#: EONET category ids (``/api/v3/categories``) → hazard. Severe storms are split by title below.
CATEGORIES: dict[str, Hazard] = {
    "drought": Hazard.DROUGHT,
    "dustHaze": Hazard.OTHER,
    "earthquakes": Hazard.EARTHQUAKE,
    "floods": Hazard.FLOOD,
    "landslides": Hazard.OTHER,
    "manmade": Hazard.OTHER,
    "seaLakeIce": Hazard.OTHER,
    "severeStorms": Hazard.OTHER,
    "snow": Hazard.OTHER,
    "tempExtremes": Hazard.OTHER,
    "volcanoes": Hazard.VOLCANO,
    "waterColor": Hazard.OTHER,
    "wildfires": Hazard.WILDFIRE,
}

_CYCLONE_TITLE = re.compile(r"\b(typhoon|hurricane|cyclone|tropical (storm|depression))\b", re.I)


def events_url(
    *,
    status: str = "open",
    days: int | None = None,
    categories: Sequence[str] = (),
    bbox: tuple[float, float, float, float] | None = None,
    geojson: bool = False,
) -> str:
    """An events query. ``bbox`` is the usual (min_lon, min_lat, max_lon, max_lat); it is sent
    in EONET's own order, upper-left then lower-right: min_lon, max_lat, max_lon, min_lat."""
    if status not in {"open", "closed", "all"}:
        raise ValueError(f"status={status!r}: use open, closed or all")
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown EONET categories {unknown}: use ids of /api/v3/categories")
    params: list[tuple[str, str]] = [("status", status)]
    if days is not None:
        if days < 1:
            raise ValueError(f"days={days} must be at least 1")
        params.append(("days", str(days)))
    if categories:
        params.append(("category", ",".join(categories)))
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValueError(f"bbox={bbox} is not (min_lon, min_lat, max_lon, max_lat)")
        params.append(("bbox", f"{min_lon},{max_lat},{max_lon},{min_lat}"))
    return f"{GEOJSON_URL if geojson else EVENTS_URL}?{urlencode(params)}"


@dataclass(frozen=True, slots=True)
class _Observation:
    date: datetime
    geometry: dict[str, Any]
    magnitude: float | None
    unit: str | None


def parse_events(payload: bytes) -> list[Alert]:
    """Alerts from ``/events`` (JSON): one per event, whatever the number of observations.

    Geometry is the latest observation (a Point or a Polygon, lon/lat). Storm tracks keep
    every position in ``extra["track"]`` (a GeoJSON LineString). ``version`` is the latest
    observation date, or the closing date once ``closed`` is set, which makes the alert a
    cancel: EONET has no severity or cancel of its own, only "the event ended".

    Raises
    ------
    PayloadError
        Not JSON, or not an EONET events answer.
    """
    return _from_events(_load_json(payload))


def parse_events_geojson(payload: bytes) -> list[Alert]:
    """Alerts from ``/events/geojson``: features (one per observation) grouped by event id.

    Gives the same alerts as :func:`parse_events` for the same data.

    Raises
    ------
    PayloadError
        Not JSON, or not a FeatureCollection of EONET observations.
    """
    return _from_geojson(_load_json(payload))


def parse(payload: bytes) -> list[Alert]:
    """Either answer, told apart by its shape: a FeatureCollection is ``/events/geojson``.

    Raises
    ------
    PayloadError
        Not JSON, or neither an events answer nor a GeoJSON one.
    """
    doc = _load_json(payload)
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        return _from_geojson(doc)
    return _from_events(doc)


def _from_events(doc: Any) -> list[Alert]:
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise PayloadError("an EONET events answer is an object with an events list")
    alerts = []
    for index, event in enumerate(doc["events"]):
        if not isinstance(event, dict):
            raise PayloadError(f"EONET event {index} is not an object")
        observations = [_observation(g, str(event.get("id"))) for g in event.get("geometry") or []]
        alerts.append(_alert(event, observations, event.get("link"), event))
    return alerts


def _from_geojson(doc: Any) -> list[Alert]:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise PayloadError("an EONET GeoJSON answer is a FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise PayloadError("the EONET FeatureCollection has no features list")
    events: dict[str, tuple[dict[str, Any], list[_Observation], list[Any]]] = {}
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict) or not isinstance(props.get("id"), str):
            raise PayloadError(f"EONET feature {index} has no event id")
        geometry = feature.get("geometry")
        raw = dict(geometry) if isinstance(geometry, dict) else {}
        raw.update(
            date=props.get("date"),
            magnitudeValue=props.get("magnitudeValue"),
            magnitudeUnit=props.get("magnitudeUnit"),
        )
        _, observations, members = events.setdefault(props["id"], (props, [], []))
        observations.append(_observation(raw, props["id"]))
        members.append(feature)
    return [
        _alert(
            props,
            observations,
            _event_link(props.get("link")),
            {"type": "FeatureCollection", "features": members},
        )
        for props, observations, members in events.values()
    ]


def parse_categories(payload: bytes) -> dict[str, str]:
    """Category id → title from ``/api/v3/categories``.

    Raises
    ------
    PayloadError
        Not JSON, or not a categories answer.
    """
    doc = _load_json(payload)
    if not isinstance(doc, dict) or not isinstance(doc.get("categories"), list):
        raise PayloadError("an EONET categories answer is an object with a categories list")
    return {
        str(c["id"]): str(c.get("title") or c["id"])
        for c in doc["categories"]
        if isinstance(c, dict) and c.get("id")
    }


def storm_severity(knots: float | None) -> Severity:
    """Maximum sustained wind (kt) on the Saffir-Simpson scale.

    Under 34 kt a tropical depression (minor), 34-63 a tropical storm (moderate), 64-95
    category 1-2 (severe), 96 and more category 3-5 (extreme).
    """
    if knots is None:
        return Severity.UNKNOWN
    if knots < 34:
        return Severity.MINOR
    if knots < 64:
        return Severity.MODERATE
    if knots < 96:
        return Severity.SEVERE
    return Severity.EXTREME


def _alert(
    event: Mapping[str, Any], observations: Sequence[_Observation], link: Any, raw: Any
) -> Alert:
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise PayloadError("an EONET event without an id")
    observations = sorted(observations, key=lambda o: o.date)
    closed = parse_time(event.get("closed"))
    categories = [str(c.get("id")) for c in event.get("categories") or [] if isinstance(c, dict)]
    title = str(event.get("title") or "").strip()
    hazard = _hazard(categories, title)
    latest = observations[-1] if observations else None
    last_seen = latest.date if latest else None
    version_time = max((t for t in (last_seen, closed) if t is not None), default=None)
    if version_time is None:
        raise PayloadError(f"EONET event {event_id} has neither observations nor a closing date")
    severity = Severity.UNKNOWN
    if latest and latest.unit == "kts" and hazard is Hazard.TROPICAL_CYCLONE:
        severity = storm_severity(latest.magnitude)
    extra: dict[str, Any] = {
        "categories": categories,
        "sources": [s.get("id") for s in event.get("sources") or [] if isinstance(s, dict)],
        "observations": len(observations),
        "magnitude": latest.magnitude if latest else None,
        "magnitude_unit": latest.unit if latest else None,
        "closed": closed.isoformat() if closed else None,
    }
    points = [o.geometry["coordinates"] for o in observations if o.geometry["type"] == "Point"]
    if len(points) > 1:
        extra["track"] = {"type": "LineString", "coordinates": points}
    return Alert(
        source=SOURCE,
        external_id=event_id,
        version=version_time.isoformat(),
        hazard=hazard,
        severity=severity,
        # EONET records what satellites and agencies saw; it is a cross-check, not a warning.
        certainty=Certainty.OBSERVED,
        urgency=Urgency.PAST if closed else Urgency.UNKNOWN,
        status=Status.ACTUAL,
        msg_type=MsgType.CANCEL if closed else MsgType.ALERT,
        headline=title or event_id,
        onset=observations[0].date if observations else None,
        expires=closed,
        sent=version_time,
        geometry=latest.geometry if latest else None,
        description=str(event.get("description") or ""),
        url=link if isinstance(link, str) and link.startswith("https://") else None,
        raw=json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode(),
        extra=extra,
    )


def _observation(raw: Any, event_id: str) -> _Observation:
    if not isinstance(raw, dict):
        raise PayloadError(f"EONET event {event_id}: an observation is not an object")
    date = parse_time(raw.get("date"))
    kind = raw.get("type")
    coords = raw.get("coordinates")
    if date is None or kind not in {"Point", "Polygon"} or not isinstance(coords, list):
        raise PayloadError(f"EONET event {event_id}: observation without date, type or coordinates")
    if kind == "Point":
        _check_position(coords, event_id)
        coords = [float(coords[0]), float(coords[1])]
    else:
        for ring in coords:
            if not isinstance(ring, list) or len(ring) < 4:
                raise PayloadError(f"EONET event {event_id}: a polygon ring is too short")
            for position in ring:
                _check_position(position, event_id)
    magnitude = raw.get("magnitudeValue")
    unit = raw.get("magnitudeUnit")
    return _Observation(
        date=date,
        geometry={"type": kind, "coordinates": coords},
        magnitude=float(magnitude) if isinstance(magnitude, int | float) else None,
        unit=str(unit) if unit else None,
    )


def _check_position(position: Any, event_id: str) -> None:
    if (
        not isinstance(position, list)
        or len(position) < 2
        or not all(isinstance(c, int | float) for c in position[:2])
        or not -180.0 <= position[0] <= 180.0
        or not -90.0 <= position[1] <= 90.0
    ):
        raise PayloadError(f"EONET event {event_id}: {position!r} is not a lon/lat position")


def _hazard(categories: Iterable[str], title: str) -> Hazard:
    for category in categories:
        if category == "severeStorms":
            # Severe storms mix tropical cyclones (JTWC, NHC tracks) with other storms.
            if _CYCLONE_TITLE.search(title):
                return Hazard.TROPICAL_CYCLONE
            return Hazard.OTHER
        hazard = CATEGORIES.get(category)
        if hazard is not None and hazard is not Hazard.OTHER:
            return hazard
    return Hazard.OTHER


def _event_link(link: Any) -> Any:
    """GeoJSON features link to ``…/events/<id>/geojson``; the event page is the JSON link."""
    if isinstance(link, str) and link.endswith("/geojson"):
        return link[: -len("/geojson")]
    return link


def _load_json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
