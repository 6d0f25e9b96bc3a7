"""PDC DisasterAWARE hazards (JSON hazards API and hazard polygons) as normalised alerts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from geo.errors import GeometryError
from geo.geojson import parse_geojson
from integrations.alert import Alert, Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError
from integrations.timeparse import from_epoch_ms

SOURCE = "pdc"
ACTIVE_HAZARDS_URL = "https://sentry.pdc.org/hp_srv/services/hazards/t/json/get_active_hazards"

#: PDC ``type_ID`` → hazard; anything else (LANDSLIDE, STORM, WINTERSTORM...) is ``other``.
HAZARDS: dict[str, Hazard] = {
    "CYCLONE": Hazard.TROPICAL_CYCLONE,
    "FLOOD": Hazard.FLOOD,
    "EARTHQUAKE": Hazard.EARTHQUAKE,
    "TSUNAMI": Hazard.TSUNAMI,
    "VOLCANO": Hazard.VOLCANO,
    "WILDFIRE": Hazard.WILDFIRE,
    "DROUGHT": Hazard.DROUGHT,
    "BIOMEDICAL": Hazard.EPIDEMIC,
    "CIVILUNREST": Hazard.CIVIL_UNREST,
    "POLITICALCONFLICT": Hazard.CONFLICT,
    "COMBAT": Hazard.CONFLICT,
    "TERRORISM": Hazard.CONFLICT,
}

#: ``severity_ID`` follows the US warning ladder: a warning is the most serious.
SEVERITIES: dict[str, Severity] = {
    "WARNING": Severity.SEVERE,
    "WATCH": Severity.MODERATE,
    "ADVISORY": Severity.MINOR,
    "INFORMATION": Severity.UNKNOWN,
}

_CERTAINTY = {
    "WARNING": Certainty.LIKELY,
    "WATCH": Certainty.POSSIBLE,
    "ADVISORY": Certainty.POSSIBLE,
}

_WGS84_NAMES = {"EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84"}


def parse_hazards(payload: bytes) -> list[Alert]:
    """Alerts from ``get_active_hazards`` (a JSON list of hazards), one per hazard ``uuid``.

    Times are epoch-millisecond strings (UTC by construction, so the ``-10:00`` mislabelling
    of the XML feed does not arise). ``version`` is the later of ``update_Date`` and
    ``last_Update``. Status ``A`` (active) is an alert, anything else a cancel; ``end_Date``
    becomes ``expires`` and the service closes the alert when it passes. Geometry is the
    hazard's point; :func:`with_polygons` swaps in PDC's polygon when fetched.

    Raises
    ------
    PayloadError
        Not JSON, not a list of hazards, or a hazard without uuid or times.
    """
    doc = _load_json(payload)
    if isinstance(doc, dict) and isinstance(doc.get("hazards"), list):
        doc = doc["hazards"]
    if not isinstance(doc, list):
        raise PayloadError("PDC hazards are a JSON list")
    return [_alert(item, index) for index, item in enumerate(doc)]


def parse_hazard_polygons(payload: bytes) -> dict[str, dict[str, Any]]:
    """Hazard uuid → repaired (Multi)Polygon, from PDC's hazard GeoJSON (``hazard_uuid``).

    Several features of one hazard are united. Polygons are checked and repaired (closed
    rings, self-intersections, antimeridian) before any point-in-polygon test sees them.

    Raises
    ------
    PayloadError
        Not JSON, not a FeatureCollection, a CRS other than WGS84, or an unusable polygon.
    """
    doc = _load_json(payload)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise PayloadError("PDC hazard geometries are a GeoJSON FeatureCollection")
    crs = doc.get("crs")
    if isinstance(crs, dict):
        name = str(crs.get("properties", {}).get("name", ""))
        if name not in _WGS84_NAMES:
            raise PayloadError(f"PDC hazard geometries in {name!r}: only EPSG:4326 is read")
    grouped: dict[str, list[Any]] = {}
    for index, feature in enumerate(doc.get("features") or []):
        props = feature.get("properties") if isinstance(feature, dict) else None
        uuid = props.get("hazard_uuid") if isinstance(props, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise PayloadError(f"PDC feature {index} has no hazard_uuid")
        grouped.setdefault(uuid, []).append(feature)
    polygons: dict[str, dict[str, Any]] = {}
    for uuid, features in grouped.items():
        try:
            parsed = parse_geojson({"type": "FeatureCollection", "features": features})
        except GeometryError as exc:
            raise PayloadError(f"PDC hazard {uuid}: {exc.reason}") from exc
        polygons[uuid] = parsed.to_geojson()
    return polygons


def with_polygons(alerts: list[Alert], polygons: Mapping[str, dict[str, Any]]) -> list[Alert]:
    """The alerts with PDC's polygon as geometry where there is one (the point stays in extra)."""
    return [
        replace(
            alert,
            geometry=polygons[alert.external_id],
            extra={**alert.extra, "point": alert.geometry},
        )
        if alert.external_id in polygons
        else alert
        for alert in alerts
    ]


