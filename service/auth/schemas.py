"""What the token API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.auth.permissions import Role


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization: Annotated[str, Field(min_length=2, max_length=63, description="Id or slug")]
    role: Role
    name: Annotated[str, Field(max_length=200)] = ""


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    role: Role
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="The secret, shown this once: it is stored only as a hash")
