"""Vonage (formerly Nexmo) SMS API.

Sending is ``POST /sms/json`` with form fields ``api_key``, ``api_secret``, ``from``, ``to``
(international digits, no ``+``), ``text``, ``type=unicode`` for a text outside GSM-7,
``client-ref`` (our message key, echoed in the delivery receipts) and ``callback`` (where the
receipts of this message go, instead of the account's default). The answer is HTTP 200 whatever
happened: ``{"message-count": "1", "messages": [{"status": "0", "message-id": ...}]}``, one entry
per SMS part, a non-zero ``status`` and an ``error-text`` for a refused part.

Vonage calls us back for inbound SMS (``msisdn``, ``to``, ``messageId``, ``text``, ``type``,
``keyword``, ``message-timestamp``, the ``concat-*`` fields of a part of a long SMS) and for
delivery receipts (``msisdn``, ``to``, ``messageId``, ``status``, ``err-code``, ``price``,
``network-code``, ``scts``, ``client-ref``, ``message-timestamp``), as a GET query string, a
form POST or a JSON POST, as set in the dashboard. The service passes a GET's query string as the
body with ``content-type: application/x-www-form-urlencoded``; a JSON body is read when the
content type says ``application/json``.

Signed webhooks (an account setting) add ``timestamp``, ``nonce`` and ``sig``: the signed string
is every parameter but ``sig``, sorted by name, each written ``&name=value`` with ``&`` and ``=``
in the values replaced by ``_``; ``sig`` is the hex HMAC of it under the signature secret (MD5,
SHA-1, SHA-256 or SHA-512 as chosen in the dashboard, SHA-256 recommended) or, for the legacy
"MD5 hash" method, the hex MD5 of that string followed by the secret. Only the one method the
account is set to is accepted (``GatewayConfig.signature_method``, HMAC-SHA256 by default), and
never an MD5 one: were the method told by the signature, a forger would pick the weakest.

"Permanent" means the *number* cannot take the message. A refusal that is the account's or the
deployment's to fix (credentials, credit, a barred account, a sender ID, a trial account's
whitelist) is retryable: it must not mark people unreachable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from integrations.bounded_http import bounded_request
from integrations.messaging.base import (
    DeliveryState,
    GatewayConfig,
    InboundError,
    InboundMessage,
    OutboundMessage,
    Receipt,
    SendError,
    Sent,
)
from integrations.messaging.segments import Encoding, count

BASE_URL = "https://rest.nexmo.com"
#: Seconds for each read, and for the whole send (bounded_http): a gateway dripping its answer
#: holds the outbox no longer than one that does not answer.
TIMEOUT_S = 15.0
#: Vonage's limit on ``client-ref``.
CLIENT_REF_MAX = 100
#: How far a signed webhook's ``timestamp`` may be from our clock, either way.
MAX_SKEW_S = 300.0

#: Send statuses that are the number's: it cannot be sent to.
PERMANENT_SEND_STATUSES: Mapping[str, str] = {
    "6": "invalid message: the number's prefix is not recognised or not routable",
    "7": "the number is barred",
    "33": "the number is de-activated",
}
#: Send statuses worth retrying as they are (the provider's load or ours).
TRANSIENT_SEND_STATUSES: Mapping[str, str] = {
    "1": "throttled",
    "5": "internal error",
    "10": "too many existing binds",
}
#: Send statuses for the account or the deployment to fix: retryable, never the number's fault.
CONFIGURATION_SEND_STATUSES: Mapping[str, str] = {
    "2": "missing parameters",
    "3": "invalid parameters",
    "4": "invalid credentials: check the API key and secret",
    "8": "the account is barred",
    "9": "quota exceeded: the account has no credit left",
    "11": "the account is not enabled for the HTTP SMS API",
    "12": "the message is too long",
    "14": "invalid signature",
    "15": "invalid sender address: the 'from' is not allowed for this destination",
    "22": "invalid network code",
    "23": "invalid callback URL",
    "29": "non-whitelisted destination: a trial account sends only to its test numbers",
    "32": "signature and API secret both given",
}

#: Delivery-receipt ``err-code`` values that say the number cannot receive: absent subscriber
#: (permanent), call barred by the user, illegal number (the user refused this service),
#: destination unreachable, blocked by the carrier.
PERMANENT_RECEIPT_ERRORS = frozenset({"3", "4", "9", "12", "14"})

_RECEIPT_STATES: Mapping[str, DeliveryState] = {
    "accepted": DeliveryState.SENT,
    "buffered": DeliveryState.SENT,
    "unknown": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "expired": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "rejected": DeliveryState.FAILED,
}

#: The signing methods a callback may be verified with, by their name in the settings. MD5 and
#: the "MD5 hash" are Vonage's too, but never accepted: set the dashboard to SHA-256.
VERIFY_METHODS: Mapping[str, Callable[[], Any]] = {
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
    "sha1": hashlib.sha1,
}
DEFAULT_SIGNATURE_METHOD = "sha256"


def _digits(number: str) -> str:
    """A number as Vonage takes it: E.164 without the ``+``; an alphanumeric sender as is."""
    return number[1:] if number.startswith("+") else number


def _signed_string(params: Mapping[str, str]) -> str:
    return "".join(
        f"&{name}={params[name].replace('&', '_').replace('=', '_')}"
        for name in sorted(params)
        if name != "sig"
    )


def _md5hash(signed: bytes, secret: bytes) -> str:
    """The legacy "MD5 hash" method: the account's setting, not our choice."""
    return hashlib.md5(signed + secret).hexdigest()  # noqa: S324 - Vonage's legacy method


