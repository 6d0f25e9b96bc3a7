"""The audit table. Rows are never updated or deleted: database triggers refuse it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    #: ``api``, ``cli`` or ``worker``.
    channel: str = Field(max_length=16)
    request_id: str | None = Field(default=None, max_length=128)
    token_id: str | None = Field(default=None, max_length=36)
    #: The person, when a person signed in to the console acted (``service.users``).
    user_id: str | None = Field(default=None, max_length=36, index=True)
    organization_id: str | None = Field(default=None, max_length=36, index=True)
    role: str | None = Field(default=None, max_length=32)
    #: What was done, in dotted form: ``organization.create``, ``worker.read``.
    action: str = Field(max_length=80, index=True)
    #: ``allowed`` or ``denied``.
    outcome: str = Field(default="allowed", max_length=16)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=64, index=True)
    #: Why: the crisis or task the access served, when the caller said so.
    purpose: str | None = Field(default=None, max_length=200)
    #: Record ids and counts only: the audit log holds no personal data.
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class AuditLink(SQLModel, table=True):
    """One link of the audit chain (``service.audit.chain``): the event it seals, in the order
    the chaining pass met it. Append-only, as the events: database triggers refuse changes."""

    __tablename__ = "audit_chain"
    __table_args__ = (UniqueConstraint("event_id", name="uq_audit_chain_event_id"),)

    #: 1, 2, 3... with no gap.
    seq: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
        )
    )
    event_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"),
            ForeignKey("audit_events.id"),
            nullable=False,
        )
    )
    #: The hash of the link before (``seq - 1``), hex; 64 zeros before the first.
    prev_hash: str = Field(max_length=64)
    #: HMAC-SHA256 under the chain key of ``prev_hash`` and the event's canonical form, hex.
    hash: str = Field(max_length=64)
    chained_at: datetime = Field(sa_type=UTCDateTime)
