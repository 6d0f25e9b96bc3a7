"""Twilio Programmable Messaging: SMS and WhatsApp through one REST API.

Sending is ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``,
``From``, ``Body`` and an optional ``StatusCallback``, under HTTP basic auth (the account SID and
its auth token). WhatsApp is the same call with ``whatsapp:``-prefixed addresses.

Twilio calls us back with form-encoded POSTs: the inbound-message webhook (``MessageSid``,
``From``, ``To``, ``Body``, ``NumMedia``...) configured on the number, and the status callback
(``MessageSid``, ``MessageStatus``, ``ErrorCode``) at the ``StatusCallback`` URL given per
message. Each carries ``X-Twilio-Signature``: the base64 of an HMAC-SHA1 under the auth token of
the URL Twilio called followed by every POST parameter's name and value, sorted by name. Only
form bodies are read: Twilio's messaging webhooks are never JSON.

What "permanent" means here: the *number* cannot be reached (invalid, not a mobile, unsubscribed
with STOP). A fault of ours or of the account (a wrong credential, a missing geographic
permission, a bad sender) is never permanent: it must not mark people unreachable, so it is
raised as retryable with a reason that says what to fix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from integrations.bounded_http import bounded_request
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

BASE_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "x-twilio-signature"
WHATSAPP_PREFIX = "whatsapp:"
#: Seconds for each read, and for the whole send (bounded_http): a gateway dripping its answer
#: holds the outbox no longer than one that does not answer.
TIMEOUT_S = 15.0

#: Twilio error codes that say the recipient's number cannot take the message: retrying will not
#: help, the number is unreachable until someone gives a new one.
PERMANENT_NUMBER_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21217,  # the phone number does not appear to be valid
        21421,  # the phone number is invalid
        21612,  # the 'To' number is not currently reachable via SMS
        21614,  # the 'To' number is not a valid mobile number
        21610,  # the recipient replied STOP: unsubscribed from this sender
        30003,  # unreachable destination handset
        30005,  # unknown destination handset (inactive, no longer in service)
        30006,  # landline or unreachable carrier
    }
)
#: Codes that are the account's or the deployment's to fix, named in the reason. 21408 (no
#: geographic permission for the 'To' country) is here and not above: it is a console setting,
#: and every worker in that country would otherwise be marked unreachable.
CONFIGURATION_CODES: Mapping[int, str] = {
    20003: "authentication failed: check the account SID and the auth token",
    20404: "the account was not found: check the account SID",
    21408: "the account has no permission to send to this region (geographic permissions)",
    21606: "the 'From' number cannot send messages",
    21212: "the 'From' number is invalid",
    21659: "the 'From' number is not a Twilio number of this account",
}

_STATES: Mapping[str, DeliveryState] = {
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED,
    "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}
#: Statuses of inbound messages: an inbound webhook, not a receipt.
_INBOUND_STATUSES = frozenset({"received", "receiving"})


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(auth token, url + name1value1 + ...)), the
    parameters sorted by name (and by value for a repeated name)."""
    payload = url + "".join(name + value for name, value in sorted(params))
    mac = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed: Twilio signs the URL as it
    called it, which a proxy in front of the service may have rewritten either way."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if parts.hostname is None or default is None:
        return variants
    host = parts.hostname
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = userinfo + "@" if userinfo else ""
    if parts.port is None:
        other = parts._replace(netloc=f"{prefix}{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=f"{prefix}{host}")
    else:
        return variants
    variants.append(urlunsplit(other))
    return variants


def _address(number: str, channel: Channel) -> str:
    if channel is Channel.WHATSAPP and not number.startswith(WHATSAPP_PREFIX):
        return WHATSAPP_PREFIX + number
    return number


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _error_of(response: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error code and message from an error body, when it is one."""
    try:
        data: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("code")
    message = data.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        message if isinstance(message, str) else "",
    )


def _send_error(response: httpx.Response) -> SendError:
    status = response.status_code
    code, text = _error_of(response)
    label = f"twilio answered {status}" + (f" (error {code})" if code is not None else "")
    detail = f": {text}" if text else ""
    if status == 429 or code == 20429:
        return SendError(
            f"{label}: too many requests", permanent=False, retry_after=_retry_after(response)
        )
    if status >= 500:
        return SendError(f"{label}{detail}", permanent=False, retry_after=_retry_after(response))
    if code is not None and code in PERMANENT_NUMBER_CODES:
        return SendError(f"{label}{detail}", permanent=True)
    if code is not None and code in CONFIGURATION_CODES:
        return SendError(f"{label}: {CONFIGURATION_CODES[code]}", permanent=False)
    if status in (401, 403):
        return SendError(f"{label}: the credentials were refused{detail}", permanent=False)
    # Any other refusal is about our request or the account, not the number: retryable, so that
    # nobody is marked unreachable for it; the service's attempt limit ends it.
    return SendError(f"{label}{detail}", permanent=False)


def _params(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InboundError("the body is not UTF-8") from exc
    return parse_qsl(text, keep_blank_values=True)


def _strip_channel(address: str) -> tuple[str, Channel]:
    if address.startswith(WHATSAPP_PREFIX):
        return address[len(WHATSAPP_PREFIX) :], Channel.WHATSAPP
    return address, Channel.SMS


def receipt_state(status: str, error_code: int | None) -> DeliveryState:
    """A ``MessageStatus`` and its ``ErrorCode`` as our state: a failure with a code that says
    the number cannot be reached is UNDELIVERABLE, any other failure FAILED."""
    state = _STATES.get(status)
    if state is None:
        raise InboundError(f"unknown MessageStatus {status!r}")
    if state is DeliveryState.FAILED and error_code in PERMANENT_NUMBER_CODES:
        return DeliveryState.UNDELIVERABLE
    return state


class TwilioGateway:
    """Twilio's Messaging API.

    Twilio has no idempotency key for creating a message: a retry after a lost answer (a timeout
    once the request was sent) can send the message twice. What prevents doubles is the
    service's outbox state, not this adapter; ``OutboundMessage.key`` is not sent.
    ``OutboundMessage.status_callback`` is sent as ``StatusCallback``: Twilio posts each status
    change of that message there.
    """

    kind = "twilio"
    local = False

    async def send(
        self, client: httpx.AsyncClient, config: GatewayConfig, message: OutboundMessage
    ) -> Sent:
        base = (config.base_url or BASE_URL).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{config.account}/Messages.json"
        form = {
            "To": _address(message.to, message.channel),
            "From": _address(message.sender, message.channel),
            "Body": message.body,
        }
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        try:
            response = await bounded_request(
                client,
                "POST",
                url,
                deadline_s=TIMEOUT_S,
                data=form,
                auth=(config.account, config.secret),
                timeout=TIMEOUT_S,
            )
        except httpx.TimeoutException as exc:
            raise SendError(f"twilio timed out ({type(exc).__name__})", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise SendError(f"twilio unreachable ({type(exc).__name__})", permanent=False) from exc
        if not response.is_success:
            raise _send_error(response)
        try:
            data: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            data = None
        sid = data.get("sid") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not sid:
            raise SendError(
                f"twilio answered {response.status_code} without a message sid "
                "(the message may have been created)",
                permanent=False,
            )
        status = data.get("status")
        state = _STATES.get(status) if isinstance(status, str) else None
        return Sent(provider_id=sid, state=state or DeliveryState.QUEUED)

    def verify(
        self, config: GatewayConfig, url: str, headers: Mapping[str, str], body: bytes
    ) -> bool:
        """Checks ``X-Twilio-Signature`` over ``url`` and the form parameters of ``body`` (empty
        for a GET webhook, whose parameters are in the URL). A missing signature, a body that is
        not a form or no auth token: False."""
        given = headers.get(SIGNATURE_HEADER, "")
        if not given or not config.secret:
            return False
        try:
            params = _params(body)
        except InboundError:
            return False
        return any(
            hmac.compare_digest(
                given.encode(), signature(config.secret, candidate, params).encode()
            )
            for candidate in _url_variants(url)
        )

    def parse_inbound(
        self, headers: Mapping[str, str], body: bytes
    ) -> Sequence[InboundMessage | Receipt]:
        """One message or one receipt per request, from Twilio's form-encoded body. A status
        callback has ``MessageStatus``; an inbound message has ``From`` and ``Body`` (empty for a
        media-only message). WhatsApp addresses lose their ``whatsapp:`` prefix and set the
        channel."""
        params = dict(_params(body))
        sid = params.get("MessageSid") or params.get("SmsSid") or params.get("SmsMessageSid")
        if not sid:
            raise InboundError("not a Twilio message request: no MessageSid")
        status = params.get("MessageStatus")
        if status is not None and status not in _INBOUND_STATUSES:
            raw_code = params.get("ErrorCode", "")
            try:
                code = int(raw_code) if raw_code else None
            except ValueError as exc:
                raise InboundError(f"ErrorCode {raw_code!r} is not a number") from exc
            state = receipt_state(status, code)
            error = None
            if code is not None and code != 0:
                message = params.get("ErrorMessage", "")
                error = f"{code}: {message}" if message else str(code)
            return [Receipt(provider_id=sid, state=state, error=error)]
        sender, text = params.get("From"), params.get("Body")
        if not sender or text is None:
            raise InboundError("a Twilio inbound message needs From and Body")
        sender, channel = _strip_channel(sender)
        to, _ = _strip_channel(params.get("To", ""))
        return [InboundMessage(provider_id=sid, sender=sender, to=to, body=text, channel=channel)]
