"""Webhook tables: subscriptions, the outbox of events, one delivery per event and subscriber."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, new_id, utcnow


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organization_id: str = Field(max_length=36, index=True)
    url: str = Field(max_length=1000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: Sealed like personal data: it signs deliveries, so it must be readable, never in clear.
    secret_sealed: str = Field(sa_type=Text)
    #: Coordinators' and admins' subscriptions see every task; others only their organisation's.
    sees_all: bool = False
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_events"

    #: Time-ordered: deliveries per subject go out in this order.
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    type: str = Field(max_length=60, index=True)
    subject: str = Field(max_length=80, index=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: The organisation the event concerns (a task's assignee), None for crisis-wide events.
    organization_id: str | None = Field(default=None, max_length=36)
    #: Deliveries made for the subscriptions of the moment.
    fanned_out: bool = Field(default=False, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_webhook_deliveries_event_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    event_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("outbox_events.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    subscription_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    subject: str = Field(max_length=80)
    #: pending, delivered or dead (after the last try).
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    #: A worker holds the delivery until then; a worker killed mid-delivery lets it go this way.
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
