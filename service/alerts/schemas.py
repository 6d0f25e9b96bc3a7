"""What the alerts API gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrations.alert import Severity
from service.alerts.models import AlertRecord


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    source: str
    external_id: str
    version: str
    hazard: str
    severity: str = Field(description="unknown, minor, moderate, severe or extreme")
    severity_level: int = Field(description="The same on one ordinal scale, 0 to 4")
    certainty: str
    urgency: str
    status: str = Field(description="actual, exercise, test, system or draft")
    exercise: bool = Field(description="Not a real event: never to reach a real person")
    msg_type: str
    cancelled: bool
    headline: str
    description: str
    instruction: str
    onset: datetime | None
    expires: datetime | None
    sent: datetime | None
    geometry: dict[str, Any] | None
    zone: dict[str, Any] | None = Field(description="The area matched against the register")
    zone_source: str | None = Field(
        description="polygon, geocodes, point+<radius>km, countries, gdacs"
    )
    languages: list[str]
    countries: list[str]
    url: str | None
    versions: int
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: AlertRecord) -> AlertPublic:
        data = row.model_dump()
        data["severity_level"] = row.severity
        data["severity"] = Severity(row.severity).name.lower()
        data["exercise"] = row.status != "actual"
        return cls.model_validate(data)


class AlertVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    msg_type: str
    received_at: datetime
    fetch: dict[str, Any]
    summary: dict[str, Any]


class AlertDetail(AlertPublic):
    history: list[AlertVersionPublic]


class FeedHealth(BaseModel):
    name: str
    kind: str
    url: str
    enabled: bool
    interval_s: float
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    items_seen: int = 0
    alerts_new: int = 0
    alerts_updated: int = 0
    next_due: datetime | None = None


class PollResult(BaseModel):
    feed: str
    status: str
    items: int
    new: int
    updated: int
    error: str | None
    skipped_items: list[str]
