"""What the crises API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from integrations.alert import Hazard
from service.countries import CountryCode
from service.crises.models import CrisisSeverity, Phase
from service.text import Line
from service.welfare.schemas import WelfareCounts

#: Most geometries in a list of zones (as many as a zone may have rings).
MAX_ZONE_PARTS = 10_000


_GEOMETRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "GeoJSON geometry",
    "description": "A Polygon, a MultiPolygon or a GeometryCollection holding some "
    "(lon, lat; points and lines in a collection are left out)",
    "required": ["type"],
    "properties": {"type": {"enum": ["Polygon", "MultiPolygon", "GeometryCollection"]}},
}
_ZONES_SCHEMA: dict[str, Any] = {
    "description": "The area concerned, in GeoJSON: one geometry, a Feature, a "
    "FeatureCollection, or a list of geometries (their union). A zone that is not an area, or "
    'not valid GeoJSON, is a 422 whose `loc` points into it (`["body", "zones", ...]`)',
    "oneOf": [
        _GEOMETRY_SCHEMA,
        {
            "type": "object",
            "title": "GeoJSON Feature",
            "required": ["type", "geometry"],
            "properties": {"type": {"const": "Feature"}, "geometry": _GEOMETRY_SCHEMA},
        },
        {
            "type": "object",
            "title": "GeoJSON FeatureCollection",
            "required": ["type", "features"],
            "properties": {
                "type": {"const": "FeatureCollection"},
                "features": {"type": "array", "minItems": 1, "items": {"type": "object"}},
            },
        },
        {
            "type": "array",
            "title": "A list of GeoJSON geometries",
            "minItems": 1,
            "maxItems": MAX_ZONE_PARTS,
            "items": _GEOMETRY_SCHEMA,
        },
    ],
}
#: A zone as a client sends it (see ``_ZONES_SCHEMA``); ``service.crises.router`` reads it.
ZonesInput = Annotated[
    dict[str, Any]
    | Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_ZONE_PARTS)],
    WithJsonSchema(_ZONES_SCHEMA),
]


class CrisisCreate(BaseModel):
    """A crisis declared by a coordinator (conflict, unrest, an epidemic: no feed may say it)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[Line, Field(min_length=3, max_length=300)]
    hazard: Hazard
    severity: CrisisSeverity
    zones: ZonesInput
    phase: Phase = Phase.RESPONSE
    alert_level: Annotated[int, Field(ge=1, le=4)] = 1
    exercise: bool = Field(
        default=False, description="A drill: nothing it produces reaches a real person"
    )
    countries: list[CountryCode] = Field(default_factory=list, max_length=50)


class CrisisUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[Line, Field(min_length=3, max_length=300)] | None = None
    severity: CrisisSeverity | None = None
    phase: Phase | None = None
    alert_level: Annotated[int, Field(ge=1, le=4)] | None = None
    zones: ZonesInput | None = Field(
        default=None, description="A new zone, in the shapes `POST` takes: the old one is kept"
    )
    intake: bool | None = Field(
        default=None,
        description="Unknown numbers that write in become crisis-time registrations a person "
        "confirms (`GET /messages/inbound?state=intake`)",
    )


class CrisisPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    hazard: str
    severity: str
    phase: str
    alert_level: int
    exercise: bool = Field(
        description="A drill: listed with the real crises, and nothing it produces reaches a "
        "real person"
    )
    stood_down: bool
    intake: bool = Field(
        default=False, description="Unknown numbers that write in become crisis-time registrations"
    )
    countries: list[str]
    opened_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    zones: dict[str, Any] | None = None
    zone_version: int | None = None
    alerts: list[str] = Field(default_factory=list)


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class CrisisExposure(BaseModel):
    """The latest exposure snapshot of a crisis's zone: the registered migrant workers in it
    when it was taken (no population groups). Exact for coordinators and admins; for others
    rounded with small cells withheld (absent, never zero), and for consular staff their own
    nationals exactly in `own_nationals`. Workers located in their own country of nationality
    are in no count but `nationals_in_own_country`, and never in the playbooks' input."""

    model_config = ConfigDict(extra="allow")

    crisis_id: str
    zone_version: int
    taken_at: datetime
    exact: bool = Field(description="Whether the counts are exact (coordinators, admins)")
    basis: str = Field(description="In words: what the counts of this answer count")
    workers: int | None = Field(
        default=None,
        description="Registered migrant workers in the zone, whatever their consent (rounded "
        "and withheld outside need-to-know)",
    )
    nationals_in_own_country: int | None = Field(
        default=None,
        description="Workers in the zone located in their own country of nationality: in no "
        "other count (absent from snapshots taken before they were counted apart)",
    )
    by_admin1: dict[str, int] = Field(
        default_factory=dict, description="By first-level subdivision code: names in admin1_names"
    )
    admin1_names: dict[str, str] = Field(
        default_factory=dict,
        description="The name of each subdivision code of `by_admin1` (`MY-10` → `Selangor`)",
    )
    suppressed_below: int | None = Field(
        default=None, description="Set when counts are rounded and small cells withheld"
    )
    own_nationals: dict[str, int] | None = Field(
        default=None,
        description="Consular staff: the exact number of each of your nationalities in the "
        "countries your post covers, whatever their consent; `GET /crises/{id}/workers` lists "
        "those you may read and says how many it does not show and why",
    )
    own_nationals_basis: str | None = Field(
        default=None, description="In words: what `own_nationals` counts"
    )
    welfare: WelfareCounts | None = Field(
        default=None,
        description="The crisis's welfare statuses counted by status, nationality and province, "
        "under the same rules as the exposure (`GET /crises/{id}/welfare-counts`)",
    )
