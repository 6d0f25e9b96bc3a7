"""The advisories of a crisis: each version kept, as it was sent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id


class AdvisoryStatus(enum.StrEnum):
    """CAP ``status``: a drill crisis's advisories are exercises."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"


class AdvisoryType(enum.StrEnum):
    """CAP ``msgType``: the first of a crisis, a change of it, its withdrawal."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class Advisory(SQLModel, table=True):
    """One version of a crisis's public advisory; a change adds a version, never overwrites."""

    __tablename__ = "advisories"
    __table_args__ = (UniqueConstraint("crisis_id", "version", name="uq_advisories_crisis_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: int
    status: str = Field(max_length=16)
    msg_type: str = Field(max_length=16)
    #: ``{records_domain}/advisory.{crisis}.{version}``: the CAP identifier.
    identifier: str = Field(max_length=300)
    #: The CAP sender (the deployment's records domain).
    sender: str = Field(max_length=100)
    #: To the second, as CAP writes it: what the references of the later versions repeat.
    sent: datetime = Field(sa_type=UTCDateTime)
    #: language -> {headline, description, instruction}
    texts: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    #: The hotline.
    contact: str = Field(max_length=100)
    web: str | None = Field(default=None, max_length=500)
    #: ``sender,identifier,sent`` of every earlier version, oldest first.
    references: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_by: str = Field(max_length=120)
