"""What the exposure API takes and gives."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.countries import CountryCode


class Circle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=2_000_000, description="Radius in metres (geodesic)")


class ZoneQuery(BaseModel):
    """A zone: a GeoJSON geometry or Feature (lon/lat), or a circle in metres."""

    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] | None = Field(
        default=None, description="GeoJSON geometry, Feature or FeatureCollection"
    )
    circle: Circle | None = None

    @model_validator(mode="after")
    def _one_zone(self) -> ZoneQuery:
        if (self.geometry is None) == (self.circle is None):
            raise ValueError("give either geometry or circle")
        return self


class WorkersInZoneQuery(ZoneQuery):
    nationality: CountryCode | None = Field(
        default=None, description="Only workers of this nationality"
    )


class AreaGroupShare(BaseModel):
    id: str
    nationality: str
    count: int
    share: float = Field(description="Share of the group's area inside the zone (equal-area)")
    counted: float


class Exposure(BaseModel):
    """Who is in the zone. Counts outside the caller's need-to-know are rounded, and cells under
    ``suppressed_below`` are withheld (absent), never shown as zero."""

    total: int | None
    workers: int | None
    population_groups: int | None
    by_nationality: dict[str, int]
    by_country: dict[str, int]
    by_admin1: dict[str, int]
    by_sector: dict[str, int]
    by_sex: dict[str, int]
    accompanying_family: int | None
    vulnerable: int | None
    suppressed_below: int | None = Field(
        description="Set when some counts are rounded and small cells withheld"
    )
    exact: bool
    own_nationals: Annotated[
        dict[str, Any] | None,
        Field(
            description="Exact counts of the caller's own nationals (consular staff), in the "
            "countries their post covers (listed in `countries`)"
        ),
    ] = None
    area_groups: list[AreaGroupShare] = Field(
        default_factory=list,
        description="Area groups counted in proportion to the share of their area in the zone",
    )
    countries: list[str] = Field(default_factory=list, description="Countries the zone touches")
    repairs: list[str] = Field(
        default_factory=list, description="What was repaired in the zone given"
    )
