"""What the webhook API takes and gives: subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints

from service.webhooks.service import EVENT_TYPES


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The column holds 1000 characters; the normalised URL (a slash added, the host in
    # punycode) may be longer than the one sent.
    url: Annotated[HttpUrl, UrlConstraints(max_length=900)]
    events: list[str] = Field(
        min_length=1,
        description=f"Any of {', '.join(EVENT_TYPES)}",
        json_schema_extra={"items": {"type": "string", "enum": list(EVENT_TYPES)}},
    )
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = Field(
        default=None, description="Signs deliveries (HMAC-SHA256); made for you when absent"
    )


class SubscriptionPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str | None = Field(default=None, description="Shown once, at creation")
