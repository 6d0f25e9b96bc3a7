"""Hostile peers, bounded: a webhook receiver, a messaging gateway and a hazard feed that take
the connection and never answer, answer a byte a second, or send an endless or a 10 GB body.

Each peer is a real HTTP server on the loopback (an asyncio server speaking just enough
HTTP/1.1), driven by the clients the worker uses: ``delivery_client`` and ``post_event`` for
webhooks, each gateway adapter's ``send`` on the worker's messaging client, and ``poll_feeds``
on the worker's feed client. Each gives up within its deadline (asserted with room for a
loaded machine), reads no more than its size limit (the server counts what it could write),
and comes back as a failure to retry: never an exception out of it, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from integrations import webhooks
from integrations.cap import parse_cap_index
from integrations.errors import PayloadError, TransientFeedError
from integrations.messaging import relay, twilio, vonage
from integrations.messaging.base import GatewayConfig, OutboundMessage, SendError
from integrations.polling import FeedConfig, FeedKind, FeedState, PollOutcome, poll_feeds
from integrations.safe_url import Policy

#: The deadline each client is given here (its module's own is 10 to 30 s).
DEADLINE_S = 2.0
#: Room for a loaded machine between the deadline and the test's patience.
SLACK_S = 5.0
#: What the kernel's socket buffers may hold between the server's writes and the client's
#: reads, on top of what the client read: far below the bodies sent.
BUFFERS = 16 * 2**20
TEN_GB = 10 * 2**30
CHUNK = b"x" * 65_536
MODES = ["silent", "trickle", "endless", "ten_gb"]


def _endless() -> Iterator[bytes]:
    return itertools.repeat(CHUNK)


def _ten_gb() -> Iterator[bytes]:
    """10 GB in chunks of 64 KiB, made as they are sent: never allocated."""
    return itertools.repeat(CHUNK, TEN_GB // len(CHUNK))


class Peer:
    """A local HTTP server that misbehaves in one way, counting the bytes it could send."""

    def __init__(self, mode: str, answer: bytes) -> None:
        self.mode = mode
        self.answer = answer
        self.sent = 0
        self.requests = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            self.requests += 1
            await self._answer(writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass  # the client gave up: what the test wants
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        if self.mode == "silent":
            await asyncio.sleep(3_600)
        elif self.mode == "trickle":
            status = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            whole = status + b"Content-Length: %d\r\n\r\n" % len(self.answer) + self.answer
            for byte in whole:
                writer.write(bytes([byte]))
                await writer.drain()
                self.sent += 1
                await asyncio.sleep(1.0)
        else:
            declared = b"Content-Length: %d\r\n" % TEN_GB if self.mode == "ten_gb" else b""
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + declared)
            writer.write(b"\r\n")
            for chunk in _ten_gb() if self.mode == "ten_gb" else _endless():
                writer.write(chunk)
                await writer.drain()
                self.sent += len(chunk)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Peer]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()


def _bounded(started: float, mode: str, peer: Peer, max_bytes: int) -> None:
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + SLACK_S, f"{mode}: gave up after {elapsed:.1f} s"
    if mode == "trickle":
        # It was the deadline that stopped it, not a per-read timeout: bytes kept coming.
        assert elapsed >= DEADLINE_S - 0.5 and peer.sent < 20
    if mode in {"endless", "ten_gb"}:
        assert peer.sent < max_bytes + BUFFERS, f"{peer.sent} bytes sent"
    assert peer.requests == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_webhook_receiver_holds_a_delivery_no_longer_than_its_deadline(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_S", DEADLINE_S)
    policy = Policy(require_https=False, allow_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    peer = Peer(mode, b'{"ok": true}')
    async with peer.running(), webhooks.delivery_client(policy) as client:
        started = time.monotonic()
        status, error, refused = await webhooks.post_event(
            client, webhooks.Signer("secret"), f"{peer.url}/hook", "evt-1", b'{"id": "evt-1"}'
        )
        _bounded(started, mode, peer, webhooks.MAX_ANSWER_BYTES)
    # A failure the outbox retries: no status, an error, the address not refused.
    assert status is None and error and not refused
    assert error in {"ExchangeTimeout", "ReadTimeout", "AnswerTooLarge"}


GATEWAYS: dict[str, tuple[ModuleType, object, bytes]] = {
    "twilio": (twilio, twilio.TwilioGateway(), b'{"sid": "SM1", "status": "queued"}'),
    "vonage": (
        vonage,
        vonage.VonageGateway(),
        b'{"message-count": "1", "messages": [{"status": "0", "message-id": "m1"}]}',
    ),
    "relay": (relay, relay.RelayGateway(), b'{"id": "r1"}'),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(GATEWAYS))
async def test_a_messaging_gateway_holds_a_send_no_longer_than_its_deadline(
    name: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, gateway, answer = GATEWAYS[name]
    monkeypatch.setattr(module, "TIMEOUT_S", DEADLINE_S)
    peer = Peer(mode, answer)
    message = OutboundMessage(key="msg-1", to="+60123456789", body="Are you safe?", sender="+6011")
    # The worker's messaging client (service/worker.py, message_jobs).
    async with (
        peer.running(),
        httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client,
    ):
        config = GatewayConfig(name=name, account="AC1", secret="s", base_url=peer.url)
        started = time.monotonic()
        with pytest.raises(SendError) as refused:
            await gateway.send(client, config, message)  # type: ignore[attr-defined]
        _bounded(started, mode, peer, 1_000_000)
    # Retried later, never given up on as if the number were wrong.
    assert not refused.value.permanent


@pytest.mark.parametrize("mode", MODES)
async def test_a_hazard_feed_holds_a_poll_no_longer_than_its_deadline(mode: str) -> None:
    peer = Peer(mode, b"<rss><channel></channel></rss>")
    async with peer.running(), httpx.AsyncClient(follow_redirects=True) as client:  # the worker's
        feed = FeedConfig(
            name="hostile",
            kind=FeedKind.CAP_INDEX,
            url=f"{peer.url}/feed.rss",
            interval_s=60.0,
            timeout_s=DEADLINE_S,
            max_bytes=1_000_000,
        )
        started = time.monotonic()
        [result] = await poll_feeds(
            client, [(feed, FeedState())], {FeedKind.CAP_INDEX: parse_cap_index}
        )
        _bounded(started, mode, peer, feed.max_bytes)
    assert result.outcome is PollOutcome.FAILED
    expected = TransientFeedError if mode in {"silent", "trickle"} else PayloadError
    assert isinstance(result.error, expected), result.error
    # Kept for the next try, later: the failure counted and the feed due again after a delay.
    assert result.state.consecutive_failures == 1 and result.state.next_due is not None


class _ToPeer(httpx.AsyncBaseTransport):
    """Every request sent to the peer instead, over plain HTTP on the loopback: the receiver's
    name and TLS are not what is tested here, its manners are."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = httpx.URL(self.peer.url).copy_with(path=request.url.path)
        request.url = target
        request.headers["host"] = target.netloc.decode()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("mode", ["trickle", "endless"])
