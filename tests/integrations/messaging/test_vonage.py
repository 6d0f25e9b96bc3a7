"""The Vonage SMS adapter: the request it sends, the per-part statuses of its always-200 answer
mapped (a number's refusal permanent, the account's never), signed webhooks, and inbound SMS and
delivery receipts as query string, form and JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from integrations.messaging.base import (
    Channel,
    DeliveryState,
    GatewayConfig,
    InboundError,
    InboundMessage,
    OutboundMessage,
    Receipt,
    SendError,
    Sent,
)
from integrations.messaging.vonage import VonageGateway, signature

API_KEY = "a1b2c3d4"
API_SECRET = "vonage-api-secret"
CONFIG = GatewayConfig(name="vonage-ph", account=API_KEY, secret=API_SECRET)
MESSAGE = OutboundMessage(
    key="msg-42",
    to="+639171234567",
    body="Are you safe? Reply 1 for yes, 2 for help.",
    sender="+447700900001",
    status_callback="https://lifeline.example/api/v1/messages/inbound/vonage-ph",
)
GATEWAY = VonageGateway()
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


def part(status: str = "0", **extra: str) -> dict[str, str]:
    if status == "0":
        return {
            "to": "639171234567",
            "message-id": "0A0000000123ABCD1",
            "status": "0",
            "remaining-balance": "3.14159265",
            "message-price": "0.03330000",
            "network": "51502",
            "client-ref": "msg-42",
            **extra,
        }
    return {"status": status, **extra}


def answer(*parts: dict[str, str]) -> dict[str, Any]:
    return {"message-count": str(len(parts)), "messages": list(parts)}


async def send(
    handler: Callable[[httpx.Request], httpx.Response], message: OutboundMessage = MESSAGE
) -> Sent:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await GATEWAY.send(client, CONFIG, message)


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handler


async def test_the_request_is_a_form_post_with_the_key_and_secret() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer(part()))

    sent = await send(handler)
    assert sent == Sent(provider_id="0A0000000123ABCD1", state=DeliveryState.QUEUED)
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == "https://rest.nexmo.com/sms/json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers
    assert dict(parse_qsl(request.content.decode(), keep_blank_values=True)) == {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "from": "447700900001",
        "to": "639171234567",
        "text": MESSAGE.body,
        "client-ref": "msg-42",
        "callback": "https://lifeline.example/api/v1/messages/inbound/vonage-ph",
    }


async def test_a_text_outside_gsm_is_unicode_an_alphanumeric_sender_is_kept() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer(part()))

    message = OutboundMessage(
        key="k" * 150, to="+977981234567", body="सुरक्षित हुनुहुन्छ?", sender="Lifeline"
    )
    config = GatewayConfig(
        name="v", account=API_KEY, secret=API_SECRET, base_url="https://vonage.test/"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await GATEWAY.send(client, config, message)
    assert str(seen[0].url) == "https://vonage.test/sms/json"
    form = dict(parse_qsl(seen[0].content.decode()))
    assert form["type"] == "unicode"
    assert form["from"] == "Lifeline"
    assert form["to"] == "977981234567"
    assert form["client-ref"] == "k" * 100
    assert "callback" not in form


async def test_a_long_text_is_sent_as_its_first_parts_id() -> None:
    second = part(**{"message-id": "0A0000000123ABCD2"})
    sent = await send(answering(200, answer(part(), second)))
    assert sent.provider_id == "0A0000000123ABCD1"


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("6", "Unroutable message - rejected"),
        ("7", "Number barred."),
        ("33", "Number de-activated."),
    ],
)
async def test_a_refused_number_is_permanent(status: str, text: str) -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(200, answer(part(status, **{"error-text": text}))))
    assert caught.value.permanent is True
    assert f"status {status}" in caught.value.reason
    assert text in caught.value.reason


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("1", "Throughput Rate Exceeded - please wait [ 30 ] and retry"),
        ("5", "Internal Error"),
        ("2", "Missing to param"),
        ("3", "Invalid from param"),
        ("4", "Bad Credentials"),
        ("8", "Account suspended"),
        ("9", "Quota Exceeded - rejected"),
        ("15", "Illegal Sender Address - rejected"),
        ("29", "Non White-listed Destination - rejected"),
        ("99", "Something new"),
    ],
)
async def test_throttling_and_the_accounts_refusals_are_retried(status: str, text: str) -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(200, answer(part(status, **{"error-text": text}))))
    assert caught.value.permanent is False
    assert f"status {status}" in caught.value.reason


async def test_bad_credentials_say_what_to_check() -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(200, answer(part("4", **{"error-text": "Bad Credentials"}))))
    assert caught.value.permanent is False
    assert "API key and secret" in caught.value.reason


async def test_too_many_requests_is_retried_after_the_providers_delay() -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(429, {"error": "too many"}, {"Retry-After": "12"}))
    assert caught.value.permanent is False
    assert caught.value.retry_after == 12.0


async def test_a_server_error_is_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Internal Server Error")

    with pytest.raises(SendError) as caught:
        await send(handler)
    assert caught.value.permanent is False
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("timed out"), httpx.ConnectError("connection refused")]
)
async def test_a_timeout_or_a_transport_error_is_retried(failure: httpx.HTTPError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(SendError) as caught:
        await send(handler)
    assert caught.value.permanent is False


@pytest.mark.parametrize("body", [{}, {"message-count": "0", "messages": []}, ["x"]])
async def test_an_answer_without_messages_is_retried(body: Any) -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(200, body))
    assert caught.value.permanent is False


# Signed webhooks: the signature is computed here independently of the adapter.
SIG_SECRET = "signature-secret-xyz"
SIG_CONFIG = GatewayConfig(name="vonage-ph", account=API_KEY, secret=SIG_SECRET)
NOW = 1_764_752_400.0
URL = "https://lifeline.example/api/v1/messages/inbound/vonage-ph"


def signed_string(params: dict[str, str]) -> str:
    out = ""
    for key in sorted(params):
        if key != "sig":
            out += "&" + key + "=" + params[key].replace("&", "_").replace("=", "_")
    return out


def signed(params: dict[str, str], method: str = "sha256") -> dict[str, str]:
    params = {**params, "timestamp": str(int(NOW) - 10), "nonce": "6f1b7c2e-9d4a-4f0e-8e3a"}
    text = signed_string(params).encode()
    if method == "md5hash":
        sig = hashlib.md5(text + SIG_SECRET.encode()).hexdigest()
    else:
        sig = hmac.new(SIG_SECRET.encode(), text, method).hexdigest().upper()
    return {**params, "sig": sig}


INBOUND = {
    "msisdn": "639171234567",
    "to": "447700900001",
    "messageId": "0A0000001234567B",
    "text": "1 ligtas kami & ok = yes",
    "type": "text",
    "keyword": "1",
    "api-key": API_KEY,
    "message-timestamp": "2026-12-03 09:10:11",
}

RECEIPT = {
    "msisdn": "639171234567",
    "to": "447700900001",
    "network-code": "51502",
    "messageId": "0A0000000123ABCD1",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2612030910",
    "err-code": "0",
    "api-key": API_KEY,
    "client-ref": "msg-42",
    "message-timestamp": "2026-12-03 09:10:12",
}


def test_verify_accepts_hmac_sha256_by_default() -> None:
    for payload in (INBOUND, RECEIPT):
        body = urlencode(signed(payload, "sha256")).encode()
        assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body, now=NOW) is True


@pytest.mark.parametrize("method", ["sha512", "sha1", "md5", "md5hash"])
def test_verify_refuses_a_method_the_account_is_not_set_to(method: str) -> None:
    # Correctly signed with the secret, but not by the account's method: a forger who knew a
    # weaker method's weakness would choose it, so the signature's length decides nothing.
    body = urlencode(signed(INBOUND, method)).encode()
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body, now=NOW) is False


@pytest.mark.parametrize("method", ["sha512", "sha1"])
def test_verify_accepts_only_the_configured_method(method: str) -> None:
    config = GatewayConfig(
        name="vonage-ph", account=API_KEY, secret=SIG_SECRET, signature_method=method
    )
    body = urlencode(signed(RECEIPT, method)).encode()
    assert GATEWAY.verify(config, URL, FORM, body, now=NOW) is True
    other = urlencode(signed(RECEIPT, "sha256")).encode()
    assert GATEWAY.verify(config, URL, FORM, other, now=NOW) is False


@pytest.mark.parametrize("method", ["md5", "md5hash", "sha384", "none"])
def test_an_md5_or_unknown_configured_method_refuses_everything(method: str) -> None:
    config = GatewayConfig(
        name="vonage-ph", account=API_KEY, secret=SIG_SECRET, signature_method=method
    )
    for signing in ("sha256", "md5", "md5hash"):
        body = urlencode(signed(INBOUND, signing)).encode()
        assert GATEWAY.verify(config, URL, FORM, body, now=NOW) is False


def test_the_adapters_signature_is_the_independent_one() -> None:
    params = signed(RECEIPT)
    assert signature(SIG_SECRET, params).upper() == params["sig"]


def test_verify_reads_a_json_body_and_a_query_string() -> None:
    params = signed(RECEIPT)
    assert GATEWAY.verify(SIG_CONFIG, URL, JSON, json.dumps(params).encode(), now=NOW) is True
    query = urlencode(params).encode()
    assert GATEWAY.verify(SIG_CONFIG, URL + "?" + query.decode(), FORM, query, now=NOW) is True


def test_verify_refuses_tampering_a_wrong_secret_no_signature_or_a_stale_one() -> None:
    params = signed(INBOUND)
    body = urlencode(params).encode()
    tampered = urlencode({**params, "text": "2 tulong"}).encode()
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, tampered, now=NOW) is False
    wrong = GatewayConfig(name="v", account=API_KEY, secret="another-secret")
    assert GATEWAY.verify(wrong, URL, FORM, body, now=NOW) is False
    unsigned = urlencode({k: v for k, v in params.items() if k != "sig"}).encode()
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, unsigned, now=NOW) is False
    assert (
        GATEWAY.verify(SIG_CONFIG, URL, FORM, urlencode({**params, "sig": ""}).encode(), now=NOW)
        is False
    )
    assert (
        GATEWAY.verify(SIG_CONFIG, URL, FORM, urlencode({**params, "sig": "abc"}).encode(), now=NOW)
        is False
    )
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body, now=NOW + 600) is False
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body, now=NOW - 600) is False
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body, now=NOW + 200) is True
    no_secret = GatewayConfig(name="v", account=API_KEY, secret="")
    assert GATEWAY.verify(no_secret, URL, FORM, body, now=NOW) is False
    assert GATEWAY.verify(SIG_CONFIG, URL, JSON, b"not json", now=NOW) is False
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, b"\xff\xfe", now=NOW) is False


def test_verify_refuses_a_request_without_a_timestamp() -> None:
    params = {**INBOUND, "nonce": "n1"}
    sig = hmac.new(SIG_SECRET.encode(), signed_string(params).encode(), "sha256").hexdigest()
    body = urlencode({**params, "sig": sig}).encode()
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body, now=NOW) is False


def test_verify_uses_the_clock_by_default() -> None:
    body = urlencode(signed(INBOUND)).encode()
    assert GATEWAY.verify(SIG_CONFIG, URL, FORM, body) is False  # signed for a fixed past


EXPECTED_INBOUND = InboundMessage(
    provider_id="0A0000001234567B",
    sender="+639171234567",
    to="+447700900001",
    body="1 ligtas kami & ok = yes",
    received_at=datetime(2026, 12, 3, 9, 10, 11, tzinfo=UTC),
    channel=Channel.SMS,
)


def test_an_inbound_sms_as_a_query_string_a_form_or_json() -> None:
    params = signed(INBOUND)
    assert GATEWAY.parse_inbound(FORM, urlencode(params).encode()) == [EXPECTED_INBOUND]
    assert GATEWAY.parse_inbound({}, urlencode(params).encode()) == [EXPECTED_INBOUND]
    headers = {"content-type": "application/json; charset=utf-8"}
    assert GATEWAY.parse_inbound(headers, json.dumps(params).encode()) == [EXPECTED_INBOUND]


def test_a_part_of_a_long_inbound_sms_is_its_own_message() -> None:
    params = {
        **INBOUND,
        "text": "first half of a long reply",
        "concat": "true",
        "concat-ref": "1",
        "concat-total": "2",
        "concat-part": "1",
    }
    (message,) = GATEWAY.parse_inbound(FORM, urlencode(params).encode())
    assert isinstance(message, InboundMessage)
    assert message.body == "first half of a long reply"
    assert message.provider_id == "0A0000001234567B"


def test_a_unicode_inbound_sms_and_an_alphanumeric_to() -> None:
    params = {**INBOUND, "type": "unicode", "text": "ligtas 🙏", "to": "Lifeline"}
    (message,) = GATEWAY.parse_inbound(FORM, urlencode(params).encode())
    assert isinstance(message, InboundMessage)
    assert message.body == "ligtas 🙏"
    assert message.to == "Lifeline"


def test_a_binary_inbound_sms_has_nothing_to_read() -> None:
    params = {**INBOUND, "type": "binary", "data": "AAEC", "udh": "050003CC0201"}
    del params["text"]
    assert GATEWAY.parse_inbound(FORM, urlencode(params).encode()) == []


@pytest.mark.parametrize(
    ("status", "err_code", "state"),
    [
        ("delivered", "0", DeliveryState.DELIVERED),
        ("accepted", "0", DeliveryState.SENT),
        ("buffered", "0", DeliveryState.SENT),
        ("unknown", "1", DeliveryState.SENT),
        ("expired", "2", DeliveryState.FAILED),  # absent subscriber, temporary
        ("failed", "3", DeliveryState.UNDELIVERABLE),  # absent subscriber, permanent
        ("rejected", "4", DeliveryState.UNDELIVERABLE),  # call barred by the user
        ("failed", "6", DeliveryState.FAILED),  # anti-spam: the text, not the number
        ("failed", "8", DeliveryState.FAILED),  # network error
        ("rejected", "9", DeliveryState.UNDELIVERABLE),  # illegal number
        ("failed", "12", DeliveryState.UNDELIVERABLE),  # destination unreachable
        ("failed", "99", DeliveryState.FAILED),
    ],
)
def test_a_delivery_receipt(status: str, err_code: str, state: DeliveryState) -> None:
    params = signed({**RECEIPT, "status": status, "err-code": err_code})
    (receipt,) = GATEWAY.parse_inbound(FORM, urlencode(params).encode())
    assert receipt == Receipt(
        provider_id="0A0000000123ABCD1",
        state=state,
        error=None if err_code == "0" else err_code,
    )


def test_a_delivery_receipt_as_json() -> None:
    (receipt,) = GATEWAY.parse_inbound(JSON, json.dumps(RECEIPT).encode())
    assert receipt == Receipt(provider_id="0A0000000123ABCD1", state=DeliveryState.DELIVERED)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (FORM, b""),
        (FORM, b"hello"),
        (FORM, b"\xff\xfe"),
        (JSON, b"not json"),
        (JSON, b"[1, 2]"),
        (FORM, urlencode({"msisdn": "639171234567", "text": "1"}).encode()),
        (FORM, urlencode({"messageId": "0A1", "to": "447700900001"}).encode()),
        (FORM, urlencode({**RECEIPT, "status": "teleported"}).encode()),
        (JSON, json.dumps({"MessageSid": "SM1", "Body": "1", "From": "+639171234567"}).encode()),
    ],
)
def test_what_is_not_vonages_shape_is_refused(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(InboundError):
        GATEWAY.parse_inbound(headers, body)
