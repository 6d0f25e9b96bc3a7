"""What every messaging gateway adapter offers, and what it hands back.

An adapter knows one provider's HTTP API: how to send one message, how to check that an inbound
request really comes from the provider, and how to read the provider's inbound payloads (replies
and delivery receipts). It holds no state and reads no settings: the service passes it its
``GatewayConfig`` and an ``httpx.AsyncClient``, so that the tests drive it through
``httpx.MockTransport`` on the provider's own payload shapes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx


class Channel(enum.StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"


class DeliveryState(enum.StrEnum):
    """Where a message is, as the provider reports it (mapped from each provider's words)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"  # a permanent refusal: invalid or unreachable number


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """One configured gateway: its credentials and sender numbers per country (ISO 3166-1
    alpha-3), from the deployment's settings."""

    name: str
    account: str = ""
    secret: str = ""
    base_url: str = ""
    senders: Mapping[str, str] = field(default_factory=dict)
    default_sender: str = ""
    #: Where a drill gateway writes its messages (one JSON object per line).
    path: str = ""
    #: How the provider signs its callbacks, for one that lets the account choose (Vonage:
    #: ``sha256``, ``sha512`` or ``sha1``); empty, the adapter's safe default.
    signature_method: str = ""

    def sender_for(self, country: str | None) -> str:
        return self.senders.get(country or "", self.default_sender)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to one phone. ``key`` is ours and unique per message: sent as the provider's
    idempotency key where it has one, so that a retry after a lost answer is not a second SMS."""

    key: str
    to: str  # E.164
    body: str
    sender: str
    channel: Channel = Channel.SMS
    #: Where the provider posts delivery receipts for this message, when it takes one per message.
    status_callback: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider took the message: its own id, and the state it reported."""

    provider_id: str
    state: DeliveryState = DeliveryState.QUEUED


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a phone sent us, as the provider delivered it."""

    provider_id: str
    sender: str  # the phone that wrote, as the provider gave it (E.164 for the providers here)
    to: str
    body: str
    received_at: datetime | None = None
    channel: Channel = Channel.SMS


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt: the state of a message we sent, by the provider's id."""

    provider_id: str
    state: DeliveryState
    error: str | None = None


class SendError(Exception):
    """The message was not taken. ``permanent``: retrying will not help (an invalid number);
    else retry, not before ``retry_after`` seconds when the provider said so (429)."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class InboundError(Exception):
    """An inbound request that cannot be read (not the provider's shape)."""


class Gateway(Protocol):
    """One provider's adapter."""

    #: Its name in settings and in ``/api/v1/messages/inbound/{gateway}``.
    kind: str
    #: A gateway that never reaches a phone (drills and development).
    local: bool

    async def send(
        self, client: httpx.AsyncClient, config: GatewayConfig, message: OutboundMessage
    ) -> Sent:
        """Hand one message to the provider; raises ``SendError``."""
        ...

    def verify(
        self, config: GatewayConfig, url: str, headers: Mapping[str, str], body: bytes
    ) -> bool:
        """Whether an inbound request is signed by the provider (``url`` as the provider called
        it, headers with lower-case names, the raw body)."""
        ...

    def parse_inbound(
        self, headers: Mapping[str, str], body: bytes
    ) -> Sequence[InboundMessage | Receipt]:
        """The replies and receipts in one inbound request; raises ``InboundError``."""
        ...