async def test_the_outbox_records_a_hostile_receiver_as_a_try_to_repeat(
    mode: str, own_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the outbox (``deliver_due``, on a database of its own: it delivers everything
    due): the delivery stays pending, its try counted, its error kept, its next try later."""
    from sqlmodel import col, select

    from service.auth.permissions import Role
    from service.db import session_scope, utcnow
    from service.directory.models import OrgKind
    from service.webhooks.models import WebhookDelivery
    from service.webhooks.service import deliver_due
    from tests.conftest import bearer, make_org_in, make_token_in, unique

    monkeypatch.setattr(webhooks, "TIMEOUT_S", DEADLINE_S)
    org = await make_org_in(own_app, OrgKind.INTERNATIONAL_ORG)
    token = bearer(await make_token_in(own_app, Role.COORDINATOR, org))
    transport = httpx.ASGITransport(app=own_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as api:
        made = await api.post(
            "/api/v1/webhooks",
            json={"url": f"https://receiver.test/{unique('hook')}", "events": ["crisis.opened"]},
            headers=token,
        )
        assert made.status_code == 201, made.text
        crisis = await api.post(
            "/api/v1/crises",
            json={
                "title": "Unrest at the port",
                "hazard": "civil_unrest",
                "severity": "severe",
                "zones": {
                    "type": "Polygon",
                    "coordinates": [[[110.0, 5.0], [110.2, 5.0], [110.2, 5.2], [110.0, 5.0]]],
                },
            },
            headers=token,
        )
        assert crisis.status_code == 201, crisis.text
    peer = Peer(mode, b"")
    async with peer.running(), httpx.AsyncClient(transport=_ToPeer(peer)) as client:
        started = time.monotonic()
        counts = await deliver_due(
            own_app.state.engine, own_app.state.sessionmaker, client, own_app.state.protector
        )
        _bounded(started, mode, peer, webhooks.MAX_ANSWER_BYTES)
    assert counts["retry"] == 1 and counts["delivered"] == 0, counts
    async with session_scope(own_app.state.sessionmaker) as session:
        [delivery] = (
            await session.exec(
                select(WebhookDelivery).where(
                    col(WebhookDelivery.subscription_id) == made.json()["id"]
                )
            )
        ).all()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error in {"ExchangeTimeout", "AnswerTooLarge"}
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at.replace(
        tzinfo=None
    ) > utcnow().replace(tzinfo=None)


async def test_a_gzip_bomb_is_stopped_at_the_limit_counted_decoded() -> None:
    """10 MB of zeros in 10 KB of gzip: the limit counts what is read once decoded."""
    import gzip

    from integrations.bounded_http import AnswerTooLarge, bounded_request

    bomb = gzip.compress(b"\0" * 10_000_000)
    small = gzip.compress(b'{"sid": "SM1"}')

    def answer(request: httpx.Request) -> httpx.Response:
        body = bomb if request.url.path == "/bomb" else small
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(AnswerTooLarge):
            await bounded_request(client, "GET", "http://peer.test/bomb", deadline_s=5.0)
        # A small one is read, decoded once, and reads as JSON.
        response = await bounded_request(
            client, "GET", "http://peer.test/small", deadline_s=5.0, max_bytes=100
        )
    assert response.status_code == 200 and response.json() == {"sid": "SM1"}
