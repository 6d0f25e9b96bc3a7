"""What the alerts API gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from integrations.alert import Severity
from service.alerts.models import AlertPush, AlertRecord, AlertVersion


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
    def of(cls, row: AlertRecord, **more: Any) -> Self:
        """The alert as it goes out, with ``more`` fields of a subclass. The row's values are
        taken as they are, not dumped and validated again: a zone of 100,000 vertices copied
        twice cost a tenth of a second of the event loop."""
        data = {name: getattr(row, name) for name in type(row).model_fields} | more
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


class PassOutcome(BaseModel):
    """What the crisis pass made of a version of an alert."""

    result: str = Field(
        description="opened (a new crisis), joined (an open crisis it overlaps), updated (its "
        "crisis), stood_down (a cancel), unchanged, not_a_crisis (below the hazard's rule, or "
        "not an actual, exercise or test message), no_zone, too_complex"
    )
    crisis_id: str | None = Field(description="The crisis it opened, joined or updated")
    tasks: int = Field(description="Tasks the playbooks added")
    why: str = Field(description="Why, when it opened no crisis (or the rule it met)")
    handled_at: datetime | None

    @classmethod
    def of(cls, version: AlertVersion | None) -> PassOutcome | None:
        if version is None or version.result is None:
            return None
        return cls(
            result=version.result,
            crisis_id=version.crisis_id,
            tasks=version.tasks or 0,
            why=version.why or "",
            handled_at=version.handled_at,
        )


#: The ``outcome`` of a push, described once for every answer that carries it.
OUTCOME = Field(
    default=None,
    description="What the crisis pass made of the pushed version: null until it has run (the "
    "API runs it before answering unless `LIFELINE_CRISIS_PASS_INLINE` is off; else the "
    "worker does, and `GET /api/v1/alerts/{id}` says so later), and for a version older than "
    "the one already held",
)


class AlertPushPublic(BaseModel):
    """One push of a CAP message by the caller's organisation, and what followed it."""

    alert_id: str
    version: str = Field(description="The version pushed")
    organization_id: str | None = Field(description="Who pushed it (null: the operator)")
    received: Literal["new", "updated", "unchanged"] = Field(
        description="new alert, new version of a known one, or already known"
    )
    pushed_at: datetime
    outcome: PassOutcome | None = OUTCOME

    @classmethod
    def of(cls, push: AlertPush, version: AlertVersion | None) -> AlertPushPublic:
        return cls(
            alert_id=push.alert_id,
            version=push.version,
            organization_id=push.organization_id or None,
            received=push.received,
            pushed_at=push.pushed_at,
            outcome=PassOutcome.of(version),
        )


class CapPushed(AlertPublic):
    """The alert a CAP push is stored as, with what became of it."""

    pushed_version: str = Field(description="The version this message is (`version`: the latest)")
    received: Literal["new", "updated", "unchanged"] = Field(
        description="new alert (201), new version of a known one (201), or already known (200)"
    )
    outcome: PassOutcome | None = OUTCOME


class AlertDetail(AlertPublic):
    history: list[AlertVersionPublic]
    pushes: list[AlertPushPublic] = Field(
        default_factory=list,
        description="The pushes of this alert by the caller's organisation (an admin: by "
        "everyone), oldest first, each with what the crisis pass made of it",
    )


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
