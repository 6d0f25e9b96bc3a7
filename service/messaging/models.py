"""Messaging tables: the outbox of messages to workers' phones, what their phones sent us, and the
phones that asked for no more.

No clear phone number is kept here: a message names its worker (the sender opens the register's
sealed phone when it sends) and a phone is known by its keyed hash (``phone_hash``, as the
register keeps it). Texts that came in are sealed; texts that go out are a check's templates,
sealed once per check and language (``welfare_checks``), not per message.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class MessageState(enum.StrEnum):
    #: Planned, not handed to the gateway yet (or handed, and the answer lost: sent again with
    #: the same key after the lease).
    PENDING = "pending"
    #: The gateway took it.
    SENT = "sent"
    DELIVERED = "delivered"
    #: Given up after the retries, or the gateway reported a failure.
    FAILED = "failed"
    #: A permanent refusal: the number is not usable (the person becomes ``unreachable``).
    UNDELIVERABLE = "undeliverable"
    #: Not sent: the person answered, asked for no more, or was erased before its turn.
    CANCELLED = "cancelled"


class Step(enum.StrEnum):
    CHECK = "check"
    REMINDER = "reminder"
    #: An answer to something they sent (thanks, stopped, how to register).
    REPLY = "reply"
    #: To the family at home of a person leaving, where the person agreed (``to_sealed``).
    FAMILY = "family"
    #: A Red Cross Message between a family and a person found (``text_sealed``).
    RC_MESSAGE = "rc_message"


class OutboundMessage(SQLModel, table=True):
    """One message to one worker's phone. ``id`` is the message's key: unique, sent as the
    gateway's idempotency key where it has one. One per worker and step of a check."""

    __tablename__ = "messages_out"
    __table_args__ = (
        UniqueConstraint("check_id", "worker_id", "step", name="uq_messages_out_check_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    #: The welfare check it belongs to (None for an answer to an inbound message).
    check_id: str | None = Field(default=None, max_length=36, index=True)
    crisis_id: str | None = Field(default=None, max_length=36, index=True)
    #: The worker's public id: the sender reads their phone from the register when it sends.
    worker_id: str | None = Field(default=None, max_length=36, index=True)
    #: For an answer to an unknown number: the inbound message it answers (its phone is not in
    #: the register; the answer goes to the number the gateway gave, kept sealed here).
    reply_to: str | None = Field(default=None, max_length=36)
    to_sealed: str | None = Field(default=None, sa_type=Text)
    #: Words of a person carried in the message (a Red Cross Message), sealed with this row's
    #: id (field ``text``); the templates' own texts are never stored per message.
    text_sealed: str | None = Field(default=None, sa_type=Text)
    step: str = Field(max_length=10)
    #: The template and its language (``integrations.messaging.templates``).
    kind: str = Field(max_length=20)
    language: str = Field(max_length=8)
    segments: int = 1
    #: The gateway it goes through: ``drill`` for an exercise, whatever the settings say.
    gateway: str = Field(max_length=20)
    drill: bool = False
    state: str = Field(default=MessageState.PENDING.value, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    #: A sender holds the message until then; a sender killed mid-send lets it go this way.
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, max_length=80, index=True)
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboundState(enum.StrEnum):
    #: Read with certainty and recorded.
    UNDERSTOOD = "understood"
    #: Could not be read with certainty: a person reads it (never guessed).
    TO_READ = "to_read"
    #: A person read it and recorded what it says.
    READ = "read"
    #: From a number the register does not know: answered with the hotline.
    UNKNOWN_SENDER = "unknown_sender"
    #: From a number the register does not know, while a crisis takes crisis-time registrations:
    #: a person calls back and registers them (``POST /messages/inbound/{id}/registration``).
    INTAKE = "intake"


class InboundMessage(SQLModel, table=True):
    """One message (or receipt) a gateway delivered to us, once: the same provider id again is
    the same message (gateways redeliver) and changes nothing."""

    __tablename__ = "messages_in"
    __table_args__ = (UniqueConstraint("gateway", "provider_id", name="uq_messages_in_gateway"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    gateway: str = Field(max_length=20)
    provider_id: str = Field(max_length=80)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    #: Keyed hash of the sender's number in E.164; None when it is not a phone number.
    from_hash: str | None = Field(default=None, max_length=64, index=True)
    #: The number and the text, sealed with this row's id (fields ``from`` and ``text``).
    from_sealed: str | None = Field(default=None, sa_type=Text)
    text_sealed: str | None = Field(default=None, sa_type=Text)
    state: str = Field(max_length=16, index=True)
    #: What it says: safe, needs_help, stop; None until read.
    outcome: str | None = Field(default=None, max_length=16)
    #: The workers registered with that number (a family may share one phone), public ids.
    worker_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: The crises whose statuses it set.
    crisis_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    drill: bool = False
    read_by: str | None = Field(default=None, max_length=120)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PhoneStop(SQLModel, table=True):
    """A phone that asked for no more messages (STOP): honoured at once, for every check."""

    __tablename__ = "phone_stops"

    phone_hash: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: The inbound message that asked, or the person who recorded it.
    via: str = Field(max_length=120)
