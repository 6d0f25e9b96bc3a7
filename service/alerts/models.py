"""Alert tables: the alert (latest state), each version received, and the aliases that tie a
USGS event's network ids or a CAP chain's messages to one alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class AlertRecord(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_alerts_source_external_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    source: str = Field(max_length=120, index=True)
    external_id: str = Field(max_length=300)
    version: str = Field(max_length=100)
    hazard: str = Field(max_length=32, index=True)
    severity: int
    certainty: str = Field(max_length=16)
    urgency: str = Field(max_length=16)
    status: str = Field(max_length=16, index=True)
    msg_type: str = Field(max_length=16)
    cancelled: bool = False
    headline: str = Field(default="", max_length=1000)
    description: str = Field(default="", sa_type=Text)
    instruction: str = Field(default="", sa_type=Text)
    onset: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    geometry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    #: The area matched against the register (see ``service.alerts.zones``), and how it was made.
    zone: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    zone_source: str | None = Field(default=None, max_length=40)
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    url: str | None = Field(default=None, max_length=1000)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    versions: int = 1
    #: The version the crisis pass last handled; behind ``version`` means work to do.
    processed_version: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class AlertVersion(SQLModel, table=True):
    """Every version received, with its raw bytes and how they were fetched: history is kept."""

    __tablename__ = "alert_versions"
    __table_args__ = (UniqueConstraint("alert_id", "version", name="uq_alert_versions_alert_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    alert_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: str = Field(max_length=100)
    msg_type: str = Field(max_length=16)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    raw: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    fetch: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    summary: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    #: What the crisis pass made of this version (``service.flows.alert_pass.Outcome``): opened,
    #: joined, updated, stood_down, unchanged, not_a_crisis, no_zone or too_complex; None until
    #: the pass handled it (a version superseded before it ran is never handled on its own).
    result: str | None = Field(default=None, max_length=20)
    crisis_id: str | None = Field(default=None, max_length=36)
    tasks: int | None = None
    why: str | None = Field(default=None, max_length=300)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertPush(SQLModel, table=True):
    """Who pushed which version of an alert (``POST /alerts/cap``): the pusher reads what
    followed. One row per organisation and version: the same push again adds nothing."""

    __tablename__ = "alert_pushes"
    __table_args__ = (
        UniqueConstraint("alert_id", "version", "organization_id", name="uq_alert_pushes_alert_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    alert_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: str = Field(max_length=100)
    #: The pushing organisation ("" for the command line or the worker).
    organization_id: str = Field(default="", max_length=36, index=True)
    #: How the push was stored: new, updated, or unchanged (already known).
    received: str = Field(max_length=16)
    pushed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertAlias(SQLModel, table=True):
    """Another identifier of the same alert, within its source: any overlap means the same event."""

    __tablename__ = "alert_aliases"
    __table_args__ = (UniqueConstraint("source", "alias", name="uq_alert_aliases_source"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    source: str = Field(max_length=120)
    alias: str = Field(max_length=300)
    alert_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


class FeedState(SQLModel, table=True):
    """Each configured feed's health and conditional-GET memory."""

    __tablename__ = "feed_states"

    name: str = Field(primary_key=True, max_length=80)
    etag: str | None = Field(default=None, max_length=300)
    last_modified: str | None = Field(default=None, max_length=100)
    last_attempt: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consecutive_failures: int = 0
    items_seen: int = 0
    alerts_new: int = 0
    alerts_updated: int = 0
    next_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
