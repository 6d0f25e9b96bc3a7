"""Signing in to the console: password, then TOTP (set up the first time), then a session."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from service.users.pages import safe_next
from service.users.service import SESSION_COOKIE
from tests.conftest import OrgFactory, TokenFactory, bearer
from tests.service.users.helpers import (
    browser,
    code_now,
    enrol,
    enrolled_person,
    hidden,
    make_person,
    post_password,
    user_row,
)


async def test_a_first_sign_in_sets_up_totp_and_shows_recovery_codes_once(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await make_person(app, await make_org())
    async with browser(app) as client:
        page = await client.get("/console/sign-in")
        assert page.status_code == 200
        assert 'href="/console/static/console.css"' in page.text
        assert '<label for="email">' in page.text and "<script" not in page.text
        assert page.headers["cache-control"] == "no-store"
        # Upper or lower case: one account.
        answer = await post_password(client, person.email.lower(), person.password)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/sign-in/second-factor"
        enrolment = await client.get("/console/sign-in/second-factor")
        assert "otpauth://totp/Lifeline:" in enrolment.text
        # Half-way, the API is not open to the session.
        assert (await client.get("/api/v1/organizations")).status_code == 401
        secret = enrolment.text.split('id="totp-secret">')[1].split("<")[0]
        done = await client.post(
            "/console/sign-in/second-factor",
            data={"code": code_now(secret), "csrf_token": hidden(enrolment.text)},
        )
        assert done.status_code == 200
        assert done.text.count("<li><code>") == 10
        assert done.headers["cache-control"] == "no-store"
        assert (await client.get("/api/v1/organizations")).status_code == 200
    user = await user_row(app, person.id)
    assert user.totp_enrolled_at is not None and user.last_sign_in_at is not None
    assert len(user.recovery_codes) == 10


async def test_the_session_cookie_is_httponly_secure_and_samesite(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await make_person(app, await make_org())
    async with browser(app) as client:
        answer = await post_password(client, person.email, person.password)
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert flag in cookie, cookie
        # The token is not the session's id nor anything the pages show.
        raw = client.cookies.get(SESSION_COOKIE)
        assert raw and raw not in (await client.get("/console/sign-in/second-factor")).text


async def test_a_later_sign_in_asks_for_a_code_and_takes_a_recovery_code_once(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person, first = await enrolled_person(app, await make_org())
    async with browser(app) as client:
        await post_password(client, person.email, person.password)
        page = await client.get("/console/sign-in/second-factor")
        assert "otpauth" not in page.text and "recovery code" in page.text
        wrong = await client.post(
            "/console/sign-in/second-factor",
            data={"code": "000000", "csrf_token": hidden(page.text)},
        )
        assert wrong.status_code == 400 and "did not work" in wrong.text
        used = await client.post(
            "/console/sign-in/second-factor",
            data={"code": first.recovery_codes[0], "csrf_token": hidden(page.text)},
        )
        assert used.status_code == 303 and used.headers["location"] == "/console/"
    async with browser(app) as client:
        await post_password(client, person.email, person.password)
        page = await client.get("/console/sign-in/second-factor")
        again = await client.post(
            "/console/sign-in/second-factor",
            data={"code": first.recovery_codes[0], "csrf_token": hidden(page.text)},
        )
        assert again.status_code == 400
        totp_answer = await client.post(
            "/console/sign-in/second-factor",
            data={"code": code_now(first.secret, 1), "csrf_token": hidden(page.text)},
        )
        assert totp_answer.status_code == 303
        assert (await client.get("/api/v1/organizations")).status_code == 200


async def test_a_wrong_password_and_an_unknown_e_mail_get_the_same_answer(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person = await make_person(app, await make_org())
    async with browser(app) as client:
        wrong = await post_password(client, person.email, "not the password at all")
    async with browser(app) as client:
        nobody = await post_password(client, "nobody-" + person.email, person.password)
    assert wrong.status_code == nobody.status_code == 400
    assert error_of(wrong.text) == error_of(nobody.text)
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")


def error_of(page: str) -> str:
    return page.split('role="alert"')[1].split("</p>")[0]


async def test_a_form_without_its_token_is_refused(app: FastAPI, make_org: OrgFactory) -> None:
    person = await make_person(app, await make_org())
    async with browser(app) as client:
        answer = await client.post(
            "/console/sign-in",
            data={"email": person.email, "password": person.password, "csrf_token": "x"},
        )
        assert answer.status_code == 403
        assert SESSION_COOKIE not in client.cookies


async def test_a_disabled_person_cannot_sign_in(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    admin = await make_token(Role.ADMIN)
    person = await make_person(app, await make_org())
    async with browser(app) as signed:
        await enrol(signed, person)
        disabled = await client.post(f"/api/v1/users/{person.id}/disable", headers=bearer(admin))
        assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
        assert (await signed.get("/api/v1/organizations")).status_code == 401
    async with browser(app) as again:
        assert (await post_password(again, person.email, person.password)).status_code == 400


async def test_signing_in_returns_to_the_console_page_that_asked_for_it(
    app: FastAPI, make_org: OrgFactory
) -> None:
    person, first = await enrolled_person(app, await make_org())
    async with browser(app) as client:
        sent = await client.get("/console/tasks?status=open")
        assert sent.status_code == 303
        assert (
            sent.headers["location"] == "/console/sign-in?next=%2Fconsole%2Ftasks%3Fstatus%3Dopen"
        )
        form = await client.get(sent.headers["location"])
        assert hidden(form.text, "next") == "/console/tasks?status=open"
        answer = await client.post(
            "/console/sign-in",
            data={
                "email": person.email,
                "password": person.password,
                "csrf_token": hidden(form.text),
                "next": hidden(form.text, "next"),
            },
        )
        assert answer.status_code == 303
        code_page = await client.get(answer.headers["location"])
        assert hidden(code_page.text, "next") == "/console/tasks?status=open"
        done = await client.post(
            "/console/sign-in/second-factor",
            data={
                "code": code_now(first.secret, 1),
                "csrf_token": hidden(code_page.text),
                "next": hidden(code_page.text, "next"),
            },
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/console/tasks?status=open"


def test_only_a_console_page_of_this_site_is_returned_to() -> None:
    for elsewhere in (
        "https://elsewhere.example/console/",
        "//elsewhere.example/console/",
        "/\\elsewhere.example",
        "/console\\..\\x",
        "/api/v1/organizations",
        "/console/sign-in?next=/console/",
        "/console/sign-out",
        "/console/\n",
        "",
        None,
    ):
        assert safe_next(elsewhere) is None, elsewhere
    assert safe_next("/console/crises/1?x=%2F") == "/console/crises/1?x=%2F"