def signature(secret: str, params: Mapping[str, str], method: str = "sha256") -> str:
    """The hex ``sig`` of ``params`` (``sig`` itself left out): ``method`` "md5hash" (legacy) or
    the hash of the HMAC, "md5", "sha1", "sha256" or "sha512"."""
    signed = _signed_string(params).encode()
    if method == "md5hash":
        return _md5hash(signed, secret.encode())
    return hmac.new(secret.encode(), signed, method).hexdigest()


def _params(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The parameters of a webhook: a JSON object, or a form / query string."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InboundError("the body is not UTF-8") from exc
    if content_type == "application/json":
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            raise InboundError("the body is not JSON") from exc
        if not isinstance(data, dict):
            raise InboundError("the JSON body is not an object")
        return {
            str(key): value if isinstance(value, str) else json.dumps(value)
            for key, value in data.items()
            if value is not None
        }
    return dict(parse_qsl(text, keep_blank_values=True))


def _timestamp(raw: str) -> datetime | None:
    """``message-timestamp``: ``2020-01-01 12:00:00`` in UTC."""
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def receipt_state(status: str, err_code: str) -> DeliveryState:
    """A receipt's ``status`` and ``err-code`` as our state: a failure whose code says the number
    cannot receive is UNDELIVERABLE, any other failure FAILED."""
    state = _RECEIPT_STATES.get(status)
    if state is None:
        raise InboundError(f"unknown receipt status {status!r}")
    if state is DeliveryState.FAILED and err_code in PERMANENT_RECEIPT_ERRORS:
        return DeliveryState.UNDELIVERABLE
    return state


def _part_error(part: Mapping[str, Any]) -> SendError:
    status = str(part.get("status", ""))
    text = part.get("error-text")
    detail = f" ({text})" if isinstance(text, str) and text else ""
    if status in PERMANENT_SEND_STATUSES:
        reason = PERMANENT_SEND_STATUSES[status]
        return SendError(f"vonage status {status}: {reason}{detail}", permanent=True)
    known = TRANSIENT_SEND_STATUSES.get(status) or CONFIGURATION_SEND_STATUSES.get(status)
    reason = known or "unknown status"
    return SendError(f"vonage status {status}: {reason}{detail}", permanent=False)


class VonageGateway:
    """Vonage's SMS API (SMS only: WhatsApp goes through Vonage's other API, not this one).

    ``OutboundMessage.key`` is sent as ``client-ref`` (cut to 100 characters): Vonage has no
    idempotency key, so doubles after a lost answer are the outbox's to prevent, but each receipt
    carries it. ``OutboundMessage.status_callback`` is sent as ``callback``.

    A text longer than one SMS is split by Vonage into parts, each with its own ``message-id``
    and its own receipt. ``Sent.provider_id`` is the first part's id: the receipts of the other
    parts carry ids the service does not know and may ignore. When some parts were taken and
    others refused the message counts as sent, since retrying would send the taken parts again.
    """

    kind = "vonage"
    local = False

    async def send(
        self, client: httpx.AsyncClient, config: GatewayConfig, message: OutboundMessage
    ) -> Sent:
        base = (config.base_url or BASE_URL).rstrip("/")
        form = {
            "api_key": config.account,
            "api_secret": config.secret,
            "from": _digits(message.sender),
            "to": _digits(message.to),
            "text": message.body,
            "client-ref": message.key[:CLIENT_REF_MAX],
        }
        if count(message.body).encoding is Encoding.UCS2:
            form["type"] = "unicode"
        if message.status_callback:
            form["callback"] = message.status_callback
        try:
            response = await bounded_request(
                client,
                "POST",
                f"{base}/sms/json",
                deadline_s=TIMEOUT_S,
                data=form,
                timeout=TIMEOUT_S,
            )
        except httpx.TimeoutException as exc:
            raise SendError(f"vonage timed out ({type(exc).__name__})", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise SendError(f"vonage unreachable ({type(exc).__name__})", permanent=False) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raw = response.headers.get("retry-after", "")
            retry_after = float(raw) if raw.isdigit() else None
            raise SendError(
                f"vonage answered {response.status_code}",
                permanent=False,
                retry_after=retry_after,
            )
        if not response.is_success:
            raise SendError(
                f"vonage answered {response.status_code}: check the API key and secret"
                if response.status_code in (401, 403)
                else f"vonage answered {response.status_code}",
                permanent=False,
            )
        try:
            data: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            data = None
        parts = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
            raise SendError("vonage answered without a messages list", permanent=False)
        for part in parts:
            if str(part.get("status")) == "0" and isinstance(part.get("message-id"), str):
                return Sent(provider_id=part["message-id"], state=DeliveryState.QUEUED)
        raise _part_error(parts[0])

    def verify(
        self,
        config: GatewayConfig,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: float | None = None,
    ) -> bool:
        """Checks a signed webhook's ``sig`` over its parameters (query string, form or JSON, as
        in ``parse_inbound``) under ``config.secret``, the signature secret, by the one method
        the account signs with (``config.signature_method``, HMAC-SHA256 when empty): a
        signature by any other method is refused, whatever its length says. The ``timestamp``
        must be within five minutes of ``now`` (default: the clock). Unsigned, stale or
        malformed requests, an unknown or MD5 method, or no secret: False. ``url`` is not signed
        by Vonage and not read."""
        digest = VERIFY_METHODS.get(config.signature_method or DEFAULT_SIGNATURE_METHOD)
        if not config.secret or digest is None:
            return False
        try:
            params = _params(headers, body)
        except InboundError:
            return False
        given = params.get("sig", "").lower()
        try:
            stamp = float(params.get("timestamp", ""))
        except ValueError:
            return False
        if abs((time.time() if now is None else now) - stamp) > MAX_SKEW_S:
            return False
        expected = hmac.new(config.secret.encode(), _signed_string(params).encode(), digest)
        return hmac.compare_digest(given.encode(), expected.hexdigest().encode())

    def parse_inbound(
        self, headers: Mapping[str, str], body: bytes
    ) -> Sequence[InboundMessage | Receipt]:
        """One inbound SMS or one delivery receipt per request. The body is a JSON object when
        ``content-type`` is ``application/json``, else a form: a GET callback's query string is
        passed as the body with ``content-type: application/x-www-form-urlencoded``.

        A part of a long inbound SMS (``concat=true``) is its own InboundMessage, with its own
        ``messageId`` and only its part of the text: the adapter keeps no state to join them.
        A binary SMS has no text to read: no message."""
        params = _params(headers, body)
        provider_id = params.get("messageId")
        if not provider_id:
            raise InboundError("not a Vonage SMS request: no messageId")
        if "text" not in params and "status" in params:
            err_code = params.get("err-code", "")
            state = receipt_state(params["status"], err_code)
            error = err_code if err_code not in ("", "0") else None
            return [Receipt(provider_id=provider_id, state=state, error=error)]
        sender, text = params.get("msisdn"), params.get("text")
        if params.get("type") == "binary" and sender:
            return []
        if not sender or text is None:
            raise InboundError("a Vonage inbound SMS needs msisdn and text")
        to = params.get("to", "")
        return [
            InboundMessage(
                provider_id=provider_id,
                sender=sender if sender.startswith("+") else "+" + sender,
                to=to if not to.isdigit() else "+" + to,
                body=text,
                received_at=_timestamp(params.get("message-timestamp", "")),
            )
        ]
