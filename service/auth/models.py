"""The token table: only a hash of each token is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, new_id, utcnow


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organization_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("organizations.id", ondelete="RESTRICT"),
            nullable=False,
            index=True,
        )
    )
    role: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    #: SHA-256 of the whole token. Tokens are 256 random bits, so a plain hash is enough:
    #: nothing to brute-force, and a leaked table yields no usable token.
    token_hash: str = Field(max_length=64, unique=True)
    #: The first characters, shown in lists so a person can tell tokens apart.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Who issued it: the organisation and token of an API caller, or none for the operator's
    #: command line (``issued_by_channel`` "cli"). Unknown (all null) for tokens older than
    #: migration 0010.
    issued_by_organization_id: str | None = Field(default=None, max_length=36)
    issued_by_token_id: str | None = Field(default=None, max_length=36)
    issued_by_channel: str | None = Field(default=None, max_length=16)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
