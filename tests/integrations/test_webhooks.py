"""Posting one webhook event: signed over the timestamp and the body, the receiver's answer
reported, a refused address told apart from a failure worth retrying."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx

from integrations.safe_url import UnsafeUrl
from integrations.webhooks import Signer, event_body, post_event

SECRET = "receiver-secret-0123456789"


def _body() -> bytes:
    at = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    return event_body(event_id="e1", type="crisis.opened", occurred_at=at, data={"id": "c1"})


def test_the_body_is_compact_json_of_the_event() -> None:
    assert json.loads(_body()) == {
        "id": "e1",
        "type": "crisis.opened",
        "occurred_at": "2026-11-24T06:00:00+00:00",
        "data": {"id": "c1"},
    }
    assert b" " not in _body()


async def test_a_receiver_checks_the_signature_with_its_secret() -> None:
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        answer = await post_event(client, Signer(SECRET), "https://hooks.example/x", "e1", _body())
    assert answer == (204, None, False)
    request = seen[0]
    stamp = request.headers["Lifeline-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + _body(), hashlib.sha256)
    assert request.headers["Lifeline-Signature"] == "sha256=" + expected.hexdigest()
    assert request.headers["Lifeline-Event-Id"] == "e1"
    assert request.content == _body()


async def test_a_refused_address_is_not_retried_a_failure_is() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise UnsafeUrl("a private address")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    signer = Signer(SECRET)
    answers = []
    for handler in (refused, down, failing):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            answers.append(await post_event(client, signer, "https://h.example/", "e1", _body()))
    assert answers == [
        (None, "refused: a private address", True),
        (None, "ConnectError", False),
        (503, "answered 503", False),
    ]
