"""The audit table. Rows are never updated or deleted: database triggers refuse it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer
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
