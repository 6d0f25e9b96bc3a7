"""Making people and signing them in, for the tests of accounts, sessions and the console."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.db import session_scope
from service.directory.models import Organization
from service.users import totp
from service.users.models import User, UserSession
from service.users.service import SESSION_COOKIE, create_user, hash_session

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    id: str
    email: str
    org_id: str
    password: str = PASSWORD


async def make_person(app: FastAPI, org_id: str, role: Role = Role.ADMIN) -> Person:
    return await make_person_in(app.state.sessionmaker, org_id, role)


async def make_person_in(
    maker: async_sessionmaker[AsyncSession], org_id: str, role: Role = Role.ADMIN
) -> Person:
    """An account of the organisation ``org_id`` with a password of its own (no first-use
    change), through the sessions of ``maker``."""
    email = f"Person-{uuid.uuid4().hex[:10]}@Example.org"
    async with session_scope(maker) as session:
        org = await session.get(Organization, org_id)
        assert org is not None
        user, _ = await create_user(
            session,
            actor=Principal.system("cli"),
            organization=org,
            role=role,
            email=email,
            display_name="A Person",
            password=PASSWORD,
            one_time=False,
        )
        return Person(id=user.id, email=email, org_id=org_id)


@asynccontextmanager
async def browser(app: FastAPI, address: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client with cookies, from an address of its own (the back-off counts per address)."""
    address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    # https: the cookies are Secure outside development, and a client keeps those for https only.
    async with httpx.AsyncClient(transport=transport, base_url="https://lifeline.test") as c:
        yield c


def hidden(page: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, page
    return found.group(1)


async def post_password(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf_token": hidden(form.text)},
    )


def code_now(secret: str, offset: int = 0) -> str:
    return totp.code_at(secret, totp.step_of(time.time()) + offset)


@dataclass
class SignedIn:
    secret: str
    recovery_codes: list[str]
    csrf: str


async def enrol_page(client: httpx.AsyncClient, person: Person) -> str:
    """A first sign-in: password, the TOTP shown, a code of it; the page of recovery codes,
    with the secret in a comment of its own at its end."""
    assert (await post_password(client, person.email, person.password)).status_code == 303
    page = await client.get("/console/sign-in/second-factor")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret, page.text
    done = await client.post(
        "/console/sign-in/second-factor",
        data={"code": code_now(secret.group(1)), "csrf_token": hidden(page.text)},
    )
    assert done.status_code == 200, done.text
    return done.text + f"<!--{secret.group(1)}-->"


async def enrol(client: httpx.AsyncClient, person: Person) -> SignedIn:
    """A first sign-in to the end: signed in, with the TOTP secret and the recovery codes."""
    page = await enrol_page(client, person)
    codes = re.findall(r"<li><code>([0-9a-f-]+)</code></li>", page)
    secret = page.rsplit("<!--", 1)[1].removesuffix("-->")
    return SignedIn(secret, codes, await csrf_of(client))


async def enrol_again(client: httpx.AsyncClient, person: Person, secret: str) -> None:
    """Another device signs in with the TOTP already set up (the next step's code: the current
    one is used up)."""
    await post_password(client, person.email, person.password)
    page = await client.get("/console/sign-in/second-factor")
    answer = await client.post(
        "/console/sign-in/second-factor",
        data={"code": code_now(secret, 1), "csrf_token": hidden(page.text)},
    )
    assert answer.status_code == 303, answer.text


async def csrf_of(client: httpx.AsyncClient) -> str:
    """The CSRF token of the client's session, as the console's pages carry it."""
    from service.users.service import csrf_token
    from tests.conftest import settings_for

    raw = client.cookies.get(SESSION_COOKIE)
    assert raw
    return csrf_token(hash_session(raw), settings_for("sqlite+aiosqlite://").blind_index_key)


async def session_row(app: FastAPI, client: httpx.AsyncClient) -> UserSession:
    raw = client.cookies.get(SESSION_COOKIE)
    assert raw
    async with session_scope(app.state.sessionmaker) as session:
        row = (
            await session.exec(
                select(UserSession).where(UserSession.token_hash == hash_session(raw))
            )
        ).one()
        return row


async def user_row(app: FastAPI, user_id: str) -> User:
    async with session_scope(app.state.sessionmaker) as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def enrolled_person(app: FastAPI, org_id: str) -> tuple[Person, SignedIn]:
    """A person who signed in once already (TOTP set up), and what that sign-in gave."""
    person = await make_person(app, org_id)
    async with browser(app) as client:
        return person, await enrol(client, person)
