"""The gateway adapters by kind."""

from __future__ import annotations

import pytest

from integrations.messaging.registry import GATEWAYS, gateway
from integrations.messaging.twilio import TwilioGateway
from integrations.messaging.vonage import VonageGateway


def test_the_registry_knows_the_four_kinds() -> None:
    assert set(GATEWAYS) == {"drill", "relay", "twilio", "vonage"}
    assert isinstance(gateway("twilio"), TwilioGateway)
    assert isinstance(gateway("vonage"), VonageGateway)
    assert all(adapter.kind == kind for kind, adapter in GATEWAYS.items())
    assert gateway("drill").local is True
    assert gateway("twilio").local is False
    assert gateway("relay").local is False
    with pytest.raises(KeyError, match=r"'sinch'.*drill, relay, twilio, vonage"):
        gateway("sinch")
