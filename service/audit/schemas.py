"""What the audit API gives: the events of the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    channel: str
    request_id: str | None
    token_id: str | None
    user_id: str | None = Field(
        default=None, description="The person who acted, when signed in to the console"
    )
    organization_id: str | None
    role: str | None
    action: str
    outcome: str
    subject_type: str | None
    subject_id: str | None
    purpose: str | None
    detail: dict[str, Any]
