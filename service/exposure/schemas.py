"""What the exposure API takes and gives."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.countries import CountryCode
from service.registry.schemas import OWN_COUNTRY_DESCRIPTION, OwnCountry

ADMIN1_NAMES_DESCRIPTION = (
    "The name of each first-level subdivision code in `by_admin1` (`MY-10` → `Selangor`), from "
    "the shipped boundaries; a code without a name there (and `unknown`) is absent"
)
NATIONALS_DESCRIPTION = (
    "Workers in the zone located in their own country of nationality (a Malaysian in "
    "Malaysia): not migrant workers there, so in no other count of this answer (nor in a "
    "crisis's snapshot or its playbooks); rounded and withheld like the other totals"
)


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
    nationals_in_own_country: OwnCountry = Field(
        default="exclude", description=OWN_COUNTRY_DESCRIPTION
    )


class AreaGroupShare(BaseModel):
    id: str
    nationality: str
    count: int
    share: float = Field(description="Share of the group's area inside the zone (equal-area)")
    counted: float


class Exposure(BaseModel):
    """Who is in the zone: registered migrant workers and population groups. Counts outside the
    caller's need-to-know are rounded, and cells under ``suppressed_below`` are withheld
    (absent), never shown as zero. Workers located in their own country of nationality are in
    none of the counts but ``nationals_in_own_country``."""

    total: int | None = Field(
        description="Registered migrant workers plus population groups in the zone (rounded "
        "and withheld outside need-to-know: see `basis`)"
    )
    workers: int | None = Field(
        description="Registered migrant workers in the zone, whatever their consent: a list of "
        "people shows only those you may read (rounded and withheld outside need-to-know)"
    )
    population_groups: int | None = Field(
        description="People of the aggregate population groups in the zone, an area group in "
        "proportion to its share of area inside it"
    )
    by_nationality: dict[str, int] = Field(description="Workers and groups by nationality")
    by_country: dict[str, int] = Field(description="Workers and groups by country of location")
    by_admin1: dict[str, int] = Field(
        description="Workers and groups by first-level subdivision code (`MY-10`): names in "
        "`admin1_names`"
    )
    admin1_names: dict[str, str] = Field(default_factory=dict, description=ADMIN1_NAMES_DESCRIPTION)
    by_sector: dict[str, int] = Field(description="Workers and groups by sector")
    by_sex: dict[str, int] = Field(description="Workers and groups by sex (F, M, X, unknown)")
    accompanying_family: int | None = Field(
        description="Family members accompanying the registered workers in the zone"
    )
    vulnerable: int | None = Field(
        description="Registered workers in the zone with at least one vulnerability"
    )
    nationals_in_own_country: int | None = Field(default=0, description=NATIONALS_DESCRIPTION)
    suppressed_below: int | None = Field(
        description="Set when some counts are rounded and small cells withheld"
    )
    exact: bool = Field(description="Whether the counts above are exact (coordinators, admins)")
    basis: str = Field(default="", description="In words: what the counts of this answer count")
    own_nationals: Annotated[
        dict[str, Any] | None,
        Field(
            description="Exact counts of the caller's own nationals (consular staff), in the "
            "countries their post covers (listed in `countries`): `workers` and the breakdowns "
            "as above, `admin1_names`, `nationals_in_own_country` apart, and `basis`. "
            "`workers` counts everyone of them, whatever their consent: the list of people "
            "(`POST /exposure/workers`, `GET /crises/{id}/workers`) says how many of them it "
            "does not show and why"
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
