"""Sessions end: when idle, at their absolute limit, at sign-out, and everywhere at once."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI

from service.db import session_scope, utcnow
from service.users.models import UserSession
from service.users.service import SESSION_COOKIE, TOUCH_EVERY_S
from tests.conftest import OrgFactory, TokenFactory, bearer
from tests.service.users.helpers import (
    Person,
    browser,
    enrol,
    enrol_again,
    make_person,
    session_row,
)

ORGS = "/api/v1/organizations"


async def _move(app: FastAPI, row: UserSession, **times: object) -> None:
    async with session_scope(app.state.sessionmaker) as session:
        live = await session.get(UserSession, row.id)
        assert live is not None
        for name, value in times.items():
            setattr(live, name, value)
        session.add(live)


async def _person(app: FastAPI, make_org: OrgFactory) -> Person:
    return await make_person(app, await make_org())


async def test_a_session_unused_for_the_idle_timeout_ends(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await _person(app, make_org)
    async with browser(app) as client:
        await enrol(client, person)
        row = await session_row(app, client)
        idle = app.state.settings.session_idle_s
        assert row.idle_expires_at - row.created_at == timedelta(seconds=idle)
        assert row.absolute_expires_at - row.created_at == timedelta(
            seconds=app.state.settings.session_absolute_s
        )
        await _move(app, row, idle_expires_at=utcnow() - timedelta(seconds=1))
        answer = await client.get(ORGS)
        assert answer.status_code == 401
        assert "sign in again" in answer.json()["detail"]


async def test_use_moves_the_idle_timeout_on_but_never_past_the_absolute_one(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await _person(app, make_org)
    async with browser(app) as client:
        await enrol(client, person)
        row = await session_row(app, client)
        seen = utcnow() - timedelta(seconds=TOUCH_EVERY_S + 5)
        await _move(app, row, last_seen_at=seen, idle_expires_at=utcnow() + timedelta(seconds=10))
        assert (await client.get(ORGS)).status_code == 200
        moved = await session_row(app, client)
        assert moved.idle_expires_at > utcnow() + timedelta(minutes=5)
        # Near the absolute limit, use does not extend past it...
        end = utcnow() + timedelta(seconds=30)
        await _move(app, row, last_seen_at=seen, absolute_expires_at=end)
        assert (await client.get(ORGS)).status_code == 200
        assert (await session_row(app, client)).idle_expires_at == end
        # ...and past it the session is over, however recently used.
        await _move(app, row, absolute_expires_at=utcnow() - timedelta(seconds=1))
        assert (await client.get(ORGS)).status_code == 401


async def test_sign_out_ends_this_session_only(app: FastAPI, make_org: OrgFactory) -> None:
    person = await _person(app, make_org)
    async with browser(app) as laptop, browser(app) as phone:
        signed = await enrol(laptop, person)
        await enrol_again(phone, person, signed.secret)
        out = await laptop.post("/console/sign-out", data={"csrf_token": signed.csrf})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        assert SESSION_COOKIE not in laptop.cookies
        assert (await laptop.get(ORGS)).status_code == 401
        assert (await phone.get(ORGS)).status_code == 200


async def test_sign_out_everywhere_ends_every_session(app: FastAPI, make_org: OrgFactory) -> None:
    person = await _person(app, make_org)
    async with browser(app) as laptop, browser(app) as phone:
        signed = await enrol(laptop, person)
        await enrol_again(phone, person, signed.secret)
        kept = laptop.cookies.get(SESSION_COOKIE)
        out = await laptop.post(
            "/console/sign-out-everywhere", headers={"X-CSRF-Token": signed.csrf}
        )
        assert out.status_code == 303
        assert (await phone.get(ORGS)).status_code == 401
        laptop.cookies.set(SESSION_COOKIE, kept or "", domain="lifeline.test")
        assert (await laptop.get(ORGS)).status_code == 401


async def test_sign_out_without_the_csrf_token_ends_nothing(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await _person(app, make_org)
    async with browser(app) as client:
        await enrol(client, person)
        for path in ("/console/sign-out", "/console/sign-out-everywhere"):
            refused = await client.post(path, data={"csrf_token": "forged"})
            assert refused.status_code == 403
            assert (await client.post(path)).status_code == 403
        assert (await client.get(ORGS)).status_code == 200


SIGN_OUT_FORM = re.compile(
    r'<form class="sign-out" method="post" action="(/console/sign-out)">\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">'
)


async def test_every_console_page_offers_sign_out_and_the_button_ends_the_session(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await _person(app, make_org)
    async with browser(app) as laptop, browser(app) as phone:
        signed = await enrol(laptop, person)
        await enrol_again(phone, person, signed.secret)
        home = await laptop.get("/console/")
        assert home.status_code == 200
        pages = re.findall(r'<li><a href="(/console/[^"]*)"', home.text)
        assert len(pages) >= 5, pages
        for path in pages:
            page = await laptop.get(path)
            assert page.status_code == 200, path
            form = SIGN_OUT_FORM.search(page.text)
            assert form is not None, path
            assert form.group(2) == signed.csrf, path
        action, csrf = form.groups()
        out = await laptop.post(action, data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        assert SESSION_COOKIE not in laptop.cookies
        assert (await laptop.get(ORGS)).status_code == 401
        after = await laptop.get("/console/")
        assert after.status_code == 303 and "/console/sign-in" in after.headers["location"]
        assert SIGN_OUT_FORM.search(after.text) is None
        assert (await phone.get(ORGS)).status_code == 200  # the other session is not this one's


async def test_a_page_read_with_a_token_offers_no_sign_out(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    page = await client.get("/console/", headers=bearer(await make_token()))
    assert page.status_code == 200
    assert SIGN_OUT_FORM.search(page.text) is None
