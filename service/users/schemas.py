"""What the users API takes and gives."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.auth.permissions import Role
from service.text import Line

#: An address with one ``@`` and a dot in its domain; what is deliverable the person finds out.
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"


class PersonRole(enum.StrEnum):
    """The roles of people: the API's, but ``integration``, which is a script's (a token)."""

    ADMIN = Role.ADMIN.value
    COORDINATOR = Role.COORDINATOR.value
    CONSULAR_OFFICER = Role.CONSULAR_OFFICER.value
    SOCIETY_RESPONDER = Role.SOCIETY_RESPONDER.value
    VIEWER = Role.VIEWER.value


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization: Annotated[str, Field(min_length=2, max_length=63, description="Id or slug")]
    role: PersonRole
    email: Annotated[
        str,
        Field(
            min_length=3,
            max_length=320,
            pattern=EMAIL_PATTERN,
            description="Signs in with it; unique without regard to case",
        ),
    ]
    display_name: Annotated[Line, Field(min_length=1, max_length=200)]


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    role: Role
    email: str
    display_name: str
    second_factor: bool = Field(description="Whether the person has set up their TOTP")
    disabled_at: datetime | None
    created_at: datetime
    last_sign_in_at: datetime | None


class UserCreated(UserPublic):
    password: str | None = Field(
        description="A one-time password to give the person, shown this once (stored as an "
        "argon2id hash); null when the account existed already with this organisation and role"
    )
