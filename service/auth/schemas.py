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
    issued_by_organization_id: str | None = Field(
        default=None,
        description="The organisation whose administrator issued it; null for the operator's "
        "command line (and for tokens issued before issuers were recorded)",
    )
    issued_by_token_id: str | None = Field(default=None, description="The issuing token")
    issued_by_channel: str | None = Field(
        default=None, description="api, or cli: the operator on the server"
    )


class TokenIssued(TokenPublic):
    token: str = Field(description="The secret, shown this once: it is stored only as a hash")