def _alert(item: Any, index: int) -> Alert:
    if not isinstance(item, dict):
        raise PayloadError(f"PDC hazard {index} is not an object")
    uuid = item.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise PayloadError(f"PDC hazard {index} has no uuid")
    updated = [t for t in (_ms(item, "update_Date"), _ms(item, "last_Update")) if t is not None]
    if not updated:
        raise PayloadError(f"PDC hazard {uuid} has no update_Date")
    version = max(updated)
    severity_id = str(item.get("severity_ID") or "").upper()
    type_id = str(item.get("type_ID") or "").upper()
    status = str(item.get("status") or "").upper()
    hazard_id = item.get("hazard_ID")
    return Alert(
        source=SOURCE,
        external_id=uuid,
        version=str(version),
        hazard=HAZARDS.get(type_id, Hazard.OTHER),
        severity=SEVERITIES.get(severity_id, Severity.UNKNOWN),
        certainty=_CERTAINTY.get(severity_id, Certainty.UNKNOWN),
        urgency=Urgency.UNKNOWN,
        # PDC's status is the hazard's life cycle (A = active), never exercise or test.
        status=Status.ACTUAL,
        msg_type=MsgType.ALERT if status == "A" else MsgType.CANCEL,
        headline=str(item.get("hazard_Name") or "").strip() or f"PDC hazard {uuid}",
        onset=_time(item, "start_Date"),
        expires=_time(item, "end_Date"),
        sent=from_epoch_ms(version),
        geometry=_point(item, uuid),
        description=str(item.get("description") or ""),
        aliases=(str(hazard_id),) if hazard_id is not None else (),
        url=item.get("snc_url") if str(item.get("snc_url") or "").startswith("https://") else None,
        raw=json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode(),
        extra={
            "hazard_id": hazard_id,
            "type_id": type_id or None,
            "severity_id": severity_id or None,
            "pdc_status": status or None,
            "category_id": item.get("category_ID"),
            "master_incident_id": item.get("master_Incident_ID"),
            "created": _iso(_time(item, "create_Date")),
            "autoexpire": item.get("autoexpire") == "Y",
        },
    )


def _ms(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise PayloadError(f"PDC {key}={value!r} is not epoch milliseconds") from exc


def _time(item: Mapping[str, Any], key: str) -> datetime | None:
    return from_epoch_ms(_ms(item, key))


def _point(item: Mapping[str, Any], uuid: str) -> dict[str, Any] | None:
    lat, lon = item.get("latitude"), item.get("longitude")
    if lat is None or lon is None:
        return None
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        raise PayloadError(f"PDC hazard {uuid}: latitude/longitude are not numbers")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise PayloadError(f"PDC hazard {uuid}: position ({lon}, {lat}) out of range")
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _load_json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
