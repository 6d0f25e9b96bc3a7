"""Webhooks never reach inside the deployment: a URL leading there is refused at subscription
(422 ``unsafe-url``), and a name that resolves there later is refused at delivery, recorded as a
dead delivery with the reason, without a crash of the deliverer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from integrations.safe_url import Unresolvable
from integrations.webhooks import delivery_client
from service.auth.permissions import Role
from service.db import session_scope
from service.settings import Environment
from service.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from service.webhooks.service import deliver_due, url_policy
from tests.conftest import TokenFactory, bearer, make_org_in, make_token_in, unique

PUBLIC = "93.184.216.34"


class Table:
    """Names and their addresses of the moment, without the network."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        if host not in self.answers:
            raise Unresolvable(f"{host} does not resolve (not in the table)")
        return self.answers[host]


@pytest.fixture
def names(app: FastAPI) -> Iterator[Table]:
    """The API resolves through this table for the test."""
    table = Table({"hooks.partner.example": [PUBLIC], "internal.partner.example": ["10.20.30.40"]})
    before, app.state.resolver = app.state.resolver, table
    try:
        yield table
    finally:
        app.state.resolver = before


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "this machine"),
        ("https://localhost./hook", "this machine"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://[::ffff:127.0.0.1]/", "127.0.0.1"),
        ("https://2130706433/", "loopback"),
        ("https://0x7f.1/", "loopback"),
        ("https://good@127.0.0.1/", "credentials"),
        ("https://10.0.0.5/", "private"),
        ("https://100.64.0.1/", "carrier-grade"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://224.0.0.1/", "multicast"),
        ("https://internal.partner.example/hook", "private"),
        ("https://nowhere.partner.example/hook", "does not resolve"),
        ("http://hooks.partner.example/hook", "https"),
    ],
)
async def test_a_url_inside_the_deployment_is_refused_at_subscription(
    client: httpx.AsyncClient, make_token: TokenFactory, names: Table, url: str, why: str
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    refused = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["crisis.opened"]}, headers=coordinator
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/unsafe-url")
    assert why in problem["detail"]
    assert problem["errors"] == [{"loc": ["body", "url"], "msg": problem["errors"][0]["msg"]}]


async def test_a_public_receiver_and_an_allowed_one_are_accepted(
    client: httpx.AsyncClient, make_token: TokenFactory, names: Table
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    for url in ("https://hooks.partner.example/hook", "https://receiver.test/allowed"):
        made = await client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["crisis.opened"]}, headers=coordinator
        )
        assert made.status_code == 201, made.text
        await client.delete(f"/api/v1/webhooks/{made.json()['id']}", headers=coordinator)


def test_plain_http_is_for_development_only(app: FastAPI) -> None:
    settings = app.state.settings
    assert url_policy(settings).require_https
    assert not url_policy(
        settings.model_copy(update={"env": Environment.DEVELOPMENT})
    ).require_https


async def test_a_name_that_now_resolves_inside_is_refused_at_delivery(own_app: FastAPI) -> None:
    """Accepted while public, the name then points at loopback (DNS rebinding): the delivery
    is refused before any connection, recorded dead with the reason, and the deliverer goes on.
    On a database of its own: the deliverer takes what is due, and the shared database holds
    other tests' deliveries."""
    app = own_app
    app.state.resolver = Table({"hooks.partner.example": [PUBLIC]})
    coordinator = bearer(await make_token_in(app, Role.COORDINATOR, await make_org_in(app)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as client:
        await _rebound_delivery(app, client, coordinator)


async def _rebound_delivery(
    app: FastAPI, client: httpx.AsyncClient, coordinator: dict[str, str]
) -> None:
    url = f"https://hooks.partner.example/{unique('rebind')}"
    made = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["alert.received"]}, headers=coordinator
    )
    assert made.status_code == 201, made.text
    subject = unique("alert")
    async with session_scope(app.state.sessionmaker) as session:
        session.add(OutboxEvent(type="alert.received", subject=subject, data={"n": 1}))
    rebound = Table({"hooks.partner.example": ["127.0.0.1"]})
    try:
        async with delivery_client(url_policy(app.state.settings), rebound) as http:
            counts = await deliver_due(
                app.state.engine, app.state.sessionmaker, http, app.state.protector
            )
    finally:
        await client.delete(f"/api/v1/webhooks/{made.json()['id']}", headers=coordinator)
    assert counts["dead"] >= 1
    async with app.state.sessionmaker() as session:
        (delivery,) = (
            await session.exec(
                select(WebhookDelivery)
                .join(
                    WebhookSubscription,
                    col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                )
                .where(WebhookDelivery.subject == subject, WebhookSubscription.url == url)
            )
        ).all()
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_status is None and delivery.locked_until is None
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("refused:") and "loopback" in delivery.last_error


def test_an_unreadable_allow_list_stops_the_start() -> None:
    from pydantic import ValidationError

    from service.settings import Settings

    with pytest.raises(ValidationError, match="LIFELINE_WEBHOOK_ALLOW_HOSTS"):
        Settings(webhook_allow_hosts="hooks.internal,not a host!")
    allowed = url_policy(Settings(webhook_allow_hosts="hooks.internal., 10.2.0.0/16"))
    assert allowed.allow_hosts == {"hooks.internal"} and len(allowed.allow_networks) == 1
