"""The messaging gateway adapters by kind: the name of a gateway in settings and in
``/api/v1/messages/inbound/{gateway}``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from integrations.messaging.base import Gateway
from integrations.messaging.drill import DrillGateway
from integrations.messaging.relay import RelayGateway
from integrations.messaging.twilio import TwilioGateway
from integrations.messaging.vonage import VonageGateway

_ADAPTERS: tuple[Gateway, ...] = (
    DrillGateway(),
    RelayGateway(),
    TwilioGateway(),
    VonageGateway(),
)

GATEWAYS: Mapping[str, Gateway] = MappingProxyType({adapter.kind: adapter for adapter in _ADAPTERS})


def gateway(kind: str) -> Gateway:
    """The adapter of ``kind``; KeyError naming the known kinds when there is none."""
    try:
        return GATEWAYS[kind]
    except KeyError:
        known = ", ".join(sorted(GATEWAYS))
        raise KeyError(f"no messaging gateway of kind {kind!r} (known: {known})") from None
