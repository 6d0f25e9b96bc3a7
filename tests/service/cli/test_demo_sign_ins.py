"""The demo's console sign-ins: a person of each role, printed with a password and a TOTP secret,
the same on a second run (which changes nothing), good for signing in; none outside
development. ``lifeline user totp`` gives the code of now, in development only."""

from __future__ import annotations

import re
import time

import pytest
from sqlmodel import col, func, select

from service.app import create_app
from service.audit.models import AuditEvent
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import get_settings
from service.users import totp
from service.users.models import User
from tests.conftest import run_cli, settings_for
from tests.service.users.helpers import browser, code_now, hidden, post_password

#: A row of the sign-ins: role, organisation, e-mail, password, TOTP secret; its URI below it.
ROW = re.compile(
    r"^(\w+)\s+(\S+)\s+(\S+@\S+)\s+(demo-\S+)\s+([A-Z2-7]{32})\n  (otpauth://\S+)$", re.M
)
#: The tokens' lines as bench/worst_zone.py reads them.
TOKEN = re.compile(r"^(\w+)\s+\S+\s+(ll_\S+)\s*$", re.M)


async def _demo() -> str:
    ran = await run_cli(["demo", "--no-serve", "--people", "300"])
    assert ran.exit_code == 0, ran.output
    return ran.output


async def _counts(database_url: str) -> tuple[int, int]:
    """People, and the audit's rows of people made or given a second factor."""
    engine = make_engine(database_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            people = (await session.exec(select(func.count()).select_from(User))).one()
            audited = await session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.action).in_(["user.create", "user.second_factor_set"]))
            )
            return people, audited.one()
    finally:
        await engine.dispose()


async def test_the_demo_prints_the_same_sign_ins_twice_and_each_signs_in(
    own_cli_env: str,
) -> None:
    first = await _demo()
    made = await _counts(own_cli_env)
    second = await _demo()
    assert await _counts(own_cli_env) == made == (7, 14)
    rows = ROW.findall(second)
    assert rows == ROW.findall(first)
    by_org = {(r[1], r[0]) for r in rows}
    assert {
        ("phl-embassy-kl", "consular_officer"),
        ("idn-embassy-kl", "consular_officer"),
        ("mys-red-crescent", "society_responder"),
        ("phl-dmw", "consular_officer"),
        ("lifeline-coordination", "admin"),
        ("iom-malaysia", "viewer"),
    } <= by_org
    assert "http://127.0.0.1:8000/console/sign-in" in second
    assert "lifeline user totp EMAIL" in second
    # The tokens' table as before: one line a token, parsed by the bench.
    assert len(TOKEN.findall(second)) == 6
    for _, _, email, _, secret, uri in rows:
        assert uri.startswith("otpauth://totp/Lifeline:") and f"secret={secret}" in uri
        assert email.endswith(".example")

    # Each signs in with what was printed, straight to the console: no one-time password.
    app = create_app(settings_for(own_cli_env), configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        for _, _, email, password, secret, _ in rows:
            async with browser(app) as client:
                assert (await post_password(client, email, password)).status_code == 303
                page = await client.get("/console/sign-in/second-factor")
                assert "otpauth" not in page.text  # set up already
                done = await client.post(
                    "/console/sign-in/second-factor",
                    data={"code": code_now(secret), "csrf_token": hidden(page.text)},
                )
                assert (done.status_code, done.headers.get("location")) == (303, "/console/")

    # And a code without a phone, from the command line.
    email, secret = rows[0][2], rows[0][4]
    shown = await run_cli(["user", "totp", email])
    assert shown.exit_code == 0, shown.output
    code = shown.stdout.strip()
    assert totp.matching_step(secret, code, unix_s=time.time()) is not None
    unknown = await run_cli(["user", "totp", "nobody@nowhere.example"])
    assert unknown.exit_code == 2


async def test_outside_development_the_demo_makes_and_prints_no_sign_ins(
    own_cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFELINE_ENV", "production")
    get_settings.cache_clear()
    output = await _demo()
    assert not ROW.findall(output) and "otpauth://" not in output and "demo-" not in output
    assert "none: LIFELINE_ENV is production" in output
    assert len(TOKEN.findall(output)) == 6
    assert await _counts(own_cli_env) == (0, 0)
    refused = await run_cli(["user", "totp", "consul@phl-embassy-kl.example"])
    assert refused.exit_code == 2 and "development only" in refused.output
