"""An SMS relay of the deployment's own: a gateway box or a partner's SMS platform inside the
deployment that takes messages over a small JSON API and honours an idempotency key.

Sending is ``POST {base_url}/messages`` with ``{"id", "to", "from", "text", "channel",
"status_callback"}`` and the header ``Idempotency-Key: <id>``; the relay answers 200, 201 or 202
with ``{"id": "<its id>"}``, and the same key again is the same message (answered as the first
time, or 409, taken as sent). A 4xx answer with ``{"permanent": true}`` refuses the number for
good; 429 (with ``Retry-After``), 5xx and transport errors are retried. Requests carry the
secret as a bearer token when one is set. Its callbacks are the drill gateway's: JSON replies and
receipts, signed with an HMAC-SHA256 of the body under the same secret.
"""

from __future__ import annotations

from typing import Any

import httpx

from integrations.bounded_http import bounded_request
from integrations.messaging.base import (
    DeliveryState,
    GatewayConfig,
    OutboundMessage,
    SendError,
    Sent,
)
from integrations.messaging.drill import DrillGateway

#: Seconds for each read, and for the whole send (bounded_http): a gateway dripping its answer
#: holds the outbox no longer than one that does not answer.
TIMEOUT_S = 10.0


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


class RelayGateway(DrillGateway):
    kind = "relay"
    local = False

    async def send(
        self, client: httpx.AsyncClient, config: GatewayConfig, message: OutboundMessage
    ) -> Sent:
        if not config.base_url:
            raise SendError("relay: no base URL is configured", permanent=False)
        headers = {"Idempotency-Key": message.key}
        if config.secret:
            headers["Authorization"] = f"Bearer {config.secret}"
        body: dict[str, Any] = {
            "id": message.key,
            "to": message.to,
            "from": message.sender,
            "text": message.body,
            "channel": message.channel.value,
            "status_callback": message.status_callback,
        }
        url = config.base_url.rstrip("/") + "/messages"
        try:
            response = await bounded_request(
                client,
                "POST",
                url,
                deadline_s=TIMEOUT_S,
                json=body,
                headers=headers,
                timeout=TIMEOUT_S,
            )
        except httpx.TimeoutException as exc:
            raise SendError(f"relay timed out ({type(exc).__name__})", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise SendError(f"relay unreachable ({type(exc).__name__})", permanent=False) from exc
        if response.status_code == 409:
            # Already taken under this key: the message is out.
            return Sent(provider_id=f"relay-{message.key}")
        if response.status_code in (200, 201, 202):
            try:
                given = response.json().get("id")
            except (ValueError, AttributeError):
                given = None
            return Sent(
                provider_id=str(given or f"relay-{message.key}"), state=DeliveryState.QUEUED
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise SendError(
                f"relay answered {response.status_code}",
                permanent=False,
                retry_after=_retry_after(response),
            )
        try:
            permanent = bool(response.json().get("permanent"))
        except (ValueError, AttributeError):
            permanent = False
        raise SendError(f"relay refused the message ({response.status_code})", permanent=permanent)
