"""Crisis tables: the crisis, its zone versions, alerts, exposure snapshots and timeline."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class Phase(enum.StrEnum):
    PREPAREDNESS = "preparedness"
    RESPONSE = "response"
    RECOVERY = "recovery"
    CLOSED = "closed"


class CrisisSeverity(enum.StrEnum):
    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"
    EXTREME = "extreme"


def _crisis_fk() -> Any:
    return Column(
        String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
    )


class Crisis(SQLModel, table=True):
    __tablename__ = "crises"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    title: str = Field(max_length=300)
    hazard: str = Field(max_length=32, index=True)
    severity: str = Field(max_length=16)
    phase: str = Field(default=Phase.RESPONSE.value, max_length=16, index=True)
    #: 1 precautionary, 2 restriction, 3 voluntary repatriation, 4 mandatory repatriation.
    alert_level: int = 1
    #: A drill: it runs every playbook, and nothing it produces reaches a real person.
    exercise: bool = False
    #: Unknown numbers that write in during the crisis become crisis-time registrations that a
    #: person confirms (``service.flows.replies``); off by default.
    intake: bool = False
    #: Stood down by a cancel: tasks not started were cancelled, the rest flagged.
    stood_down: bool = False
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    opened_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    version: int = 1


class CrisisZone(SQLModel, table=True):
    """Every zone the crisis has had: a change never overwrites the old geometry."""

    __tablename__ = "crisis_zones"
    __table_args__ = (UniqueConstraint("crisis_id", "version", name="uq_crisis_zones_crisis_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(sa_column=_crisis_fk())
    version: int
    geometry: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    source: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CrisisAlert(SQLModel, table=True):
    __tablename__ = "crisis_alerts"
    __table_args__ = (UniqueConstraint("crisis_id", "alert_id", name="uq_crisis_alerts_crisis_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(sa_column=_crisis_fk())
    alert_id: str = Field(max_length=36, index=True)
    alert_version: str = Field(max_length=100)
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExposureSnapshot(SQLModel, table=True):
    """The exact exposure of a zone version when it was taken (aggregates only)."""

    __tablename__ = "exposure_snapshots"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(sa_column=_crisis_fk())
    zone_version: int
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    counts: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))


class CrisisEvent(SQLModel, table=True):
    """The crisis timeline: every state change, in order."""

    __tablename__ = "crisis_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(sa_column=_crisis_fk())
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=60)
    actor: str = Field(max_length=120)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
