"""Webhooks: written with the change, delivered signed, retried until the receiver is back, each
event once even with two deliverers, and redelivered (same id) after a deliverer dies."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from service.auth.permissions import Role
from service.db import session_scope, utcnow
from service.directory.models import OrgKind
from service.webhooks.models import OutboxEvent, WebhookDelivery
from service.webhooks.service import _claim, deliver_due
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

SEA = {
    "type": "Polygon",
    "coordinates": [[[110.0, 5.0], [110.2, 5.0], [110.2, 5.2], [110.0, 5.2], [110.0, 5.0]]],
}


class Receiver:
    def __init__(self) -> None:
        self.up = True
        self.received: list[dict[str, object]] = []
        self.headers: list[httpx.Headers] = []
        self.bodies: list[bytes] = []
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            return httpx.Response(503)
        self.received.append(json.loads(request.content))
        self.headers.append(request.headers)
        self.bodies.append(request.content)
        self.urls.append(str(request.url))
        return httpx.Response(204)


async def subscribe(
    client: httpx.AsyncClient, token: dict[str, str], url: str, events: list[str]
) -> dict[str, object]:
    made = await client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=token)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def time_passes(app: FastAPI, seconds: int) -> None:
    """Move every pending delivery's clock forward, as if ``seconds`` had passed."""
    async with app.state.engine.begin() as conn:
        await conn.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.status) == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1), locked_until=None)
        )


async def deliver(app: FastAPI, receiver: Receiver) -> dict[str, int]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        return await deliver_due(
            app.state.engine, app.state.sessionmaker, http, app.state.protector
        )


async def test_a_receiver_down_then_up_gets_every_event_once_signed(
    client: httpx.AsyncClient, make_token: TokenFactory, app: FastAPI
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    url = f"https://receiver.test/{unique('hook')}"
    subscription = await subscribe(client, coordinator, url, ["crisis.opened", "crisis.updated"])
    secret = str(subscription["secret"])
    assert (await client.get("/api/v1/webhooks", headers=coordinator)).json()["items"][0].get(
        "secret"
    ) is None
    bad = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["crisis.exploded"]}, headers=coordinator
    )
    assert bad.status_code == 422

    crisis = (
        await client.post(
            "/api/v1/crises",
            json={
                "title": "Unrest at the port",
                "hazard": "civil_unrest",
                "severity": "severe",
                "zones": SEA,
            },
            headers=coordinator,
        )
    ).json()
    patched = await client.patch(
        f"/api/v1/crises/{crisis['id']}",
        json={"alert_level": 2},
        headers={**coordinator, "If-Match": "1"},
    )
    assert patched.status_code == 200
    receiver = Receiver()
    receiver.up = False
    await deliver(app, receiver)  # down: nothing lost, retries scheduled
    assert receiver.received == []
    receiver.up = True
    await time_passes(app, 3600)
    await deliver(app, receiver)
    await time_passes(app, 3600)
    await deliver(app, receiver)  # the second event waited for the first (order per subject)
    # Other tests' subscriptions deliver to this receiver too, and other tests' crises to this
    # subscription: keep this subscription's events of this crisis.
    mine = [
        r
        for r, u in zip(receiver.received, receiver.urls, strict=True)
        if u == url and r["data"]["crisis_id"] == crisis["id"]  # type: ignore[index]
    ]
    assert [r["type"] for r in mine] == ["crisis.opened", "crisis.updated", "crisis.updated"]
    assert len({r["id"] for r in mine}) == len(mine)
    for body, headers, u in zip(receiver.bodies, receiver.headers, receiver.urls, strict=True):
        if u != url:
            continue
        expected = hmac.new(
            secret.encode(), headers["lifeline-timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers["lifeline-signature"] == f"sha256={expected}"
        assert headers["lifeline-event-id"] == json.loads(body)["id"]
    await time_passes(app, 3600)
    await deliver(app, receiver)
    assert (
        Counter(
            r["id"] for r, u in zip(receiver.received, receiver.urls, strict=True) if u == url
        ).most_common(1)[0][1]
        == 1
    )


async def test_two_deliverers_send_each_event_once_and_a_dead_one_loses_nothing(
    client: httpx.AsyncClient, make_token: TokenFactory, app: FastAPI
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    url = f"https://receiver.test/{unique('twin')}"
    await subscribe(client, coordinator, url, ["crisis.opened"])
    for i in range(5):
        await client.post(
            "/api/v1/crises",
            json={
                "title": f"Drill {i}",
                "hazard": "flood",
                "severity": "moderate",
                "zones": SEA,
                "exercise": True,
            },
            headers=coordinator,
        )
    await time_passes(app, 10)
    # A deliverer claims its share and dies before sending.
    async with session_scope(app.state.sessionmaker) as session:
        from service.webhooks.service import fan_out

        # Every event waiting, not only the first batch: earlier tests leave theirs too.
        while await fan_out(session):
            pass
    claimed = await _claim(app.state.engine, app.state.sessionmaker, 2)
    assert len(claimed) == 2
    receiver = Receiver()
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as one,
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as two,
    ):
        await asyncio.gather(
            deliver_due(app.state.engine, app.state.sessionmaker, one, app.state.protector),
            deliver_due(app.state.engine, app.state.sessionmaker, two, app.state.protector),
        )
    ids = [r["id"] for r, u in zip(receiver.received, receiver.urls, strict=True) if u == url]
    assert ids and len(ids) == len(set(ids))  # each event once to this subscriber
    async with app.state.sessionmaker() as session:
        held = (
            await session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(claimed)))
        ).all()
    assert all(d.status == "pending" for d in held)  # still held by the dead deliverer's lease
    await time_passes(app, 120)  # the lease runs out
    await deliver(app, receiver)
    async with app.state.sessionmaker() as session:
        held = (
            await session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(claimed)))
        ).all()
        events = {d.event_id for d in held}
    assert all(d.status == "delivered" for d in held)
    assert events <= {r["id"] for r in receiver.received}


