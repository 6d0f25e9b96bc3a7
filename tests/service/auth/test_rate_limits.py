"""One client cannot take the service for itself, nor guess tokens at speed: requests are
limited per token and per address, and an address past its failed authentications waits before
any token of it is looked up (a good one too), audited once, never once a request.

The suite's app has its limits far above what it asks; each test here puts low ones, on a
clock of its own that it moves on instead of sleeping."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from service.app import api_routes
from service.audit.models import AuditEvent
from service.auth.dependencies import route_permission
from service.auth.limits import THROTTLED, Limits
from service.clients import keyed_hash
from service.db import session_scope
from service.settings import Settings
from tests.conftest import OrgFactory, TokenFactory, bearer
from tests.service.users.helpers import (
    browser,
    code_now,
    enrolled_person,
    hidden,
    make_person,
    post_password,
)

LIST = "/api/v1/organizations"


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


SetLimits = Callable[..., Limits]


@pytest.fixture
def set_limits(app: FastAPI, clock: Clock) -> Iterator[SetLimits]:
    """Put limits of the test's own on the app (0: that limit off), on the test's clock; the
    app's own come back after the test. (Not ``monkeypatch``: its undo deletes an attribute of
    a ``State``, which it reads through ``__getattr__``.)"""
    own = app.state.limits

    def put(*, token: int = 0, address: int = 0, failures: int = 0) -> Limits:
        limits = Limits.build(
            token_per_minute=token,
            address_per_minute=address,
            failures_per_minute=failures,
            secret=app.state.settings.blind_index_key,
            clock=clock,
        )
        app.state.limits = limits
        return limits

    yield put
    app.state.limits = own


def an_address() -> str:
    number = uuid.uuid4().int
    return f"10.{number % 250}.{(number >> 8) % 250}.{(number >> 16) % 250 + 1}"


@asynccontextmanager
async def from_address(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as c:
        yield c


def assert_limited(response: httpx.Response) -> int:
    """A 429 problem with a Retry-After; its seconds."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/rate-limited")
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 60
    return wait


async def throttled_entries(app: FastAPI, address: str) -> list[AuditEvent]:
    subject = keyed_hash(address, app.state.settings.blind_index_key)
    async with session_scope(app.state.sessionmaker) as session:
        rows = await session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == THROTTLED, AuditEvent.subject_id == subject)
            .order_by(col(AuditEvent.id))
        )
        return list(rows.all())


