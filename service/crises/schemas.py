"""What the crises API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from integrations.alert import Hazard
from service.countries import CountryCode
from service.crises.models import CrisisSeverity, Phase
from service.text import Line


class CrisisCreate(BaseModel):
    """A crisis declared by a coordinator (conflict, unrest, an epidemic: no feed may say it)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[Line, Field(min_length=3, max_length=300)]
    hazard: Hazard
    severity: CrisisSeverity
    zones: dict[str, Any] = Field(description="GeoJSON geometry or Feature: the area concerned")
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
    zones: dict[str, Any] | None = Field(
        default=None, description="A new zone: the old one is kept"
    )


class CrisisPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    hazard: str
    severity: str
    phase: str
    alert_level: int
    exercise: bool
    stood_down: bool
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
