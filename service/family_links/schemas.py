"""What the Restoring Family Links API takes and gives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.family_links.models import Agreement, ListingState, Separation, TracingState
from service.text import Line, Paragraph

Id = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Name = Annotated[Line, Field(min_length=1, max_length=200)]


class ListingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: Id
    crisis_id: Id | None = Field(
        default=None, description="The crisis in which the worker is safe (else any)"
    )
    agreed_via: Agreement = Field(description="How the person's agreement was given")
    message: Annotated[Paragraph, Field(max_length=280)] | None = Field(
        default=None, description="A short message for the family, in the person's words"
    )
    home_town: Annotated[Line, Field(max_length=120)] | None = Field(
        default=None, description="Their home town, a third fact a relative may search by"
    )


class ListingPublic(BaseModel):
    id: str
    worker_id: str | None = Field(description="None for a listing imported from PFIF")
    record_id: str | None = Field(description="An imported listing's original PFIF record id")
    crisis_id: str | None
    state: ListingState
    message: str | None
    agreed_via: str
    listed_at: datetime
    ended_at: datetime | None
    exercise: bool
    version: int


class ListingEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Annotated[ListingState, Field(description="`withdrawn` or `removed`")]


class Skipped(BaseModel):
    record_id: str
    reason: str


class ImportAnswer(BaseModel):
    imported: int = Field(description="Listings made")
    unchanged: int = Field(description="Records there already (by their record id)")
    skipped: int = Field(description="Records that make no listing")
    reasons: list[Skipped] = Field(description="Why each skipped record was left out")


class SearchCreate(BaseModel):
    """A relative's search: the full name as they write it, and one fact only a relative
    would know."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[Line, Field(min_length=3, max_length=200)]
    birth_date: date | None = None
    phone: Annotated[str, Field(pattern=r"^\+[0-9 ()./-]{7,25}$")] | None = Field(
        default=None, description="Their phone in international form (+63...)"
    )
    home_town: Annotated[Line, Field(min_length=2, max_length=120)] | None = None


class SearchAnswer(BaseModel):
    found: bool
    listed_on: date | None = Field(description="The day they were listed as safe and well")
    message: str | None = Field(description="Their message for the family")
    said: str = Field(description="The answer in words")


class TracingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host_country: Country = Field(description="Where the person is sought")
    crisis_id: Id | None = None
    sought_given_name: Name
    sought_family_name: Name | None = None
    sought_other_names: list[Name] = Field(default_factory=list, max_length=5)
    sought_sex: Annotated[str, Field(pattern="^(F|M|X)$")] | None = None
    sought_birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sought_nationality: Country
    sought_last_address: Annotated[Line, Field(max_length=300)] | None = None
    sought_last_employer: Annotated[Line, Field(max_length=200)] | None = None
    last_contact: date | None = None
    separation: Separation
    enquirer_name: Name
    enquirer_relationship: Annotated[Line, Field(min_length=2, max_length=40)]
    enquirer_contact: Annotated[Line, Field(min_length=3, max_length=200)]
    enquirer_consent: bool = Field(
        description="The enquirer agreed that their request be used to search: required"
    )
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "en"


class CandidatePublic(BaseModel):
    id: str
    worker_id: str
    score: float
    why: str
    state: str
    given_name: str | None = Field(description="For those who may read the worker")
    family_name: str | None


class TracingPublic(BaseModel):
    id: str
    side: str = Field(
        description="Yours: `search` (the host society), `family` (the filing side) or "
        "`consular` (the located person's consular officers, with their agreement)"
    )
    state: str = Field(
        description="The state; for the family's side, the words it may pass on: `searching`, "
        "`contact_restored`, `closed`, `handled_in_person`"
    )
    host_country: str
    origin_country: str
    filed_by_org: str
    crisis_id: str | None
    sought_given_name: str | None
    sought_family_name: str | None
    sought_other_names: str | None
    sought_sex: str | None
    sought_birth_year: int | None
    sought_nationality: str
    sought_last_address: str | None
    sought_last_employer: str | None
    last_contact: date | None
    separation: str
    enquirer_name: str | None
    enquirer_relationship: str
    enquirer_contact: str | None
    language: str
    located_worker_id: str | None = Field(description="Never for the family's side")
    consular_agreed: bool | None = Field(description="Never for the family's side")
    candidates: list[CandidatePublic] = Field(description="The search side only")
    exercise: bool
    version: int = Field(
        description="For the family's side, the changes of what it is shown only (its ETag too)"
    )
    created_at: datetime
    updated_at: datetime = Field(description="For the family's side, when what it is shown changed")


class CandidateDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmed: bool


class ConsularAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreed: bool = Field(description="The located person's own word")


class TracingMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: TracingState
    reason: Annotated[Line, Field(max_length=300)] | None = None


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    relationship: Annotated[Line, Field(min_length=2, max_length=40)]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()./-]{5,25}$")] | None = None
    country: Country
    may_contact: bool = Field(description="The worker agreed that they be contacted about them")


class ContactPublic(BaseModel):
    id: str
    worker_id: str
    name: str | None
    relationship: str
    phone: str | None
    country: str
    may_contact: bool
    created_at: datetime


class RcMessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[Paragraph, Field(min_length=1, max_length=300)] = Field(
        description="Family news in the writer's own words: a short SMS"
    )


class RcMessagePublic(BaseModel):
    id: str
    direction: str = Field(description="`to_found` (from the family) or `to_family`")
    text: str | None
    channel: str = Field(description="`sms`, or `by_hand` (a task for the society)")
    written_by: str
    created_at: datetime
