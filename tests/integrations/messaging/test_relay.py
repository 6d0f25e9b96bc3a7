"""The deployment's own SMS relay: the request it gets (the idempotency key, the bearer secret),
what its answers mean, and its callbacks (the drill gateway's, signed)."""

from __future__ import annotations

import json

import httpx
import pytest

from integrations.messaging.base import GatewayConfig, OutboundMessage, SendError
from integrations.messaging.drill import sign
from integrations.messaging.relay import RelayGateway

CONFIG = GatewayConfig(name="relay", secret="relay-secret", base_url="http://relay.internal:8080/")
MESSAGE = OutboundMessage(key="01a2-key", to="+60123456701", body="Ligtas ka ba?", sender="PH KL")


async def send(handler: httpx.MockTransport) -> object:
    async with httpx.AsyncClient(transport=handler) as client:
        return await RelayGateway().send(client, CONFIG, MESSAGE)


async def test_a_message_goes_with_its_key_and_the_secret() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"id": "r-1"})

    sent = await send(httpx.MockTransport(handler))
    [request] = seen
    assert str(request.url) == "http://relay.internal:8080/messages"
    assert request.headers["idempotency-key"] == "01a2-key"
    assert request.headers["authorization"] == "Bearer relay-secret"
    assert json.loads(request.content) == {
        "id": "01a2-key",
        "to": "+60123456701",
        "from": "PH KL",
        "text": "Ligtas ka ba?",
        "channel": "sms",
        "status_callback": None,
    }
    assert sent.provider_id == "r-1"  # type: ignore[attr-defined]


async def test_the_same_key_again_is_the_same_message() -> None:
    sent = await send(httpx.MockTransport(lambda r: httpx.Response(409, json={"id": "r-1"})))
    assert sent.provider_id == "relay-01a2-key"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("response", "permanent", "retry_after"),
    [
        (httpx.Response(429, headers={"Retry-After": "7"}), False, 7.0),
        (httpx.Response(503), False, None),
        (httpx.Response(400, json={"permanent": True, "error": "invalid number"}), True, None),
        (httpx.Response(400, text="no"), False, None),
    ],
)
async def test_refusals(
    response: httpx.Response, permanent: bool, retry_after: float | None
) -> None:
    with pytest.raises(SendError) as raised:
        await send(httpx.MockTransport(lambda r: response))
    assert (raised.value.permanent, raised.value.retry_after) == (permanent, retry_after)


async def test_a_relay_that_hangs_is_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(SendError) as raised:
        await send(httpx.MockTransport(handler))
    assert raised.value.permanent is False


def test_callbacks_are_signed_as_the_drill_gateway_signs_them() -> None:
    body = json.dumps({"id": "in-1", "from": "+60123456701", "text": "1"}).encode()
    gateway = RelayGateway()
    url = "https://lifeline.test/api/v1/messages/inbound/relay"
    assert gateway.verify(CONFIG, url, {"x-lifeline-signature": sign("relay-secret", body)}, body)
    assert not gateway.verify(CONFIG, url, {"x-lifeline-signature": sign("other", body)}, body)
    [reply] = gateway.parse_inbound({}, body)
    assert reply.body == "1"  # type: ignore[union-attr]
