"""The drill and development gateway: every message is written to a local file, one JSON object
per line, and nothing leaves the machine. The default on the embedded setup, and the only
gateway an exercise crisis may use, whatever the settings say.

Inbound requests to it (a person or a test playing the worker's phone) are JSON:
``{"id": "...", "from": "+63...", "to": "...", "text": "..."}`` or a list of them, or a receipt
``{"id": "...", "state": "delivered"}``; they are signed with an HMAC-SHA256 of the body under the
gateway's ``secret``, in ``X-Lifeline-Signature`` (hex), when a secret is set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from integrations.messaging.base import (
    DeliveryState,
    GatewayConfig,
    InboundError,
    InboundMessage,
    OutboundMessage,
    Receipt,
    Sent,
)

SIGNATURE_HEADER = "x-lifeline-signature"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")


class DrillGateway:
    kind = "drill"
    local = True

    async def send(
        self, client: httpx.AsyncClient, config: GatewayConfig, message: OutboundMessage
    ) -> Sent:
        record = {
            "id": message.key,
            "to": message.to,
            "from": message.sender,
            "channel": message.channel.value,
            "text": message.body,
        }
        if config.path:
            line = json.dumps(record, ensure_ascii=False)
            await asyncio.to_thread(_append, Path(config.path), line)
        return Sent(provider_id=f"drill-{message.key}", state=DeliveryState.DELIVERED)

    def verify(
        self, config: GatewayConfig, url: str, headers: Mapping[str, str], body: bytes
    ) -> bool:
        if not config.secret:
            return True
        given = headers.get(SIGNATURE_HEADER, "")
        return hmac.compare_digest(given, sign(config.secret, body))

    def parse_inbound(
        self, headers: Mapping[str, str], body: bytes
    ) -> Sequence[InboundMessage | Receipt]:
        try:
            data: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InboundError("the body is not JSON") from exc
        items = data if isinstance(data, list) else [data]
        out: list[InboundMessage | Receipt] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise InboundError("each item needs an id")
            if "state" in item:
                try:
                    state = DeliveryState(item["state"])
                except ValueError as exc:
                    raise InboundError(f"unknown state {item['state']!r}") from exc
                out.append(Receipt(provider_id=item["id"], state=state))
                continue
            sender, text = item.get("from"), item.get("text")
            if not isinstance(sender, str) or not isinstance(text, str):
                raise InboundError("a message needs 'from' and 'text'")
            out.append(
                InboundMessage(
                    provider_id=item["id"], sender=sender, to=str(item.get("to", "")), body=text
                )
            )
        return out