async def test_a_burst_of_bad_tokens_throttles_the_address_once_audited_until_it_refills(
    app: FastAPI,
    make_token: TokenFactory,
    set_limits: SetLimits,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_limits(failures=5)
    good = await make_token()
    guesser, neighbour = an_address(), an_address()
    caplog.set_level(logging.INFO, logger="lifeline.auth")
    async with from_address(app, guesser) as client:
        for n in range(5):
            # Bad and malformed tokens and other schemes count alike.
            header = {"Authorization": "Basic dXNlcjpwYXNz"} if n == 0 else bearer(f"ll_guess{n}")
            assert (await client.get(LIST, headers=header)).status_code == 401
        refused = await client.get(LIST, headers=bearer("ll_guess-next"))
        wait = assert_limited(refused)
        assert "failed authentications" in refused.json()["detail"]
        # A good token not yet seen waits too: the address is refused before any lookup.
        assert_limited(await client.get(LIST, headers=bearer(good)))
        for _ in range(20):
            assert_limited(await client.get(LIST, headers=bearer("ll_flood")))
        # Another address is not held back, with a good token or a bad one.
        async with from_address(app, neighbour) as other:
            assert (await other.get(LIST, headers=bearer(good))).status_code == 200
            assert (await other.get(LIST, headers=bearer("ll_bad"))).status_code == 401

        entries = await throttled_entries(app, guesser)
        assert len(entries) == 1
        entry = entries[0]
        assert entry.outcome == "denied" and entry.channel == "api"
        assert entry.token_id is None and entry.user_id is None and entry.role is None
        assert entry.detail["failures"] == 5
        assert entry.detail["kinds"] == {"scheme": 1, "token": 4}
        assert entry.detail["per_minute"] == 5
        prefix = guesser.rsplit(".", 1)[0]
        assert entry.detail["network"] == f"{prefix}.0/24"
        assert guesser not in str(entry.detail)
        assert not await throttled_entries(app, neighbour)
        said = [r for r in caplog.records if r.name == "lifeline.auth"]
        assert any("throttled" in r.getMessage() for r in said)
        assert all(guesser not in str(r.__dict__) for r in said)

        # When Retry-After has passed, the address may try again: one attempt's worth.
        clock.advance(wait)
        assert (await client.get(LIST, headers=bearer("ll_again"))).status_code == 401
        assert_limited(await client.get(LIST, headers=bearer("ll_again-too")))
        # Still the one entry: the address never refilled in between.
        assert len(await throttled_entries(app, guesser)) == 1

        # A quiet minute refills it whole; a new burst is a new entry.
        clock.advance(60)
        for n in range(5):
            assert (await client.get(LIST, headers=bearer(f"ll_more{n}"))).status_code == 401
        assert_limited(await client.get(LIST, headers=bearer("ll_more-next")))
    assert len(await throttled_entries(app, guesser)) == 2


async def test_a_token_proven_live_passes_its_address_s_throttle(
    app: FastAPI, make_token: TokenFactory, set_limits: SetLimits, clock: Clock
) -> None:
    """Someone behind a shared address (an office, a carrier's NAT) who was at work keeps
    working while another guesses from the same address; the guesses still wait, and so does a
    token first seen while the address is throttled."""
    set_limits(failures=3)
    colleague, newcomer = await make_token(), await make_token()
    async with from_address(app, an_address()) as client:
        assert (await client.get(LIST, headers=bearer(colleague))).status_code == 200
        for n in range(3):
            assert (await client.get(LIST, headers=bearer(f"ll_guess{n}"))).status_code == 401
        assert_limited(await client.get(LIST, headers=bearer("ll_guess-next")))
        clock.advance(10)
        assert (await client.get(LIST, headers=bearer(colleague))).status_code == 200
        assert_limited(await client.get(LIST, headers=bearer(newcomer)))
        assert_limited(await client.get(LIST, headers=bearer("ll_guess-again")))
        # The proof lasts an hour from the token's last use.
        clock.advance(3_599)
        assert (await client.get(LIST, headers=bearer(colleague))).status_code == 200
        for n in range(3):
            await client.get(LIST, headers=bearer(f"ll_late{n}"))
        clock.advance(3_601)
        for n in range(3):
            await client.get(LIST, headers=bearer(f"ll_later{n}"))
        assert_limited(await client.get(LIST, headers=bearer(colleague)))


async def test_a_revoked_token_is_refused_but_counts_not_as_a_guess(
    app: FastAPI, make_token: TokenFactory, set_limits: SetLimits
) -> None:
    """A forgotten script that still sends a revoked token gets its 401 each time, and does not
    lock out the others behind its address."""
    from service.auth.models import ApiToken
    from service.auth.service import hash_token

    set_limits(failures=3)
    old, other = await make_token(), await make_token()
    async with session_scope(app.state.sessionmaker) as session:
        row = (
            await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(old)))
        ).one()
        row.revoked_at = row.created_at
        session.add(row)
    address = an_address()
    async with from_address(app, address) as client:
        for _ in range(10):
            refused = await client.get(LIST, headers=bearer(old))
            assert refused.status_code == 401, refused.text
        assert (await client.get(LIST, headers=bearer(other))).status_code == 200
    assert not await throttled_entries(app, address)