async def test_organisations_get_only_the_task_events_they_may_see(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, app: FastAPI
) -> None:
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    other = await make_org(OrgKind.EMBASSY, "MYS", represents="IDN")
    coordinator = bearer(await make_token(Role.COORDINATOR))
    consul = bearer(await make_token(Role.CONSULAR_OFFICER, embassy))
    url = f"https://receiver.test/{unique('embassy')}"
    await subscribe(client, consul, url, ["task.assigned"])
    crisis = (
        await client.post(
            "/api/v1/crises",
            json={"title": "Floods", "hazard": "flood", "severity": "moderate", "zones": SEA},
            headers=coordinator,
        )
    ).json()
    for org in (embassy, other):
        await client.post(
            "/api/v1/tasks",
            json={"crisis_id": crisis["id"], "title": "Reach the workers", "assignee_org": org},
            headers=coordinator,
        )
    async with session_scope(app.state.sessionmaker) as session:
        from service.webhooks.service import fan_out

        # Every event waiting, not only the first batch: earlier tests leave theirs too.
        while await fan_out(session):
            pass
        mine = (
            await session.exec(
                select(WebhookDelivery, OutboxEvent)
                .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.event_id))
                .where(OutboxEvent.type == "task.assigned", col(OutboxEvent.data).is_not(None))
            )
        ).all()
    orgs = {
        event.organization_id
        for delivery, event in mine
        if event.data.get("crisis_id") == crisis["id"]
    }
    assert orgs == {embassy}


async def test_deliveries_in_parallel_keep_each_subjects_order_and_log_each_try(
    own_app: FastAPI,
) -> None:
    """Many subjects at once, answered in random order: each subject's events still arrive in
    order, each once; a failure holds back the rest of its subject only, and the last try makes
    a dead letter. On a database of its own: every due delivery competes for the same rounds."""
    app = own_app
    import random

    from service.webhooks.models import WebhookSubscription
    from service.webhooks.service import MAX_ATTEMPTS

    url = f"https://receiver.test/{unique('order')}"
    subjects = [unique("alert") for _ in range(6)]
    async with session_scope(app.state.sessionmaker) as session:
        subscription = WebhookSubscription(
            organization_id="test",
            url=url,
            events=["alert.received"],
            secret_sealed="",
            sees_all=True,
        )
        subscription.secret_sealed = (
            app.state.protector.sealer.seal(
                "a-secret-of-the-test", record_id=subscription.id, field="webhook_secret"
            )
            or ""
        )
        session.add(subscription)
    async with session_scope(app.state.sessionmaker) as session:
        for n in range(8):
            for subject in subjects:
                session.add(OutboxEvent(type="alert.received", subject=subject, data={"n": n}))
    async with session_scope(app.state.sessionmaker) as session:
        # The subject travels in the data too, to check the order at the receiver.
        for event in (
            await session.exec(select(OutboxEvent).where(col(OutboxEvent.subject).in_(subjects)))
        ).all():
            event.data = {**event.data, "subject": event.subject}
            session.add(event)
    broken = subjects[0]
    arrived: list[tuple[str, int]] = []

    async def receiver(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(random.random() / 100)  # answers come back in any order
        if str(request.url) != url:
            return httpx.Response(204)
        data = json.loads(request.content)["data"]
        if data["subject"] == broken:
            return httpx.Response(503)
        arrived.append((data["subject"], data["n"]))
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        for _ in range(5):
            await deliver_due(
                app.state.engine, app.state.sessionmaker, http, app.state.protector, limit=20
            )
    for subject in subjects[1:]:
        assert [n for s, n in arrived if s == subject] == list(range(8))
    assert not [s for s, _ in arrived if s == broken]
    async with app.state.sessionmaker() as session:
        held = (
            await session.exec(
                select(WebhookDelivery)
                .where(WebhookDelivery.subject == broken)
                .order_by(col(WebhookDelivery.event_id))
            )
        ).all()
    assert held[0].attempts == 1 and held[0].last_status == 503 and held[0].status == "pending"
    assert held[0].next_attempt_at > utcnow() and held[0].locked_until is None
    assert all(d.attempts == 0 and d.status == "pending" for d in held[1:])
    # The last try fails too: a dead letter, and the next event of the subject goes ahead.
    async with app.state.engine.begin() as conn:
        await conn.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == held[0].id)
            .values(attempts=MAX_ATTEMPTS - 1)
        )
    await time_passes(app, 3600)
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        await deliver_due(app.state.engine, app.state.sessionmaker, http, app.state.protector)
    async with app.state.sessionmaker() as session:
        first = await session.get(WebhookDelivery, held[0].id)
    assert first is not None and first.status == "dead" and first.attempts == MAX_ATTEMPTS
