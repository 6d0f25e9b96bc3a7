"""After five failed sign-ins of an account or an address, sign-in pauses, longer each time;
the answer is the same whether the e-mail names an account or not, and each is audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlmodel import col, select

from service.audit.models import AuditEvent
from service.db import session_scope
from service.users.service import (
    BACKOFF_AFTER,
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    count_failure,
    paused_until,
)
from tests.conftest import OrgFactory
from tests.service.users.helpers import browser, make_person, post_password


def _error(page: str) -> str:
    return page.split('role="alert"')[1].split("</p>")[0]


async def test_five_wrong_passwords_pause_the_account_even_for_the_right_one(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await make_person(app, await make_org())
    for _ in range(BACKOFF_AFTER):
        # Each from another address: the account's own count pauses it.
        async with browser(app) as client:
            wrong = await post_password(client, person.email, "a wrong password here")
            assert wrong.status_code == 400
    async with browser(app) as client:
        paused = await post_password(client, person.email, person.password)
    assert paused.status_code == 429
    assert 1 <= int(paused.headers["retry-after"]) <= BACKOFF_FIRST_S + 1
    assert _error(paused.text) == _error(wrong.text)
    async with session_scope(app.state.sessionmaker) as session:
        rows = (
            await session.exec(
                select(AuditEvent)
                .where(AuditEvent.subject_id == person.id, AuditEvent.action == "user.sign_in")
                .order_by(col(AuditEvent.id))
            )
        ).all()
    assert [r.outcome for r in rows] == ["denied"] * (BACKOFF_AFTER + 1)
    assert [r.detail["reason"] for r in rows][-2:] == ["refused", "paused"]
    assert all(r.user_id == person.id and r.channel == "console" for r in rows)
    assert all(person.email.lower() not in str(r.detail).lower() for r in rows)


async def test_an_unknown_e_mail_is_answered_and_paused_the_same(app: FastAPI) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    answers = []
    for _ in range(BACKOFF_AFTER + 1):
        async with browser(app) as client:
            answers.append(await post_password(client, email, "whatever it may be"))
    assert [a.status_code for a in answers] == [400] * BACKOFF_AFTER + [429]
    assert len({_error(a.text) for a in answers}) == 1


async def test_five_failures_from_one_address_pause_it_for_every_account(
    app: FastAPI, make_org: OrgFactory
) -> None:
    org = await make_org()
    person = await make_person(app, org)
    address = f"192.0.2.{uuid.uuid4().int % 250}"
    for _ in range(BACKOFF_AFTER):
        async with browser(app, address) as client:
            guess = f"guess-{uuid.uuid4().hex[:8]}@example.org"
            assert (await post_password(client, guess, "a password guess")).status_code == 400
    async with browser(app, address) as client:
        assert (await post_password(client, person.email, person.password)).status_code == 429
    async with browser(app) as elsewhere:
        assert (await post_password(elsewhere, person.email, person.password)).status_code == 303


async def test_the_pause_doubles_with_each_further_failure_up_to_an_hour(app: FastAPI) -> None:
    keys = [f"email:test-{uuid.uuid4().hex}"]
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    async with session_scope(app.state.sessionmaker) as session:
        for i in range(BACKOFF_AFTER - 1):
            await count_failure(session, keys, now=start + timedelta(seconds=i))
            assert await paused_until(session, keys, now=start + timedelta(seconds=i)) is None
        pauses = []
        at = start
        for _ in range(10):
            at += timedelta(hours=2)  # after the pause ran out: a failure counts again
            await count_failure(session, keys, now=at)
            until = await paused_until(session, keys, now=at)
            assert until is not None
            pauses.append(int((until - at).total_seconds()))
    assert pauses[:4] == [BACKOFF_FIRST_S * 2**i for i in range(4)]
    assert max(pauses) == pauses[-1] == BACKOFF_MAX_S


async def test_a_good_sign_in_forgets_the_accounts_failures(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await make_person(app, await make_org())
    for _ in range(BACKOFF_AFTER - 1):
        async with browser(app) as client:
            await post_password(client, person.email, "a wrong password here")
    async with browser(app) as client:
        assert (await post_password(client, person.email, person.password)).status_code == 303
    for _ in range(BACKOFF_AFTER - 1):
        async with browser(app) as client:
            await post_password(client, person.email, "a wrong password here")
    async with browser(app) as client:
        assert (await post_password(client, person.email, person.password)).status_code == 303