def test_a_flood_of_new_keys_scans_the_table_once_a_tenth() -> None:
    """More callers than the table holds, none refilled yet: the table stays bounded, and a
    pass over it frees a tenth, so that it is scanned once per tenth of new keys, not once a
    request."""
    from service.registry.ratelimit import TokenBuckets

    scans = 0

    class Counted(TokenBuckets):
        def _forget_full(self, now: float) -> None:
            nonlocal scans
            scans += 1
            super()._forget_full(now)

    frozen = Clock()
    buckets = Counted(rate=1.0, burst=5, max_keys=1_000, clock=frozen)
    for n in range(11_000):
        buckets.take(f"caller{n}")
        assert len(buckets._state) <= 1_000
    assert scans <= 101

    limits = Limits.build(
        token_per_minute=0, address_per_minute=0, failures_per_minute=5, secret="k", clock=frozen
    )
    limits.max_tallies = 1_000
    for n in range(11_000):
        limits.failed(f"10.0.{n // 250}.{n % 250}", "token")
        assert len(limits._tallies) <= 1_000


async def test_the_per_token_limit(
    app: FastAPI, make_token: TokenFactory, set_limits: SetLimits, clock: Clock
) -> None:
    set_limits(token=3)
    busy, calm = await make_token(), await make_token()
    async with from_address(app, an_address()) as client:
        for _ in range(3):
            assert (await client.get(LIST, headers=bearer(busy))).status_code == 200
        refused = await client.get(LIST, headers=bearer(busy))
        wait = assert_limited(refused)
        assert "this token" in refused.json()["detail"]
        # Another token from the same address has a bucket of its own.
        assert (await client.get(LIST, headers=bearer(calm))).status_code == 200
        clock.advance(wait)
        assert (await client.get(LIST, headers=bearer(busy))).status_code == 200
        assert_limited(await client.get(LIST, headers=bearer(busy)))


async def test_the_per_address_limit(
    app: FastAPI, make_token: TokenFactory, set_limits: SetLimits, clock: Clock
) -> None:
    set_limits(address=4)
    tokens = [await make_token() for _ in range(5)]
    crowded = an_address()
    async with from_address(app, crowded) as client:
        for token in tokens[:4]:
            assert (await client.get(LIST, headers=bearer(token))).status_code == 200
        # A fifth token is no way round it: the address is counted, whatever the token.
        refused = await client.get(LIST, headers=bearer(tokens[4]))
        wait = assert_limited(refused)
        assert "this address" in refused.json()["detail"]
        # Nor is sending none.
        assert_limited(await client.get(LIST))
        async with from_address(app, an_address()) as other:
            assert (await other.get(LIST, headers=bearer(tokens[4]))).status_code == 200
        clock.advance(wait)
        assert (await client.get(LIST, headers=bearer(tokens[4]))).status_code == 200
    # Rate limits are no failed authentication: nothing audited.
    assert not await throttled_entries(app, crowded)


async def test_an_ipv6_address_is_counted_by_its_64(
    app: FastAPI, make_token: TokenFactory, set_limits: SetLimits
) -> None:
    set_limits(address=2)
    token = await make_token()
    suffix = uuid.uuid4().hex[:4]
    async with from_address(app, f"2001:db8:{suffix}:1::1") as one:
        assert (await one.get(LIST, headers=bearer(token))).status_code == 200
    async with from_address(app, f"2001:db8:{suffix}:1::ffff") as two:
        assert (await two.get(LIST, headers=bearer(token))).status_code == 200
        assert_limited(await two.get(LIST, headers=bearer(token)))


async def test_health_and_the_console_assets_are_never_limited(
    app: FastAPI, set_limits: SetLimits
) -> None:
    set_limits(token=1, address=1, failures=1)
    async with from_address(app, an_address()) as client:
        assert (await client.get(LIST, headers=bearer("ll_bad"))).status_code == 401
        assert_limited(await client.get(LIST, headers=bearer("ll_bad")))
        for _ in range(10):
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code in (200, 503)
            assert (await client.get("/console/static/console.css")).status_code == 200


