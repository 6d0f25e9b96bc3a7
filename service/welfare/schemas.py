"""What the welfare API takes and gives: an outcome recorded, a status with its history, counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.text import Paragraph
from service.welfare.models import WelfareChannel, WelfareOutcome

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
