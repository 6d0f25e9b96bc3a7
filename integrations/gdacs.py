"""GDACS: the RSS/GeoRSS feed, the JSON event API and the geometry endpoint, as alerts.

GDACS alerts are model estimates ("GDACS estimates", not official warnings). An event keeps one
``guid`` (``TC1000643``) across episodes: that is the alert's ``external_id``, and the episode is
its ``version``. Polygons come from the geometry endpoint, fetched only for a new episode.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC
from typing import Any

import shapely
from shapely.geometry import box, mapping, shape

from integrations.alert import (
    Alert,
    Certainty,
    FetchInfo,
    Hazard,
    MsgType,
    Severity,
    Status,
    Urgency,
)
from integrations.errors import PayloadError
from integrations.timeparse import parse_time
from integrations.xml import child, children, local, parse_xml, text

SOURCE = "gdacs"
_ITEM = re.compile(rb"<item[\s>].*?</item>", re.DOTALL)
HAZARDS = {
    "EQ": Hazard.EARTHQUAKE,
    "TC": Hazard.TROPICAL_CYCLONE,
    "FL": Hazard.FLOOD,
    "VO": Hazard.VOLCANO,
    "DR": Hazard.DROUGHT,
    "WF": Hazard.WILDFIRE,
    "TS": Hazard.TSUNAMI,
}
LEVELS = {"green": Severity.MINOR, "orange": Severity.SEVERE, "red": Severity.EXTREME}
#: Geometry classes that are zones, by the alert level they stand for.
ZONE_CLASSES = {
    "Poly_Red": "red",
    "Poly_Orange": "orange",
    "Poly_Green": "green",
    "Poly_area": "area",
    "Poly_Affected": "area",
}


def _flag(value: str) -> bool:
    return value.strip().lower() == "true"


def parse_rss(content: bytes, *, fetch: FetchInfo | None = None) -> list[Alert]:
    """Every item of a GDACS RSS feed (``rss.xml``, ``rss_24h.xml``...) as an alert.

    Items without a point keep their bounding box as the zone; none is dropped for lack of
    geometry. An item that is no longer current (``iscurrent`` false) is a cancel.
    """
    root = parse_xml(content)
    channel = child(root, "channel") if local(root.tag) == "rss" else None
    if channel is None:
        raise PayloadError("not a GDACS RSS feed: no <rss><channel>")
    items = children(channel, "item")
    # Each alert keeps its item's own bytes, cut from the document rather than re-serialised
    # (GDACS items carry long resource lists: serialising them would dominate the parse).
    raws = [m.group(0) for m in _ITEM.finditer(content)]
    if len(raws) != len(items):
        raws = [ET.tostring(item, encoding="utf-8") for item in items]
    return [_item(item, fetch, raw) for item, raw in zip(items, raws, strict=True)]


def _g(item: Any, name: str) -> str:
    return text(item, name)


def _item(item: Any, fetch: FetchInfo | None, raw: bytes) -> Alert:
    event_type = _g(item, "eventtype").upper()
    event_id = _g(item, "eventid")
    if not event_type or not event_id:
        raise PayloadError("GDACS item without eventtype or eventid")
    episode = _g(item, "episodeid") or _g(item, "version") or "0"
    level = (_g(item, "episodealertlevel") or _g(item, "alertlevel")).lower()
    current = _flag(_g(item, "iscurrent") or "true")
    geometry: dict[str, Any] | None = None
    point = _g(item, "point")  # georss:point "lat lon"
    if point:
        lat, lon = (float(v) for v in point.split()[:2])
        geometry = {"type": "Point", "coordinates": [lon, lat]}
    elif _g(item, "bbox"):
        lon_min, lon_max, lat_min, lat_max = (float(v) for v in _g(item, "bbox").split()[:4])
        geometry = dict(mapping(box(lon_min, lat_min, lon_max, lat_max)))
    severity_el = child(item, "severity")
    population_el = child(item, "population")
    extra: dict[str, Any] = {
        "eventtype": event_type,
        "eventid": event_id,
        "episodeid": episode,
        "alertlevel": _g(item, "alertlevel"),
        "episodealertlevel": _g(item, "episodealertlevel"),
        "alertscore": _g(item, "alertscore"),
        "iscurrent": current,
        "temporary": _flag(_g(item, "temporary")),
        "eventname": _g(item, "eventname"),
        "cap": _g(item, "cap"),
        "estimate": True,
    }
    if severity_el is not None:
        extra["severity"] = {
            "value": severity_el.get("value"),
            "unit": severity_el.get("unit"),
            "text": (severity_el.text or "").strip(),
        }
    if population_el is not None:
        extra["population"] = {
            "value": population_el.get("value"),
            "unit": population_el.get("unit"),
        }
    iso3 = _g(item, "iso3")
    return Alert(
        source=SOURCE,
        external_id=f"{event_type}{event_id}",
        version=episode,
        hazard=HAZARDS.get(event_type, Hazard.OTHER),
        severity=LEVELS.get(level, Severity.UNKNOWN),
        certainty=Certainty.LIKELY,
        urgency=Urgency.IMMEDIATE if current else Urgency.PAST,
        status=Status.ACTUAL,
        msg_type=MsgType.ALERT if current else MsgType.CANCEL,
        headline=_g(item, "title"),
        onset=parse_time(_g(item, "fromdate"), assume=UTC),
        expires=parse_time(_g(item, "todate"), assume=UTC),
        sent=parse_time(_g(item, "pubDate"), assume=UTC),
        geometry=geometry,
        description=_g(item, "description"),
        countries=tuple(c for c in iso3.replace(";", ",").split(",") if c.strip()) if iso3 else (),
        url=_g(item, "link") or None,
        raw=raw,
        fetch=fetch,
        extra=extra,
    )


def parse_event(content: bytes, *, fetch: FetchInfo | None = None) -> Alert:
    """The JSON event API (``geteventdata``): one event at its latest episode."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or "properties" not in data:
        raise PayloadError("not a GDACS event: no properties")
    p = data["properties"]
    event_type = str(p.get("eventtype", "")).upper()
    episodes = p.get("episodes") or []
    episode = str(p.get("episodeid") or (len(episodes) if episodes else "0"))
    level = str(p.get("episodealertlevel") or p.get("alertlevel") or "").lower()
    current = str(p.get("iscurrent", "true")).lower() == "true"
    geometry = data.get("geometry")
    countries = tuple(c["iso3"] for c in p.get("affectedcountries") or [] if c.get("iso3"))
    return Alert(
        source=SOURCE,
        external_id=f"{event_type}{p.get('eventid')}",
        version=episode,
        hazard=HAZARDS.get(event_type, Hazard.OTHER),
        severity=LEVELS.get(level, Severity.UNKNOWN),
        certainty=Certainty.LIKELY,
        urgency=Urgency.IMMEDIATE if current else Urgency.PAST,
        status=Status.ACTUAL,
        msg_type=MsgType.ALERT if current else MsgType.CANCEL,
        headline=str(p.get("name") or p.get("description") or ""),
        # JSON dates are zone-less UTC.
        onset=parse_time(p.get("fromdate"), assume=UTC),
        expires=parse_time(p.get("todate"), assume=UTC),
        sent=parse_time(p.get("datemodified"), assume=UTC),
        geometry=geometry if isinstance(geometry, dict) else None,
        description=str(p.get("htmldescription") or p.get("description") or ""),
        countries=countries,
        url=(p.get("url") or {}).get("report"),
        raw=content,
        fetch=fetch,
        extra={
            "eventtype": event_type,
            "eventid": p.get("eventid"),
            "glide": p.get("glide") or None,
            "alertscore": p.get("alertscore"),
            "severitydata": p.get("severitydata"),
            "estimate": True,
            "geometry_url": (p.get("url") or {}).get("geometry"),
        },
    )


def parse_geometry(content: bytes) -> dict[str, dict[str, Any]]:
    """The zones of the geometry endpoint: ``{"red"|"orange"|"green"|"area": GeoJSON}``.

    Cyclone wind buffers of one level are united across forecast times; track lines, points and
    the uncertainty cone are not zones.
    """
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    parts: dict[str, list[Any]] = {}
    for feature in data.get("features") or []:
        level = ZONE_CLASSES.get(str((feature.get("properties") or {}).get("Class")))
        geom = feature.get("geometry")
        if level and geom and geom.get("type") in {"Polygon", "MultiPolygon"}:
            valid = shapely.make_valid(shape(geom))
            parts.setdefault(level, []).extend(
                p
                for p in getattr(valid, "geoms", [valid])
                if p.geom_type in {"Polygon", "MultiPolygon"} and p.area > 0
            )
    zones = {}
    for level, shapes in parts.items():
        if shapes:
            zones[level] = dict(mapping(shapely.union_all(shapes)))
    return zones


def needs_geometry(previous_version: str | None, alert: Alert) -> bool:
    """Fetch polygons only when an episode is new: GDACS asks for a low request rate."""
    return alert.source == SOURCE and alert.version != previous_version
