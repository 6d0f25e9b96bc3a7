"""``lifeline user create|list|disable``: the operator's way to the first administrator."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.conftest import OrgFactory, run_cli, unique
from tests.service.users.helpers import browser, enrol, make_person, post_password


@pytest.mark.usefixtures("cli_env")
async def test_user_create_prints_a_one_time_password_that_signs_in(
    app: FastAPI, make_org: OrgFactory
) -> None:
    org = await make_org()
    email = f"{unique('first-admin')}@example.org"
    args = ["user", "create", "--org", org, "--role", "admin", "--email", email, "--name", "Ada"]
    made = await run_cli(args)
    assert made.exit_code == 0, made.output
    password = made.stdout.strip().splitlines()[-1]
    assert len(password) >= 16
    async with browser(app) as console:
        assert (await post_password(console, email, password)).status_code == 303
    again = await run_cli(args)
    assert again.exit_code == 0 and "unchanged" in again.stderr
    assert again.stdout.strip() == ""


@pytest.mark.usefixtures("cli_env")
async def test_user_create_takes_the_password_from_stdin(
    app: FastAPI, make_org: OrgFactory
) -> None:
    org = await make_org()
    email = f"{unique('ops')}@example.org"
    args = ["user", "create", "--org", org, "--role", "viewer", "--email", email, "--name", "Ops"]
    made = await run_cli([*args, "--password-stdin"], input="a chosen long password\n")
    assert made.exit_code == 0, made.output
    assert "a chosen long password" not in made.stdout
    async with browser(app) as console:
        assert (await post_password(console, email, "a chosen long password")).status_code == 303
    short = ["user", "create", "--org", org, "--role", "viewer", "--email", "x" + email]
    refused = await run_cli([*short, "--name", "X", "--password-stdin"], input="short\n")
    assert refused.exit_code == 2 and "at least 12" in refused.stderr
    integration = await run_cli(
        [
            "user",
            "create",
            "--org",
            org,
            "--role",
            "integration",
            "--email",
            "y" + email,
            "--name",
            "Y",
        ]
    )
    assert integration.exit_code == 2 and "token" in integration.stderr


@pytest.mark.usefixtures("cli_env")
async def test_user_list_and_disable(app: FastAPI, make_org: OrgFactory) -> None:
    org = await make_org()
    person = await make_person(app, org)
    async with browser(app) as console:
        await enrol(console, person)
        listed = await run_cli(["user", "list", "--org", org])
        assert listed.exit_code == 0, listed.output
        assert person.id in listed.stdout and person.email in listed.stdout
        assert "yes" in listed.stdout  # the second factor is set up
        disabled = await run_cli(["user", "disable", person.id])
        assert disabled.exit_code == 0 and f"disabled {person.id}" in disabled.stdout
        assert (await console.get("/api/v1/organizations")).status_code == 401
    missing = await run_cli(["user", "disable", unique()])
    assert missing.exit_code == 2
