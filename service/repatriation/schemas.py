"""What the repatriation API takes and gives."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.registry.models import Vulnerability
from service.repatriation.models import CaseKind, CaseState, Passport
from service.text import Line, Paragraph

#: What a journey may need, said plainly.
Need = Annotated[str, Field(pattern=r"^[a-z_]{2,40}$")]


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
    kind: CaseKind = CaseKind.REPATRIATION
    passport: Passport = Passport.UNKNOWN
    family: int = Field(
        default=0, ge=0, le=20, description="Family members travelling with them, any nationality"
    )
    needs: list[Need] = Field(
        default_factory=list,
        max_length=10,
        description="`medical_escort`, `unaccompanied_minor`, `wheelchair`...",
    )
    note: Annotated[Paragraph, Field(max_length=2_000)] | None = None
    reply_id: Annotated[str, Field(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] | None = Field(
        default=None,
        description="The worker's reply to a welfare check that asked for it: the case is "
        "opened from it (`source` `welfare_reply`)",
    )
    tell_family: bool = Field(
        default=False,
        description="The worker agreed that their family at home be told when they are on a "
        "movement and when they arrive, at `family_phone`",
    )
    family_phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()./-]{5,25}$")] | None = Field(
        default=None, description="Their family's number at home, in international form"
    )


class BulkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin1: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="The province (`admin1` of the register) whose exposed workers leave"
    )
    kind: CaseKind = CaseKind.REPATRIATION


class BulkDone(BaseModel):
    opened: int = Field(description="Cases opened, each waiting for the person's consent")
    already: int = Field(description="Workers who had a case of this kind in this crisis")
    eligible: int
    not_eligible: int


class RulesSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repatriation_level: int = Field(default=3, ge=1, le=4)
    relocation_level: int = Field(default=2, ge=1, le=4)
    nationalities: list[Annotated[str, Field(pattern=r"^[A-Z]{3}$")]] = Field(
        default_factory=list, max_length=300, description="Who may leave; empty: everyone"
    )
    admin1: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=500, description="From which provinces; empty: all"
    )
    priority: list[Vulnerability] = Field(
        default_factory=lambda: [
            Vulnerability.PREGNANT,
            Vulnerability.DISABILITY,
            Vulnerability.MINOR,
            Vulnerability.ELDERLY,
            Vulnerability.TRAFFICKING_SURVIVOR,
        ],
        max_length=20,
        description="The vulnerabilities that put a person first, a point each",
    )


class RulesPublic(RulesSet):
    crisis_id: str
    source: str = Field(description="`crisis` (set by a coordinator) or `settings`")
    version: int
    set_by: str | None
    decided: dict[str, int] = Field(
        default_factory=dict,
        description="After a change: the open cases decided again, by their new state",
    )


class CaseMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: CaseState
    reason: Annotated[Line, Field(max_length=300)] | None = None


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given: bool = Field(description="False records a refusal: never overridden")


class CasePublic(BaseModel):
    id: str
    crisis_id: str
    worker_id: str
    nationality: str
    kind: str
    state: str
    rule: str | None = Field(description="The rule that decided eligibility, in words")
    priority: int
    consent: str
    consent_at: datetime | None
    passport: str
    family: int
    needs: list[str]
    note: str | None
    movement_id: str | None
    source: str = Field(description="`officer`, `welfare_reply` or `bulk`")
    reply_id: str | None
    tell_family: bool
    exercise: bool
    version: int
    created_at: datetime
    updated_at: datetime


class LegCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Annotated[str, Field(pattern="^(bus|flight|ship|train|other)$")]
    origin: Annotated[Line, Field(min_length=1, max_length=120)]
    destination: Annotated[Line, Field(min_length=1, max_length=120)]
    departs_at: datetime | None = None
    capacity: int = Field(ge=1, le=100_000)
    cost_per_place: int | None = Field(
        default=None, ge=0, le=10**12, description="In the paying fund's minor unit"
    )


class MovementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[Line, Field(min_length=1, max_length=200)]
    legs: list[LegCreate] = Field(min_length=1, max_length=10)


class LegPublic(BaseModel):
    seq: int
    mode: str
    origin: str
    destination: str
    departs_at: datetime | None
    capacity: int
    booked: int = Field(description="Places taken: never above capacity")
    cost_per_place: int | None


class MovementPublic(BaseModel):
    id: str
    crisis_id: str
    title: str
    organised_by: str | None
    exercise: bool
    legs: list[LegPublic]
    created_at: datetime


class SeatCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


class CheckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


class CheckWord(enum.StrEnum):
    """A check at a gate, as a file of checks says it."""

    BOARDED = "boarded"
    ARRIVED = "arrived"


class ChecksApplied(BaseModel):
    """What a file of checks did: checks made, checks already made (the same file again changes
    nothing), and rows of other legs left aside (a manifest's CSV has every leg's)."""

    applied: int
    unchanged: int
    other_legs: int = 0


class CheckPublic(BaseModel):
    case_id: str
    leg: int
    seat: str
    changed: bool
    case_state: str


class LegReconciled(BaseModel):
    seq: int
    origin: str
    destination: str
    capacity: int
    booked_places: int
    booked: int
    boarded: int
    arrived: int
    not_boarded: list[str] = Field(description="Workers booked on the leg and not boarded")
    not_arrived: list[str] = Field(description="Workers boarded and not arrived")


class Reconciliation(BaseModel):
    movement_id: str
    legs: list[LegReconciled]


class ManifestRow(BaseModel):
    leg: int
    mode: str
    origin: str
    destination: str
    departs_at: datetime | None
    case_id: str
    worker_id: str
    nationality: str
    given_name: str | None
    family_name: str | None
    passport: str | None
    places: int
    needs: str | None
    seat: str


#: An ISO 4217 currency code.
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class FundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Line, Field(min_length=1, max_length=200)]
    currency: Currency
    country: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="Whose fund (ISO 3166-1)")]


class FundPublic(BaseModel):
    id: str
    name: str
    currency: str
    country: str
    organization_id: str | None
    available: int = Field(description="Minor units: budget, refunds and recoveries less what "
                           "is set aside and spent")  # fmt: skip
    committed: int = Field(description="Set aside for movements, not yet spent or released")
    spent: int
    budget: int
    refunded: int
    recovered: int
    owed: dict[str, int] = Field(description="Owed to the fund, by the debtor's organisation id")


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[
        str,
        Field(pattern="^(budget|commitment|release|expenditure|refund|recovery_received)$"),
    ] = Field(description="Recovery claims are made by `POST /funds/{id}/recoveries`")
    amount: int | None = Field(
        default=None,
        gt=0,
        le=10**15,
        description="In the fund's minor unit; a movement's commitment may leave it out: each "
        "leg's places at their price",
    )
    crisis_id: Annotated[str, Field(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] | None = None
    movement_id: Annotated[str, Field(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] | None = None
    against: Annotated[str, Field(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] | None = Field(
        default=None, description="The commitment an expenditure or a release draws on"
    )
    debtor_org_id: Annotated[str, Field(max_length=36, pattern=r"^[0-9a-f-]{1,36}$")] | None = None
    note: Annotated[Line, Field(max_length=300)] | None = None
    override: Annotated[Line, Field(min_length=3, max_length=300)] | None = Field(
        default=None, description="Coordinators: why the fund may go below zero"
    )


class EntryPublic(BaseModel):
    id: str
    fund_id: str
    kind: str
    amount: int
    crisis_id: str | None
    movement_id: str | None
    against: str | None
    worker_id: str | None
    debtor_org_id: str | None
    note: str | None
    override: str | None
    at: datetime
    by: str


class RecoveryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    movement_id: Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


class RecoveryDone(BaseModel):
    rule: str | None = Field(description="Who pays by the law of the fund's country")
    claimed: int
    no_debtor: int = Field(description="Workers with neither employer nor agency in the directory")
    already: int


class NationalityCount(BaseModel):
    nationality: str
    state: str
    cases: int
    people: int = Field(description="With the family members travelling with them")


class LegReport(BaseModel):
    seq: int
    mode: str
    origin: str
    destination: str
    departs_at: datetime | None
    capacity: int
    booked_places: int
    booked: int
    boarded: int
    arrived: int
    not_boarded: int = Field(description="Booked and not boarded, once the gate checked anyone")
    not_arrived: int = Field(description="Boarded and not arrived, once the end checked anyone")


class MoneyReport(BaseModel):
    committed: int = Field(description="Minor units: set aside less released")
    spent: int
    claimed: int = Field(description="Claimed from employers and agencies")
    recovered: int


class MovementReport(BaseModel):
    movement_id: str
    title: str
    exercise: bool
    legs: list[LegReport]
    missing: int
    money: dict[str, MoneyReport] = Field(description="By ISO 4217 currency")


class CrisisReport(BaseModel):
    crisis_id: str
    alert_level: int
    cases: int = Field(description="Cases of the workers you may read")
    people: int
    by_state: dict[str, int]
    consent: dict[str, int]
    by_nationality: list[NationalityCount]
    movements: list[MovementReport]
    sitrep: str = Field(description="The situation report's line: counts in plain words")


class DebtorRow(BaseModel):
    debtor_org_id: str
    name: str | None
    kind: str | None
    country: str | None
    workers: int
    claimed: int
    received: int
    owed: int
    currency: str
