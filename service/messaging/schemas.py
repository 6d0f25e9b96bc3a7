"""What the messaging API takes and gives: an inbound request's outcome, the reading queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.text import Paragraph


class InboundTaken(BaseModel):
    """What an inbound request held and what became of it (counts; nothing personal)."""

    messages: int
    repeated: int = Field(description="Already received (the gateway redelivered): unchanged")
    receipts: int
    understood: int
    to_read: int = Field(description="Could not be read with certainty: queued for a person")
    unknown_sender: int = Field(description="From numbers the register does not know")


class InboundPublic(BaseModel):
    """A message a worker's phone sent, for those who may read the workers it speaks for."""

    id: str
    gateway: str
    received_at: datetime
    state: str
    outcome: str | None
    text: str | None = Field(description="What they wrote (sealed at rest)")
    worker_ids: list[str] = Field(description="The people registered with that number")
    crisis_ids: list[str] = Field(description="The open crises checking on them")
    drill: bool
    read_by: str | None
    read_at: datetime | None


class ReadingCreate(BaseModel):
    """What a person read in a message: the welfare outcome it says, for every person it speaks
    for in every crisis checking on them, or that it says nothing to record."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(
        pattern="^(safe|needs_help|stop|nothing)$",
        description="`nothing`: read, no status to record",
    )
    note: Annotated[Paragraph, Field(max_length=2_000)] | None = Field(
        default=None, description="What they said, in the reader's words if need be (sealed)"
    )


class PushedMessage(BaseModel):
    """One message a worker's phone sent, as an integration received it."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:@-]+$")] = Field(
        description="The integration's own id of the message: the same id twice is one message"
    )
    sender: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] = Field(
        alias="from", description="The phone that wrote, in E.164"
    )
    text: Annotated[str, Field(max_length=2_000)]


class InboundPush(BaseModel):
    """Messages workers sent, pushed by an integration (a messaging platform the deployment's
    partners run, that received them): read as a gateway's replies are."""

    model_config = ConfigDict(extra="forbid")

    messages: list[PushedMessage] = Field(min_length=1, max_length=1000)
    exercise: bool = Field(
        default=False, description="Replies to a drill: they touch exercise crises only"
    )
