"""The Twilio adapter: the request it sends, its answers mapped (a number's refusal permanent, the
account's never), the webhook signature against Twilio's documented example, and the inbound
message and status callback payloads as Twilio posts them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
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
from integrations.messaging.twilio import TwilioGateway

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-0123"
CONFIG = GatewayConfig(name="twilio-ph", account=ACCOUNT, secret=TOKEN)
MESSAGE = OutboundMessage(
    key="msg-42",
    to="+639171234567",
    body="Are you safe? Reply 1 for yes, 2 for help.",
    sender="+15005550006",
    status_callback="https://lifeline.example/api/v1/messages/inbound/twilio-ph",
)
GATEWAY = TwilioGateway()


def created(status: str = "queued") -> dict[str, Any]:
    """A 201 answer of the Messages resource, all its fields."""
    return {
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": MESSAGE.body,
        "date_created": "Thu, 03 Dec 2026 09:00:00 +0000",
        "date_sent": None,
        "date_updated": "Thu, 03 Dec 2026 09:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": MESSAGE.sender,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "status": status,
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f/Media.json"
        },
        "to": MESSAGE.to,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json",
    }


def error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


async def send(
    handler: Callable[[httpx.Request], httpx.Response],
    message: OutboundMessage = MESSAGE,
    config: GatewayConfig = CONFIG,
) -> Sent:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await GATEWAY.send(client, config, message)


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handler


async def test_the_request_is_a_form_post_under_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=created())

    sent = await send(handler)
    assert sent == Sent(
        provider_id="SM1f0e8ae6ade43cb3c0ce4525424e404f", state=DeliveryState.QUEUED
    )
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    expected_auth = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.content.decode(), keep_blank_values=True) == [
        ("To", "+639171234567"),
        ("From", "+15005550006"),
        ("Body", MESSAGE.body),
        ("StatusCallback", "https://lifeline.example/api/v1/messages/inbound/twilio-ph"),
    ]
    # No idempotency key: Twilio has none for creating messages.
    assert "idempotency-key" not in request.headers
    assert "I-Twilio-Idempotency-Token" not in request.headers


async def test_whatsapp_addresses_are_prefixed_and_the_base_url_is_the_configs() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=created("accepted"))

    message = OutboundMessage(
        key="msg-43",
        to="+639171234567",
        body="Ligtas ka ba?",
        sender="+14155238886",
        channel=Channel.WHATSAPP,
    )
    config = GatewayConfig(name="t", account=ACCOUNT, secret=TOKEN, base_url="https://twilio.test/")
    sent = await send(handler, message, config)
    assert sent.state is DeliveryState.QUEUED
    assert str(seen[0].url) == f"https://twilio.test/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert dict(parse_qsl(seen[0].content.decode())) == {
        "To": "whatsapp:+639171234567",
        "From": "whatsapp:+14155238886",
        "Body": "Ligtas ka ba?",
    }


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (21211, "Invalid 'To' Phone Number: +63917123456"),
        (21614, "'To' number is not a valid mobile number"),
        (21612, "The 'To' phone number is not currently reachable via SMS"),
        (21610, "Attempt to send to unsubscribed recipient"),
    ],
)
async def test_a_refused_number_is_permanent(code: int, text: str) -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(400, error(code, text, 400)))
    assert caught.value.permanent is True
    assert str(code) in caught.value.reason
    assert caught.value.retry_after is None


async def test_too_many_requests_is_retried_after_the_providers_delay() -> None:
    handler = answering(429, error(20429, "Too Many Requests", 429), {"Retry-After": "30"})
    with pytest.raises(SendError) as caught:
        await send(handler)
    assert caught.value.permanent is False
    assert caught.value.retry_after == 30.0


async def test_a_server_error_is_retried() -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(500, error(20500, "Internal Server Error", 500)))
    assert caught.value.permanent is False
    assert caught.value.retry_after is None


async def test_a_server_error_without_json_is_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="<html>Service Unavailable</html>")

    with pytest.raises(SendError) as caught:
        await send(handler)
    assert caught.value.permanent is False
    assert "503" in caught.value.reason


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("timed out"), httpx.ConnectError("connection refused")]
)
async def test_a_timeout_or_a_transport_error_is_retried(failure: httpx.HTTPError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(SendError) as caught:
        await send(handler)
    assert caught.value.permanent is False


async def test_bad_credentials_are_never_the_recipients_fault() -> None:
    handler = answering(401, error(20003, "Authenticate", 401))
    with pytest.raises(SendError) as caught:
        await send(handler)
    assert caught.value.permanent is False
    assert "20003" in caught.value.reason
    assert "auth token" in caught.value.reason


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (
            21408,
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
        ),
        (
            21606,
            "The 'From' phone number provided is not a valid message-capable Twilio phone number",
        ),
        (21602, "Message body is required."),
    ],
)
async def test_a_refusal_of_the_account_or_the_request_is_not_permanent(
    code: int, text: str
) -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(400, error(code, text, 400)))
    assert caught.value.permanent is False
    assert str(code) in caught.value.reason


async def test_a_success_without_a_sid_is_an_error() -> None:
    with pytest.raises(SendError) as caught:
        await send(answering(201, {"status": "queued"}))
    assert caught.value.permanent is False


# The example of Twilio's request validation documentation (twilio-php's validation guide).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
DOC_CONFIG = GatewayConfig(name="doc", account=ACCOUNT, secret="12345")


def test_the_documented_example_is_what_the_algorithm_gives() -> None:
    # Computed here independently of the adapter: the URL, then each name and value by name.
    payload = DOC_URL + "".join(k + DOC_PARAMS[k] for k in sorted(DOC_PARAMS))
    mac = hmac.new(b"12345", payload.encode(), hashlib.sha1).digest()
    assert base64.b64encode(mac).decode() == DOC_SIGNATURE


def test_verify_accepts_the_documented_example() -> None:
    body = urlencode(DOC_PARAMS).encode()
    headers = {"x-twilio-signature": DOC_SIGNATURE}
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL, headers, body) is True


def test_verify_accepts_the_url_with_or_without_its_default_port() -> None:
    body = urlencode(DOC_PARAMS).encode()
    headers = {"x-twilio-signature": DOC_SIGNATURE}
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert GATEWAY.verify(DOC_CONFIG, with_port, headers, body) is True
    assert (
        GATEWAY.verify(
            DOC_CONFIG, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", headers, body
        )
        is False
    )


def test_verify_refuses_a_tampered_body_a_wrong_token_or_no_signature() -> None:
    body = urlencode(DOC_PARAMS).encode()
    headers = {"x-twilio-signature": DOC_SIGNATURE}
    tampered = urlencode({**DOC_PARAMS, "Digits": "1235"}).encode()
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL, headers, tampered) is False
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL, headers, body + b"&Extra=1") is False
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL + "&baz=3", headers, body) is False
    wrong = GatewayConfig(name="doc", account=ACCOUNT, secret="54321")
    assert GATEWAY.verify(wrong, DOC_URL, headers, body) is False
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL, {}, body) is False
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL, {"x-twilio-signature": ""}, body) is False
    assert GATEWAY.verify(DOC_CONFIG, DOC_URL, headers, b"\xff\xfe") is False
    no_token = GatewayConfig(name="doc", account=ACCOUNT, secret="")
    assert GATEWAY.verify(no_token, DOC_URL, headers, body) is False


def test_verify_signs_blank_values_too() -> None:
    params = {"Body": "", "From": "+639171234567", "MessageSid": "SM1"}
    url = "https://lifeline.example/api/v1/messages/inbound/twilio-ph"
    payload = url + "BodyFrom+639171234567MessageSidSM1"
    mac = hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    headers = {"x-twilio-signature": base64.b64encode(mac).decode()}
    assert GATEWAY.verify(CONFIG, url, headers, urlencode(params).encode()) is True


# An inbound SMS as Twilio posts it to the number's messaging webhook.
INBOUND_SMS = {
    "ToCountry": "US",
    "ToState": "CA",
    "SmsMessageSid": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
    "NumMedia": "0",
    "ToCity": "",
    "FromZip": "",
    "SmsSid": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
    "FromState": "",
    "SmsStatus": "received",
    "FromCity": "",
    "Body": "1 ligtas kami",
    "FromCountry": "PH",
    "To": "+15005550006",
    "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef",
    "ToZip": "",
    "NumSegments": "1",
    "MessageSid": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
    "AccountSid": ACCOUNT,
    "From": "+639171234567",
    "ApiVersion": "2010-04-01",
}

INBOUND_WHATSAPP = {
    "SmsMessageSid": "SMb2c3d4e5f60718293a4b5c6d7e8f90a1",
    "NumMedia": "0",
    "ProfileName": "Maria",
    "MessageType": "text",
    "SmsSid": "SMb2c3d4e5f60718293a4b5c6d7e8f90a1",
    "WaId": "639171234567",
    "SmsStatus": "received",
    "Body": "2",
    "To": "whatsapp:+14155238886",
    "NumSegments": "1",
    "ReferralNumMedia": "0",
    "MessageSid": "SMb2c3d4e5f60718293a4b5c6d7e8f90a1",
    "AccountSid": ACCOUNT,
    "From": "whatsapp:+639171234567",
    "ApiVersion": "2010-04-01",
}


def status_callback(status: str, error_code: str | None = None) -> dict[str, str]:
    params = {
        "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+639171234567",
        "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "AccountSid": ACCOUNT,
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    return params


def parse(params: dict[str, str]) -> list[InboundMessage | Receipt]:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return list(GATEWAY.parse_inbound(headers, urlencode(params).encode()))


def test_an_inbound_sms() -> None:
    assert parse(INBOUND_SMS) == [
        InboundMessage(
            provider_id="SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
            sender="+639171234567",
            to="+15005550006",
            body="1 ligtas kami",
            channel=Channel.SMS,
        )
    ]


def test_an_inbound_whatsapp_message_loses_its_prefix() -> None:
    assert parse(INBOUND_WHATSAPP) == [
        InboundMessage(
            provider_id="SMb2c3d4e5f60718293a4b5c6d7e8f90a1",
            sender="+639171234567",
            to="+14155238886",
            body="2",
            channel=Channel.WHATSAPP,
        )
    ]


def test_a_media_only_message_has_an_empty_body() -> None:
    params = {
        **INBOUND_SMS,
        "Body": "",
        "NumMedia": "1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/ME1",
    }
    (message,) = parse(params)
    assert isinstance(message, InboundMessage)
    assert message.body == ""


@pytest.mark.parametrize(
    ("status", "code", "state"),
    [
        ("accepted", None, DeliveryState.QUEUED),
        ("queued", None, DeliveryState.QUEUED),
        ("sending", None, DeliveryState.QUEUED),
        ("sent", None, DeliveryState.SENT),
        ("delivered", None, DeliveryState.DELIVERED),
        ("read", None, DeliveryState.DELIVERED),
        ("undelivered", "30003", DeliveryState.UNDELIVERABLE),
        ("undelivered", "30005", DeliveryState.UNDELIVERABLE),
        ("undelivered", "30006", DeliveryState.UNDELIVERABLE),
        ("undelivered", "30007", DeliveryState.FAILED),  # filtered as spam: not the number
        ("undelivered", "30008", DeliveryState.FAILED),  # unknown error
        ("failed", "30001", DeliveryState.FAILED),  # queue overflow
        ("failed", "21610", DeliveryState.UNDELIVERABLE),  # unsubscribed
    ],
)
def test_a_status_callback_is_a_receipt(
    status: str, code: str | None, state: DeliveryState
) -> None:
    (receipt,) = parse(status_callback(status, code))
    assert receipt == Receipt(
        provider_id="SM1f0e8ae6ade43cb3c0ce4525424e404f", state=state, error=code
    )


def test_a_receipt_keeps_the_error_message_when_twilio_gives_one() -> None:
    params = {
        **status_callback("undelivered", "30003"),
        "ErrorMessage": "Unreachable destination handset",
    }
    (receipt,) = parse(params)
    assert isinstance(receipt, Receipt)
    assert receipt.error == "30003: Unreachable destination handset"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello",
        b"\xff\xfe\x00",
        json.dumps({"MessageSid": "SM1", "Body": "1"}).encode(),
        urlencode({"MessageSid": "SM1", "To": "+15005550006"}).encode(),
        urlencode({"From": "+639171234567", "Body": "1"}).encode(),
        urlencode({"MessageSid": "SM1", "MessageStatus": "teleported"}).encode(),
        urlencode({"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "x"}).encode(),
    ],
)
def test_what_is_not_twilios_shape_is_refused(body: bytes) -> None:
    with pytest.raises(InboundError):
        GATEWAY.parse_inbound({"content-type": "application/x-www-form-urlencoded"}, body)
