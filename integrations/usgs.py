"""USGS earthquake GeoJSON feeds (summary and detail) as alerts.

An event merges across networks and its preferred ``id`` may change: ``ids`` are kept as aliases
and the service deduplicates on any overlap. Deleted events vanish from summary feeds without a
tombstone: absence from one fetch is never a cancel by itself.
"""

from __future__ import annotations

import json
import math
from typing import Any

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
from integrations.timeparse import from_epoch_ms

SOURCE = "usgs"
PAGER = {
    "green": Severity.MINOR,
    "yellow": Severity.MODERATE,
    "orange": Severity.SEVERE,
    "red": Severity.EXTREME,
}


def impact_radius_km(magnitude: float, depth_km: float) -> float:
    """A rough radius of strong shaking (about MMI VI) where no ShakeMap contour is available.

    ``10 ** (0.5 * M - 1.8)`` km gives about 16 km at M6, 50 km at M7 and 160 km at M8, in line
    with the distances at which damage is typically reported; deep events are discounted, as
    their shaking spreads wider but weaker. A planning zone, not a ShakeMap: the service uses it
    only until contours arrive.
    """
    radius = 10 ** (0.5 * magnitude - 1.8)
    discount = max(0.5, 1.0 - max(depth_km, 0.0) / 700.0)
    return float(min(max(radius * discount, 5.0), 400.0))


def severity_of(magnitude: float | None, pager: str | None) -> Severity:
    if pager and pager.lower() in PAGER:
        return PAGER[pager.lower()]
    if magnitude is None or math.isnan(magnitude):
        return Severity.UNKNOWN
    if magnitude >= 7.0:
        return Severity.SEVERE
    if magnitude >= 6.0:
        return Severity.MODERATE
    return Severity.MINOR


def _ids(raw: str | None) -> tuple[str, ...]:
    # ",ak20254969,us2000hf7h," : leading and trailing commas.
    return tuple(i for i in (raw or "").split(",") if i)


def feature_to_alert(feature: dict[str, Any], *, fetch: FetchInfo | None = None) -> Alert:
    props = feature.get("properties") or {}
    coords = (feature.get("geometry") or {}).get("coordinates") or []
    if not feature.get("id") or len(coords) < 2:
        raise PayloadError("USGS feature without id or coordinates")
    lon, lat = float(coords[0]), float(coords[1])
    depth = float(coords[2]) if len(coords) > 2 and coords[2] is not None else 0.0
    mag = props.get("mag")
    magnitude = float(mag) if mag is not None else None
    kind = str(props.get("type") or "earthquake")
    status = str(props.get("status") or "automatic").lower()
    return Alert(
        source=SOURCE,
        external_id=str(feature["id"]),
        version=str(props.get("updated") or props.get("time") or "0"),
        hazard=Hazard.EARTHQUAKE if kind == "earthquake" else Hazard.OTHER,
        severity=severity_of(magnitude, props.get("alert")),
        certainty=Certainty.OBSERVED if status == "reviewed" else Certainty.LIKELY,
        urgency=Urgency.PAST,
        status=Status.ACTUAL,
        msg_type=MsgType.CANCEL if status == "deleted" else MsgType.ALERT,
        headline=str(props.get("title") or f"M {magnitude} - {props.get('place')}"),
        onset=from_epoch_ms(props.get("time")),
        sent=from_epoch_ms(props.get("updated")),
        geometry={"type": "Point", "coordinates": [lon, lat]},
        aliases=_ids(props.get("ids")) or (str(feature["id"]),),
        url=props.get("url"),
        fetch=fetch,
        extra={
            "magnitude": magnitude,
            "mag_type": props.get("magType"),
            "depth_km": depth,
            "place": props.get("place"),
            "pager": props.get("alert"),
            "tsunami_flag": bool(props.get("tsunami")),
            "review_status": status,
            "event_type": kind,
            "types": [t for t in str(props.get("types") or "").split(",") if t],
            "detail": props.get("detail"),
            "felt": props.get("felt"),
            "mmi": props.get("mmi"),
            "sig": props.get("sig"),
            "impact_radius_km": impact_radius_km(magnitude, depth)
            if magnitude is not None
            else None,
        },
    )


def parse_summary(content: bytes, *, fetch: FetchInfo | None = None) -> list[Alert]:
    """A summary feed (``all_day.geojson``...): one alert per earthquake (other event types, such
    as quarry blasts, are kept with hazard ``other``)."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise PayloadError("not a USGS GeoJSON FeatureCollection")
    return [feature_to_alert(f, fetch=fetch) for f in data.get("features") or []]


def parse_detail(content: bytes, *, fetch: FetchInfo | None = None) -> Alert:
    """A detail feed: the event, with the URL of its ShakeMap MMI contours when it has them."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    alert = feature_to_alert(data, fetch=fetch)
    products = (data.get("properties") or {}).get("products") or {}
    shakemaps = products.get("shakemap") or []
    if shakemaps:
        contents = shakemaps[0].get("contents") or {}
        for path in ("download/cont_mmi.json", "download/cont_mi.json"):
            if path in contents:
                alert.extra["shakemap_contours"] = contents[path].get("url")
                break
        alert.extra["shakemap_maxmmi"] = (shakemaps[0].get("properties") or {}).get("maxmmi")
    pager = products.get("losspager") or []
    if pager:
        alert.extra["pager_alertlevel"] = (pager[0].get("properties") or {}).get("alertlevel")
    return alert


def shakemap_zone(contours: bytes, *, min_mmi: float = 6.0) -> dict[str, Any] | None:
    """The area of shaking of at least ``min_mmi`` from a ShakeMap MMI contour file (lines)."""
    import shapely
    from shapely.geometry import LineString, MultiLineString, Polygon, mapping, shape

    data = json.loads(contours)
    rings = []
    for feature in data.get("features") or []:
        value = (feature.get("properties") or {}).get("value")
        if value is None or float(value) < min_mmi:
            continue
        geom = shape(feature["geometry"])
        lines = geom.geoms if isinstance(geom, MultiLineString) else [geom]
        for line in lines:
            if isinstance(line, LineString) and line.is_ring and len(line.coords) >= 4:
                rings.append(Polygon(line.coords))
    if not rings:
        return None
    return dict(mapping(shapely.union_all(rings)))
