"""Welfare tables: a worker's current status in a crisis, and every change of it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class WelfareOutcome(enum.StrEnum):
    UNKNOWN = "unknown"
    CONTACTED = "contacted"
    SAFE = "safe"
    NEEDS_HELP = "needs_help"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    MISSING = "missing"
    DECEASED = "deceased"


class WelfareChannel(enum.StrEnum):
    """How the outcome was learnt."""

    CALL = "call"
    REPLY = "reply"
    FIELD = "field"


class WelfareStatus(SQLModel, table=True):
    """The current welfare status of one worker in one crisis."""

    __tablename__ = "welfare_statuses"
    __table_args__ = (
        UniqueConstraint("crisis_id", "worker_id", name="uq_welfare_statuses_crisis_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    #: The worker's public id (``workers.id``).
    worker_id: str = Field(max_length=36, index=True)
    status: str = Field(default=WelfareOutcome.UNKNOWN.value, max_length=16, index=True)
    #: What they said, sealed like the register's personal fields (record id: this row's id).
    note_sealed: str | None = Field(default=None, sa_type=Text)
    how: str | None = Field(default=None, max_length=8)
    exercise: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WelfareEvent(SQLModel, table=True):
    """One change of a welfare status: what it became, how it was learnt, who recorded it."""

    __tablename__ = "welfare_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    status_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("welfare_statuses.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    previous: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    how: str | None = Field(default=None, max_length=8)
    #: Sealed with the status row's id as its record, field ``note``.
    note_sealed: str | None = Field(default=None, sa_type=Text)


class CheckState(enum.StrEnum):
    #: Messages going out, answers coming in; the reminder and the deadline ahead.
    RUNNING = "running"
    #: Past its deadline: the silent ones are ``no_answer``, their tracing tasks open.
    CLOSED = "closed"
    #: Stopped by a person: what was not sent is not sent.
    CANCELLED = "cancelled"


class WelfareCheck(SQLModel, table=True):
    """A welfare check: one message to each exposed worker its starter may contact, a reminder
    to the silent ones after ``reminder_after_s``, and ``no_answer`` for those still silent at
    ``deadline_at``."""

    __tablename__ = "welfare_checks"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    exercise: bool = False
    #: Who started it, and for which organisation: its recipients are the people that
    #: organisation may contact (``service.registry.access``).
    started_by: str = Field(max_length=120)
    organization_id: str | None = Field(default=None, max_length=36, index=True)
    role: str = Field(max_length=24)
    #: The narrowing asked for: ``{"admin1": [...], "sectors": [...], "nationalities": [...],
    #: "vulnerable_only": bool}``.
    scope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: Who the message says it is from, and what it names the crisis: no personal data.
    sender: str = Field(max_length=60)
    label: str = Field(max_length=80)
    #: The texts by kind and language, sealed (record: this check, field ``<kind>:<language>``).
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    gateway: str = Field(max_length=20)
    state: str = Field(default=CheckState.RUNNING.value, max_length=12, index=True)
    recipients: int = 0
    #: Exposed and in scope, but not messaged: no usable phone, a STOP, a check too recent.
    unreachable: int = 0
    stopped: int = 0
    quiet: int = 0
    reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