async def test_failed_console_sign_ins_count_and_throttle_the_api_too(
    app: FastAPI,
    make_org: OrgFactory,
    make_token: TokenFactory,
    set_limits: SetLimits,
    clock: Clock,
) -> None:
    # Under the sign-in's own back-off (five failures): this limit is what answers.
    set_limits(failures=3)
    org = await make_org()
    person = await make_person(app, org)
    good = await make_token(org_id=org)
    address = an_address()
    async with browser(app, address) as client:
        for _ in range(3):
            wrong = await post_password(client, person.email, "not the password at all")
            assert wrong.status_code == 400
        refused = await post_password(client, person.email, person.password)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Signing in did not work" in refused.text
        # The API from the same address waits as well.
        wait = assert_limited(await client.get(LIST, headers=bearer(good)))
        clock.advance(wait)
        assert (await client.get(LIST, headers=bearer(good))).status_code == 200
    entries = await throttled_entries(app, address)
    assert len(entries) == 1
    assert entries[0].channel == "console"
    assert entries[0].detail["kinds"] == {"sign_in": 3}
    assert person.email.lower() not in str(entries[0].detail).lower()


async def test_wrong_second_factor_codes_count_too(
    app: FastAPI, make_org: OrgFactory, set_limits: SetLimits
) -> None:
    set_limits(failures=3)
    person, signed = await enrolled_person(app, await make_org())
    address = an_address()
    async with browser(app, address) as client:
        assert (await post_password(client, person.email, person.password)).status_code == 303
        page = await client.get("/console/sign-in/second-factor")
        for _ in range(3):
            wrong = await client.post(
                "/console/sign-in/second-factor",
                data={"code": "000000", "csrf_token": hidden(page.text)},
            )
            assert wrong.status_code == 400
        # Even the right code waits.
        refused = await client.post(
            "/console/sign-in/second-factor",
            data={"code": code_now(signed.secret, 1), "csrf_token": hidden(page.text)},
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
    entries = await throttled_entries(app, address)
    assert [e.detail["kinds"] for e in entries] == [{"second_factor": 3}]


async def test_a_console_page_past_the_limit_says_so_with_retry_after(
    app: FastAPI, set_limits: SetLimits
) -> None:
    set_limits(address=1)
    async with browser(app, an_address()) as client:
        assert (await client.get("/console/")).status_code == 303
        refused = await client.get("/console/")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert int(refused.headers["retry-after"]) >= 1


async def test_limits_at_zero_are_off(
    app: FastAPI, set_limits: SetLimits, make_token: TokenFactory
) -> None:
    set_limits()
    token = await make_token()
    async with from_address(app, an_address()) as client:
        for n in range(30):
            assert (await client.get(LIST, headers=bearer(f"ll_x{n}"))).status_code == 401
        for _ in range(30):
            assert (await client.get(LIST, headers=bearer(token))).status_code == 200


def test_the_defaults_are_generous_and_read_from_the_settings() -> None:
    defaults = Settings()
    assert defaults.token_requests_per_minute == 600
    assert defaults.address_requests_per_minute == 1200
    assert defaults.auth_failures_per_minute == 20
    limits = Limits.from_settings(defaults)
    assert limits.tokens is not None and limits.tokens.burst == 600
    assert limits.addresses is not None and limits.addresses.burst == 1200
    assert limits.failures is not None and limits.failures.burst == 20
    off = Limits.from_settings(Settings(token_requests_per_minute=0, address_requests_per_minute=0))
    assert off.tokens is None and off.addresses is None and off.failures is not None


def test_every_guarded_operation_declares_the_429(app: FastAPI) -> None:
    """Every route that takes a token may answer 429; a gateway's signed callbacks take none
    and are not counted (a gateway's receipts come in bursts from few addresses)."""
    document = app.openapi()
    guarded = 0
    for path, route in api_routes():
        for method in route.methods or ():
            responses = document["paths"][path][method.lower()]["responses"]
            if route_permission(route) is None:
                continue
            guarded += 1
            assert "429" in responses, (method, path)
            assert "failed authentications" in responses["429"]["description"]
    assert guarded > 100
