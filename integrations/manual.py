"""Manual alerts: an operator's declaration (zone plus fields), validated into an Alert."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from geo.circles import circle_geojson
from geo.geojson import parse_geojson
from integrations.alert import Alert, Certainty, Hazard, MsgType, Severity, Status, Urgency
from integrations.errors import PayloadError

SOURCE = "manual"

#: Largest circle an operator may draw around a point, in km (a country-sized zone).
MAX_RADIUS_KM = 2_000.0
MAX_BODY_BYTES = 5_000_000

_ISO3 = re.compile(r"^[A-Z]{3}$")

__all__ = [
    "SOURCE",
    "ManualAlertInput",
    "ManualAlertRequest",
    "ValidationError",
    "manual_alert",
    "parse_manual",
]


class ManualAlertInput(BaseModel):
    """What an operator declares. A zone is required: a geometry, or at least one country.

    ``geometry`` is a GeoJSON geometry or Feature in lon/lat: a Polygon or MultiPolygon
    (checked and repaired), or a Point with ``radius_km`` (a geodesic circle). Severity is
    given by name (``"severe"``) or by its number on the shared scale. Times must carry a
    time zone; they are stored in UTC.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    external_id: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    version: str = Field(default="1", min_length=1, max_length=100)
    hazard: Hazard
    severity: Severity
    headline: str = Field(min_length=3, max_length=300)
    certainty: Certainty = Certainty.OBSERVED
    urgency: Urgency = Urgency.IMMEDIATE
    status: Status = Status.ACTUAL
    msg_type: MsgType = MsgType.ALERT
    description: str = Field(default="", max_length=20_000)
    instruction: str = Field(default="", max_length=5_000)
    onset: AwareDatetime | None = None
    expires: AwareDatetime | None = None
    countries: tuple[str, ...] = Field(default=(), max_length=60)
    languages: tuple[str, ...] = Field(default=(), max_length=20)
    references: tuple[str, ...] = Field(default=(), max_length=50)
    url: str | None = Field(default=None, max_length=2_000, pattern=r"^https://\S+$")
    # radius_km comes before geometry: the geometry validator reads it.
    radius_km: float | None = Field(default=None, gt=0, le=MAX_RADIUS_KM)
    geometry: dict[str, Any] | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity_by_name(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().isdigit():
            try:
                return Severity[value.strip().upper()]
            except KeyError:
                names = ", ".join(s.name.lower() for s in Severity)
                raise ValueError(f"unknown severity {value!r}: use one of {names}") from None
        return value

    @field_validator("countries", mode="before")
    @classmethod
    def _upper_countries(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(str(v).strip().upper() for v in value)
        return value

    @field_validator("countries")
    @classmethod
    def _iso3(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not _ISO3.match(c)]
        if bad:
            raise ValueError(f"countries are ISO 3166-1 alpha-3 codes (e.g. MYS), not {bad}")
        return tuple(dict.fromkeys(value))

    @field_validator("onset", "expires")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value else None

    @field_validator("geometry", mode="before")
    @classmethod
    def _unwrap_feature(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and value.get("type") == "Feature":
            return value.get("geometry")
        return value

    @field_validator("geometry")
    @classmethod
    def _zone(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        """The zone itself: a geodesic circle around a Point, or the repaired polygon(s)."""
        if value is None:
            return None
        radius_km = info.data.get("radius_km")
        if value.get("type") == "Point":
            if radius_km is None:
                raise ValueError("a Point needs radius_km to become a zone")
            lon, lat = _position(value.get("coordinates"))
            return circle_geojson(lon, lat, float(radius_km) * 1000.0)
        if radius_km is not None:
            raise ValueError("radius_km goes with a Point geometry only")
        # GeometryError is a ValueError: pydantic reports its reason at "geometry".
        return parse_geojson(value).to_geojson()

    @model_validator(mode="after")
    def _zone_and_window(self) -> ManualAlertInput:
        if self.geometry is None and not self.countries:
            raise ValueError("say where: give a geometry, or at least one country")
        if self.onset and self.expires and self.expires <= self.onset:
            raise ValueError("expires must be after onset")
        return self


class ManualAlertRequest(ManualAlertInput):
    """The same fields, with the zone taken as given: the API reads a request with it, then
    checks the zone (``manual_alert``) off its event loop, where its time is bounded."""

    @field_validator("geometry")
    @classmethod
    def _zone(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        return value


def manual_alert(
    geojson: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
    *,
    sent: datetime | None = None,
) -> Alert:
    """An alert with source ``manual`` from a GeoJSON Feature or geometry plus fields.

    A Feature's ``properties`` supply fields; ``fields`` override them. Without
    ``external_id`` the id is derived from the content, so declaring the same thing twice
    gives the same alert (the service keeps one).

    Raises
    ------
    pydantic.ValidationError
        With the location and reason of every problem, geometry ones included.
    """
    values: dict[str, Any] = {}
    if geojson is not None:
        if geojson.get("type") == "Feature" and isinstance(geojson.get("properties"), Mapping):
            values.update(geojson["properties"])
        values["geometry"] = geojson
    values.update(fields or {})
    data = ManualAlertInput.model_validate(values)
    return _to_alert(data, sent or datetime.now(UTC))


def parse_manual(payload: bytes, *, sent: datetime | None = None) -> Alert:
    """A manual alert from a JSON body: a GeoJSON Feature whose properties are the fields,
    or an object of fields with an optional ``geometry``.

    Raises
    ------
    PayloadError
        The body is not a JSON object, or is too large.
    pydantic.ValidationError
        The fields or the zone are not acceptable.
    """
    if len(payload) > MAX_BODY_BYTES:
        raise PayloadError(f"a manual alert is limited to {MAX_BODY_BYTES} bytes")
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise PayloadError("a manual alert is a JSON object (a Feature, or fields)")
    if doc.get("type") == "Feature":
        return manual_alert(doc, sent=sent)
    return manual_alert(None, doc, sent=sent)


def _to_alert(data: ManualAlertInput, sent: datetime) -> Alert:
    canonical = data.model_dump(mode="json", exclude={"external_id", "version"})
    body = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    external_id = data.external_id or "manual-" + hashlib.sha256(body.encode()).hexdigest()[:20]
    return Alert(
        source=SOURCE,
        external_id=external_id,
        version=data.version,
        hazard=data.hazard,
        severity=data.severity,
        certainty=data.certainty,
        urgency=data.urgency,
        status=data.status,
        msg_type=data.msg_type,
        headline=data.headline,
        onset=data.onset,
        expires=data.expires,
        sent=sent.astimezone(UTC),
        geometry=data.geometry,
        description=data.description,
        instruction=data.instruction,
        languages=data.languages,
        references=data.references,
        countries=data.countries,
        url=data.url,
        raw=data.model_dump_json().encode(),
        extra={"radius_km": data.radius_km} if data.radius_km else {},
    )


def _position(coords: Any) -> tuple[float, float]:
    if (
        not isinstance(coords, list | tuple)
        or len(coords) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords[:2])
    ):
        raise ValueError("a Point's coordinates are [lon, lat] numbers")
    return float(coords[0]), float(coords[1])
