"""Outbound webhooks over HTTP: the guarded client of the deliveries, the signature of an event,
and the post of one event to one receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

import httpx

from integrations.bounded_http import bounded_request
from integrations.safe_http import guarded_client
from integrations.safe_url import Policy, Resolver, UnsafeUrl, system_resolver

#: Subjects delivered at once, and the connections kept to the receivers. httpx looks at every
#: pooled connection on each request, so a larger pool costs CPU on every delivery.
CONCURRENCY = 16
#: Seconds for each read, and for the whole delivery: a receiver that answers a byte a second
#: holds a delivery slot no longer than one that does not answer.
TIMEOUT_S = 10.0
#: Most bytes of a receiver's answer read: only its status matters.
MAX_ANSWER_BYTES = 65_536
USER_AGENT = "Lifeline-Webhooks/0.1"


def delivery_client(policy: Policy, resolve: Resolver = system_resolver) -> httpx.AsyncClient:
    """The HTTP client of the deliveries: guarded (each connection to a checked address, no
    redirects followed), keep-alive, as many connections as subjects in flight."""
    return guarded_client(
        policy,
        resolve,
        limits=httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY),
        timeout=TIMEOUT_S,
    )


class Signer:
    """HMAC-SHA256 with one subscription's secret, its key schedule computed once."""

    def __init__(self, secret: str) -> None:
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def __call__(self, timestamp: int, body: bytes) -> str:
        mac = self._mac.copy()
        mac.update(str(timestamp).encode() + b"." + body)
        return "sha256=" + mac.hexdigest()


def event_body(*, event_id: str, type: str, occurred_at: datetime, data: Any) -> bytes:
    """What a receiver gets: the event as compact JSON."""
    return json.dumps(
        {"id": event_id, "type": type, "occurred_at": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
    ).encode()


async def post_event(
    client: httpx.AsyncClient, signer: Signer, url: str, event_id: str, body: bytes
) -> tuple[int | None, str | None, bool]:
    """Post one event: (the receiver's status, the error, whether the URL was refused)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "Lifeline-Event-Id": event_id,
        "Lifeline-Timestamp": str(timestamp),
        "Lifeline-Signature": signer(timestamp, body),
        "User-Agent": USER_AGENT,
    }
    try:
        response = await bounded_request(
            client,
            "POST",
            url,
            deadline_s=TIMEOUT_S,
            max_bytes=MAX_ANSWER_BYTES,
            content=body,
            headers=headers,
            timeout=TIMEOUT_S,
        )
    except UnsafeUrl as exc:
        return None, f"refused: {exc.reason}"[:500], True
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}", False
    error = None if response.is_success else f"answered {response.status_code}"
    return response.status_code, error, False
