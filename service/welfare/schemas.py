"""What the welfare API takes and gives: an outcome recorded, a status with its history, counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.countries import CountryCode
from service.registry.models import Sector
from service.text import Line, Paragraph
from service.welfare.models import WelfareChannel, WelfareOutcome

#: A province, as the register stores it: an ISO 3166-2 subdivision code (or the boundaries'
#: own code where the standard has none, ``HK-X-WAN_CHAI``).
Admin1Code = Annotated[str, Field(pattern=r"^[A-Z]{2}-[A-Z0-9_-]{1,37}$", max_length=40)]

#: What a drill's answers say of themselves.
DRILL_NOTICE = "Exercise: this status belongs to a drill, not to a real crisis"


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: WelfareOutcome = Field(
        description="`deceased` only by consular officers, coordinators and administrators"
    )
    note: Annotated[Paragraph, Field(max_length=2_000)] | None = Field(
        default=None, description="What they said (sealed at rest; never in an export)"
    )
    how: WelfareChannel | None = Field(default=None, description="How it was learnt")


class WelfareEventPublic(BaseModel):
    at: datetime
    actor: str
    previous: str | None
    status: str
    how: str | None
    note: str | None


class WelfarePublic(BaseModel):
    id: str
    crisis_id: str
    worker_id: str
    nationality: str
    country: str | None
    admin1: str | None
    status: str
    how: str | None
    note: str | None
    exercise: bool = Field(description="True in a drill: the status is an exercise's")
    drill_notice: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class WelfareDetail(WelfarePublic):
    history: list[WelfareEventPublic] = Field(description="Every change, oldest first")


class WelfareCounts(BaseModel):
    crisis_id: str
    exercise: bool
    drill_notice: str | None = None
    exact: bool = Field(description="False: small cells withheld and the rest rounded")
    suppressed_below: int | None = None
    total: int | None
    by_status: dict[str, int]
    by_nationality: dict[str, int]
    by_admin1: dict[str, int] = Field(description="By province (ISO 3166-2 subdivision)")
    reached: int | None = Field(
        default=None,
        description="Reached by a message or a call, or found: every status but "
        "unknown, no_answer and unreachable",
    )
    by_nationality_status: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="By nationality, then status"
    )
    by_admin1_status: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="By province, then status"
    )


class WelfareCheckCreate(BaseModel):
    """A welfare check to start (or to preview): the exposed workers of the crisis that the
    caller may contact, optionally narrowed."""

    model_config = ConfigDict(extra="forbid")

    admin1: list[Admin1Code] = Field(
        default_factory=list, max_length=100, description="Only these provinces (ISO 3166-2)"
    )
    sectors: list[Sector] = Field(default_factory=list, max_length=20)
    nationalities: list[CountryCode] = Field(default_factory=list, max_length=50)
    vulnerable_only: bool = Field(default=False, description="Only people with a vulnerability")
    sender: Annotated[Line, Field(max_length=40)] | None = Field(
        default=None,
        description="Who the message says it is from (default: your organisation's name)",
    )
    label: Annotated[Line, Field(max_length=60)] | None = Field(
        default=None, description="What the message calls the crisis (default: its title)"
    )
    reminder_after_hours: float = Field(
        default=6.0,
        ge=0,
        le=168,
        description="A reminder to the silent ones after; 0, or not before the deadline: none",
    )
    answer_within_hours: float = Field(
        default=24.0, gt=0, le=336, description="Past it, the silent ones are `no_answer`"
    )


class CheckText(BaseModel):
    kind: str
    language: str
    body: str
    encoding: str = Field(description="GSM-7 or UCS-2")
    segments: int = Field(description="SMS parts one message costs")
    needs_review: bool = Field(description="Written by the project, not yet reviewed natively")
    recipients: int


class WelfareCheckPreview(BaseModel):
    crisis_id: str
    exercise: bool
    drill_notice: str | None = None
    gateway: str = Field(description="`drill` for an exercise, whatever the settings say")
    recipients: int = Field(description="People the first message goes to")
    unreachable: int = Field(description="In scope, no usable phone: `unreachable`")
    stopped: int = Field(description="In scope, their phone said STOP")
    quiet: int = Field(description="In scope, reached by another check too recently")
    settled: int = Field(description="In scope, already answered or settled in this crisis")
    segments: int = Field(description="SMS parts of the first messages, all together")
    texts: list[CheckText]


class WelfareCheckPublic(BaseModel):
    id: str
    crisis_id: str
    exercise: bool
    drill_notice: str | None = None
    state: str
    started_by: str
    organization_id: str | None
    scope: dict[str, Any]
    sender: str
    label: str
    gateway: str
    recipients: int
    unreachable: int
    stopped: int
    quiet: int
    reminder_at: datetime | None
    reminded_at: datetime | None
    deadline_at: datetime
    closed_at: datetime | None
    created_at: datetime
    version: int
    messages: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Its messages by step (check, reminder) and state"
    )
    answers: dict[str, int] = Field(
        default_factory=dict, description="Its recipients' welfare statuses, counted"
    )


class CheckRecipient(BaseModel):
    worker_id: str
    nationality: str
    admin1: str | None
    language: str
    check_message: str = Field(description="The first message's state")
    reminder: str | None = Field(description="The reminder's state; none sent")
    welfare_status: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
