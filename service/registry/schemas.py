"""What the register API takes and gives."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field, field_validator

from geo.admin import AdminAreas
from service.countries import CountryCode
from service.pagination import Page
from service.registry.models import LegalBasis, Sector, Sex, Source, Vulnerability
from service.text import Line

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _check_language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a BCP 47 language tag (for example tl, id, my, ne)")
    return value


Language = Annotated[
    str, AfterValidator(_check_language), Field(json_schema_extra={"pattern": _LANGUAGE.pattern})
]


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude, WGS84 degrees")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS84 degrees")


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    share_with_embassy: bool = True
    share_with_humanitarian: bool = False


class WorkerCreate(BaseModel):
    """A registration. ``country`` and ``admin1`` are derived from ``location`` when absent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nationality: CountryCode
    given_name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    family_name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    document_number: Annotated[Line, Field(min_length=3, max_length=40)] | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()./-]{5,25}$")] | None = None
    languages: list[Language] = Field(default_factory=list, max_length=10)
    sector: Sector | None = None
    employer: Annotated[Line, Field(max_length=200)] | None = Field(
        default=None, description="Name or directory slug of the employer"
    )
    recruitment_agency: Annotated[Line, Field(max_length=200)] | None = Field(
        default=None, description="Name or directory slug of the recruitment agency"
    )
    location: Location
    country: CountryCode | None = None
    accompanying_family: Annotated[int, Field(ge=0, le=50)] = 0
    vulnerabilities: list[Vulnerability] = Field(default_factory=list, max_length=6)
    documentation_status: Annotated[Line, Field(max_length=40)] | None = None
    international_protection: bool = Field(
        default=False,
        description="Refugee or asylum seeker: never shared with the country of origin",
    )
    consent: Consent = Field(default_factory=Consent)
    legal_basis: LegalBasis = LegalBasis.VITAL_INTEREST
    source: Source | None = Field(
        default=None,
        description="How the record came in. Left out: from the kind of the registering "
        "organisation (an embassy or consulate `embassy_registration`, a labour ministry "
        "`ministry_import`, a national society, NGO or migrant association `society_outreach`, "
        "an employer or recruitment agency `employer`, an international organisation "
        "`crisis_intake`); a row of an import without one: `ministry_import`",
    )
    verified: bool = False
    stay_registered: bool = False
    accept_flagged_location: bool = Field(
        default=False,
        description="Register even though the location looks wrong (at sea, outside every country)",
    )

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth_date(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= date.today():
            raise ValueError("birth_date must be between 1900-01-01 and today")
        return value

    @field_validator("vulnerabilities", "languages")
    @classmethod
    def _unique(cls, value: list[Any]) -> list[Any]:
        return sorted(set(value))


class WorkerUpdate(BaseModel):
    """Fields a ``PATCH`` may change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    family_name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()./-]{5,25}$")] | None = None
    languages: list[Language] | None = None
    sector: Sector | None = None
    employer: Annotated[Line, Field(max_length=200)] | None = None
    location: Location | None = None
    accompanying_family: Annotated[int, Field(ge=0, le=50)] | None = None
    vulnerabilities: list[Vulnerability] | None = None
    documentation_status: Annotated[Line, Field(max_length=40)] | None = None
    consent: Consent | None = None
    verified: bool | None = None
    stay_registered: bool | None = None
    accept_flagged_location: bool = False


class WorkerPublic(BaseModel):
    """A worker as the caller may see it: fields outside their need-to-know are absent."""

    model_config = ConfigDict(extra="allow")

    id: str
    nationality: str
    country: str | None = None
    admin1: str | None = Field(
        default=None, description="First-level subdivision code where located (`MY-10`)"
    )
    admin1_name: str | None = Field(
        default=None,
        description="Its name in the shipped boundaries (`Selangor`); null for no code or one "
        "without a name",
    )
    version: int


class WorkerCreated(BaseModel):
    """The receipt of a registration: where the worker was placed, and what the registrant will
    be able to read of the record from now on (nothing personal beyond what they sent)."""

    id: str
    country: str | None
    admin1: str | None
    location_flag: str | None
    visible_to_you: bool = Field(
        description="Whether you can read this record (GET /workers/{id}, lists) from now on"
    )
    erasable_by_you: bool = Field(
        description="Whether you may erase it (DELETE /workers/{id}), as the worker may ask you to"
    )
    visibility: str = Field(description="In words: what you will and will not be able to see")

    @computed_field(  # type: ignore[prop-decorator]
        description="The name of `admin1` in the shipped boundaries (`MY-10` → `Selangor`)"
    )
    @property
    def admin1_name(self) -> str | None:
        return AdminAreas.load().admin1_name(self.admin1)


class ImportError_(BaseModel):
    row: int
    msg: str


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ImportError_]


class PopulationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nationality: CountryCode
    count: Annotated[int, Field(gt=0, le=50_000_000)]
    female: Annotated[int, Field(ge=0)] | None = None
    sector: Sector | None = None
    location: Location | None = None
    area: dict[str, Any] | None = Field(default=None, description="GeoJSON Polygon or MultiPolygon")
    source: Annotated[Line, Field(min_length=2, max_length=200)]
    as_of: datetime | None = None


class PopulationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    nationality: str
    count: int
    female: int | None
    sector: str | None
    location: Location | None = None
    area: dict[str, Any] | None
    country: str | None
    admin1: str | None
    source: str
    as_of: datetime | None


#: Whether a list of people keeps workers located in their own country of nationality (they are
#: not migrant workers there: docs/decisions/0014-nationals-in-their-own-country.md).
OwnCountry = Literal["exclude", "only", "include"]
OWN_COUNTRY_DESCRIPTION = (
    "Workers located in their own country of nationality (a Malaysian in Malaysia) are not "
    "migrant workers there: `exclude` leaves them out (the default), `only` lists only them, "
    "`include` lists everyone"
)


class PeoplePage(Page[WorkerPublic]):
    """A page of a list of people, and what the whole list counts: how many match, how many
    you may read, and how many you may not and why (never who)."""

    matching: int | None = Field(
        description="People who match the list's filters within your need-to-know scope "
        "(consular staff: your nationalities in the countries your post covers; a society: its "
        "country; a coordinator: what your organisation registered; an admin: everyone), on "
        "every page together. Exact but for a society, for whom it is rounded (null under the "
        "threshold). For a zone, a consular officer's `matching` is the exposure's "
        "`own_nationals.workers` for it"
    )
    listed: int = Field(
        description="Of those, the people this list shows you over all its pages (exact)"
    )
    not_shown: dict[str, int] = Field(
        description="Of those, the people no page shows you, by reason, never by name: "
        "`no_consent_to_share_with_embassy` (they refused sharing with their embassy), "
        "`no_consent_to_share_with_humanitarian` (a society reads only those who agreed), "
        "`withheld_under_data_protection` (another rule of the register keeps them from you; "
        "which one is not said). Rounded for a society, reasons under the threshold absent"
    )
    basis: str = Field(description="In words: what `matching`, `listed` and `not_shown` count")
