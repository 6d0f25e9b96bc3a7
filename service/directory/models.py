"""The organisation table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class OrgKind(enum.StrEnum):
    EMBASSY = "embassy"
    CONSULATE = "consulate"
    LABOUR_MINISTRY = "labour_ministry"
    NATIONAL_SOCIETY = "national_society"
    INTERNATIONAL_ORG = "international_org"
    NGO = "ngo"
    EMPLOYER = "employer"
    RECRUITMENT_AGENCY = "recruitment_agency"
    MIGRANT_ASSOCIATION = "migrant_association"
    HOST_AUTHORITY = "host_authority"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    slug: str = Field(max_length=63, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32, index=True)
    #: Where it sits (ISO 3166-1 alpha-3).
    country: str = Field(max_length=3, index=True)
    #: Whose nationals it serves (embassies, consulates, ministries).
    represents: str | None = Field(default=None, max_length=3, index=True)
    jurisdiction: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    acts_for: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)
