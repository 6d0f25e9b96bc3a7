"""Register tables. Names, document numbers, phones, birth dates and documentation status are
stored sealed (see ``service.crypto``); nothing else in these tables identifies a person."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Sex(enum.StrEnum):
    F = "F"
    M = "M"
    X = "X"


class Sector(enum.StrEnum):
    DOMESTIC_WORK = "domestic_work"
    CONSTRUCTION = "construction"
    MANUFACTURING = "manufacturing"
    AGRICULTURE = "agriculture"
    FISHING = "fishing"
    HOSPITALITY = "hospitality"
    CARE = "care"
    SERVICES = "services"
    OTHER = "other"


class Vulnerability(enum.StrEnum):
    PREGNANT = "pregnant"
    DISABILITY = "disability"
    CHRONIC_ILLNESS = "chronic_illness"
    MINOR = "minor"
    ELDERLY = "elderly"
    TRAFFICKING_SURVIVOR = "trafficking_survivor"


class LegalBasis(enum.StrEnum):
    VITAL_INTEREST = "vital_interest"
    PUBLIC_INTEREST = "public_interest"
    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal_obligation"


class Source(enum.StrEnum):
    EMBASSY_REGISTRATION = "embassy_registration"
    SELF = "self"
    SOCIETY_OUTREACH = "society_outreach"
    EMPLOYER = "employer"
    MINISTRY_IMPORT = "ministry_import"
    CRISIS_INTAKE = "crisis_intake"


#: The ``source`` of a registration that does not give one, by the kind of organisation that
#: registers it (README, "Registering workers"). An import's rows default to ``IMPORT_SOURCE``.
DEFAULT_SOURCES: dict[str, Source] = {
    "embassy": Source.EMBASSY_REGISTRATION,
    "consulate": Source.EMBASSY_REGISTRATION,
    "labour_ministry": Source.MINISTRY_IMPORT,
    "national_society": Source.SOCIETY_OUTREACH,
    "ngo": Source.SOCIETY_OUTREACH,
    "migrant_association": Source.SOCIETY_OUTREACH,
    "international_org": Source.CRISIS_INTAKE,
    "host_authority": Source.CRISIS_INTAKE,
    "employer": Source.EMPLOYER,
    "recruitment_agency": Source.EMPLOYER,
}
#: Without an organisation (the operator, at the command line).
NO_ORGANISATION_SOURCE = Source.CRISIS_INTAKE
IMPORT_SOURCE = Source.MINISTRY_IMPORT


def default_source(organization_kind: str | None) -> Source:
    """The ``source`` of a registration by an organisation of this kind that gave none."""
    if organization_kind is None:
        return NO_ORGANISATION_SOURCE
    return DEFAULT_SOURCES.get(organization_kind, NO_ORGANISATION_SOURCE)


#: The sealed fields, by their API names.
SEALED_FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "document_number",
    "phone",
    "documentation_status",
)


class Worker(SQLModel, table=True):
    """One registered migrant worker.

    ``pk`` is internal (the in-memory exposure index keys on it); ``id`` is the public id.
    An erased worker keeps only nationality, country, sector, sex and the erasure time: the
    anonymous count the register still needs.
    """

    __tablename__ = "workers"
    __table_args__ = (
        UniqueConstraint("identity_hash", name="uq_workers_identity_hash"),
        Index("ix_workers_nationality_country", "nationality", "country"),
    )

    pk: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    id: str = Field(default_factory=new_id, max_length=36, unique=True)
    nationality: str = Field(max_length=3)
    sex: str | None = Field(default=None, max_length=1)
    sector: str | None = Field(default=None, max_length=32)
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    employer: str | None = Field(default=None, max_length=200)
    recruitment_agency: str | None = Field(default=None, max_length=200)
    #: The employer and agency as directory entries, when their names or slugs match one: so
    #: that a crisis reaches the employers and agencies of the people in its zone. Not indexed:
    #: the exposure index holds both in memory, and no query filters on them.
    employer_org_id: str | None = Field(default=None, max_length=36)
    agency_org_id: str | None = Field(default=None, max_length=36)
    lat: float | None = None
    lon: float | None = None
    country: str | None = Field(default=None, max_length=3, index=True)
    admin1: str | None = Field(default=None, max_length=40)
    #: Why the location was accepted although it looked wrong (at sea, swapped...).
    location_flag: str | None = Field(default=None, max_length=32)
    accompanying_family: int = 0
    vulnerabilities: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    #: Any vulnerability: kept as a column so exposure counts need not read the list.
    vulnerable: bool = False
    #: Refugees and asylum seekers are never passed to their country of origin.
    international_protection: bool = False
    consent_embassy: bool = True
    consent_humanitarian: bool = False
    legal_basis: str = Field(max_length=32)
    source: str = Field(max_length=32)
    verified: bool = False
    stay_registered: bool = False
    #: Keyed hash of (nationality, document number), or of (nationality, names, birth date)
    #: when there is no document: duplicate detection without the clear values.
    identity_hash: str | None = Field(default=None, max_length=64)
    given_name_sealed: str | None = Field(default=None, sa_type=Text)
    family_name_sealed: str | None = Field(default=None, sa_type=Text)
    birth_date_sealed: str | None = Field(default=None, sa_type=Text)
    document_number_sealed: str | None = Field(default=None, sa_type=Text)
    phone_sealed: str | None = Field(default=None, sa_type=Text)
    #: Keyed hash of the phone in E.164 (``Protector.phone_hash``): a reply is matched to the
    #: people who registered its number without opening the register. Not unique: a family may
    #: share one phone.
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    documentation_status_sealed: str | None = Field(default=None, sa_type=Text)
    #: Hash of the record's content, so a re-import of the same row changes nothing.
    content_hash: str | None = Field(default=None, max_length=64)
    registered_by: str | None = Field(default=None, max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retain_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1


class RegisterChange(SQLModel, table=True):
    """A change feed of the register: each API process follows it to keep its index current."""

    __tablename__ = "register_changes"

    seq: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    worker_pk: int = Field(sa_column=Column(BigId, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PopulationGroup(SQLModel, table=True):
    """An aggregate group without personal data: a count at a point or over an area."""

    __tablename__ = "population_groups"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    nationality: str = Field(max_length=3, index=True)
    count: int
    female: int | None = None
    sector: str | None = Field(default=None, max_length=32)
    lat: float | None = None
    lon: float | None = None
    #: GeoJSON polygon or multipolygon (lon/lat) when the group covers an area.
    area: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    country: str | None = Field(default=None, max_length=3, index=True)
    admin1: str | None = Field(default=None, max_length=40)
    source: str = Field(max_length=200)
    as_of: datetime | None = Field(default=None, sa_type=UTCDateTime)
    key: str = Field(max_length=64, unique=True)
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
