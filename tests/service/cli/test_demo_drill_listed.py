"""After the demo, its drill is in ``GET /api/v1/crises`` for every role that reads crises,
marked as one, and the demo says so and how to see it."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from tests.conftest import settings_for

runner = CliRunner()


@pytest.mark.usefixtures("own_cli_env")
async def test_the_demo_s_drill_is_listed_and_the_demo_says_how_to_see_it(
    own_database_url: str,
) -> None:
    ran = await asyncio.to_thread(runner.invoke, cli, ["demo", "--no-serve", "--people", "600"])
    assert ran.exit_code == 0, ran.output
    crisis = re.search(r"GET /api/v1/crises/([0-9a-f-]{36})/tasks", ran.output)
    assert crisis is not None, ran.output
    assert "GET /api/v1/crises lists it" in ran.output
    tokens = dict(re.findall(r"^(\w+) +\S+ +(ll_\S+)$", ran.output, re.MULTILINE))
    app = create_app(settings_for(own_database_url), configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for role in ("admin", "coordinator", "consular_officer", "society_responder", "viewer"):
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                listed = (await client.get("/api/v1/crises", headers=headers)).json()["items"]
                assert [(c["id"], c["exercise"]) for c in listed] == [(crisis[1], True)], role
                real = await client.get("/api/v1/crises?exercises=false", headers=headers)
                assert real.json()["items"] == [], role
