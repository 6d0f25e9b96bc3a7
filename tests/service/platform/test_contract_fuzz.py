"""Schemathesis over the whole OpenAPI document, against a live server seeded with a little
data: every operation, every check, with an administrator's token (every phase: examples,
coverage, fuzzing, stateful) and with a consular officer's.

Bounded to fit a suite run: a fixed seed, a few examples an operation, on PostgreSQL; the
officer's run leaves out the coverage phase, whose boundary values a 403 answers before they are
read. A longer run (CONTRIBUTING.md) sets ``LIFELINE_FUZZ_EXAMPLES`` (every phase for both
roles then), ``LIFELINE_FUZZ_SEED``, ``LIFELINE_FUZZ_BACKENDS`` (``postgresql,sqlite``). What a
check is told to expect beyond its defaults, and why, is in ``schemathesis.toml`` beside this
file; the hooks in ``fuzz_hooks.py``.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from service.app import create_app
from service.auth.permissions import Role
from service.db import make_engine
from service.directory.models import OrgKind
from service.webhooks.models import WebhookDelivery
from tests.conftest import Databases, bearer, make_org_in, make_token_in, settings_for

LONG = "LIFELINE_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("LIFELINE_FUZZ_EXAMPLES", "3"))
SEED = int(os.environ.get("LIFELINE_FUZZ_SEED", "1"))
BACKENDS = os.environ.get("LIFELINE_FUZZ_BACKENDS", "postgresql").split(",")
#: Concurrent requests of the fuzzer: the server, not the fuzzer, is the bound.
WORKERS = os.environ.get("LIFELINE_FUZZ_WORKERS", "4")
ALL_PHASES = "examples,coverage,fuzzing,stateful"
PHASES = {
    Role.ADMIN: ALL_PHASES,
    Role.CONSULAR_OFFICER: ALL_PHASES if LONG else "examples,fuzzing,stateful",
}
CONFIG = Path(__file__).with_name("schemathesis.toml")
ROOT = Path(__file__).parents[3]
#: The longest the run may take: a hang fails the test instead of the suite's time budget.
TIMEOUT_S = float(os.environ.get("LIFELINE_FUZZ_TIMEOUT_S", str(max(600, EXAMPLES * 60))))

KUALA_LUMPUR = (3.139, 101.6869)
#: A square around Kuala Lumpur, where the seeded workers are.
KL_ZONE = {
    "type": "Polygon",
    "coordinates": [
        [
            [101.6, 3.05],
            [101.8, 3.05],
            [101.8, 3.25],
            [101.6, 3.25],
            [101.6, 3.05],
        ]
    ],
}


@dataclass(frozen=True)
class Live:
    url: str
    database_url: str
    #: The organisation of each role's tokens.
    organizations: dict[Role, str]


class Offline(httpx.AsyncBaseTransport):
    """Every outbound call of the server under test fails as an unreachable host would: a
    drill never reaches a real feed, gateway or receiver."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"offline drill: {request.url.host} not called", request=request)


#: Where every host name of a webhook the fuzzer registers resolves: TEST-NET-1 (RFC 5737),
#: reserved for documentation and never routed. The server allows it, so that subscriptions
#: are made and the stateful phase finds them; nothing is sent there (the API never delivers,
#: the worker does, and it does not run here; the test checks that no delivery was made).
DRILL_NETWORK = "192.0.2.0/24"


async def resolve_to_drill_network(host: str, port: int) -> list[str]:
    return ["192.0.2.1"]


async def seed(app: FastAPI) -> dict[Role, str]:
    """An embassy with a consular officer, an administrator, a few workers in Kuala Lumpur, a
    crisis over them and tasks in it: real ids for the stateful phase to find. Answers the
    organisation of each role."""
    agency = await make_org_in(app)
    admin = await make_token_in(app, Role.ADMIN, agency)
    embassy = await make_org_in(app, OrgKind.EMBASSY, "MYS", represents="PHL")
    officer = await make_token_in(app, Role.CONSULAR_OFFICER, embassy)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as client:
        for i in range(4):
            made = await client.post(
                "/api/v1/workers",
                json={
                    "nationality": "PHL",
                    "given_name": f"Worker {i}",
                    "document_number": f"PF{i:06d}",
                    "location": {"lat": KUALA_LUMPUR[0] + i / 100, "lon": KUALA_LUMPUR[1]},
                    "source": "embassy_registration",
                },
                headers=bearer(officer),
            )
            assert made.status_code == 201, made.text
        crisis = await client.post(
            "/api/v1/crises",
            json={
                "title": "Flood drill in Kuala Lumpur",
                "hazard": "flood",
                "severity": "severe",
                "exercise": True,
                "zones": KL_ZONE,
            },
            headers=bearer(admin),
        )
        assert crisis.status_code == 201, crisis.text
        for title in ("Call the workers", "Book the shelter"):
            task = await client.post(
                "/api/v1/tasks",
                json={
                    "crisis_id": crisis.json()["id"],
                    "title": title,
                    "assignee_org": embassy,
                },
                headers=bearer(admin),
            )
            assert task.status_code == 201, task.text
    return {Role.ADMIN: agency, Role.CONSULAR_OFFICER: embassy}


@asynccontextmanager
async def live_server(database_url: str) -> AsyncIterator[Live]:
    """The app on ``database_url``, seeded, served on a free port of the loopback by uvicorn on
    the suite's event loop."""
    settings = settings_for(database_url).model_copy(update={"webhook_allow_hosts": DRILL_NETWORK})
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        await app.state.http.aclose()
        app.state.http = httpx.AsyncClient(transport=Offline())
        app.state.resolver = resolve_to_drill_network
        organizations = await seed(app)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        )
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            # uvicorn says it listens by a flag only.
            while not server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            yield Live(
                url=f"http://127.0.0.1:{port}",
                database_url=database_url,
                organizations=organizations,
            )
        finally:
            server.should_exit = True
            await serving
            sock.close()


@pytest.fixture(scope="module", params=BACKENDS)
async def live(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Live]:
    async with live_server(await databases.create(str(request.param).strip())) as server:
        yield server


def command(live: Live, role: Role) -> list[str]:
    """The ``st run`` of one role: all checks."""
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        PHASES[role],
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--workers",
        WORKERS,
    ]


@pytest.mark.fuzz
@pytest.mark.parametrize("role", [Role.ADMIN, Role.CONSULAR_OFFICER])
async def test_the_whole_document_holds_under_schemathesis(
    live: Live, role: Role, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.service.platform.fuzz_hooks",
        "LIFELINE_FUZZ_DATABASE_URL": live.database_url,
        "LIFELINE_FUZZ_ORGANIZATION": live.organizations[role],
        "LIFELINE_FUZZ_ROLE": role.value,
    }
    run = await asyncio.create_subprocess_exec(
        *command(live, role),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    out, _ = await asyncio.wait_for(run.communicate(), TIMEOUT_S)
    text = out.decode(errors="replace")
    assert run.returncode == 0, text
    tested = re.search(r"Tested: +(\d+)", text)
    generated = re.search(r"(\d+) generated", text)
    assert tested and generated, text
    # The run's figures, for `pytest -s`.
    print(f"\n{role}: {tested[1]} operations, {generated[1]} requests generated")
    # Nothing the fuzzer subscribed was sent anywhere: no delivery was even attempted.
    engine = make_engine(live.database_url)
    try:
        async with engine.connect() as connection:
            delivered = await connection.scalar(select(func.count()).select_from(WebhookDelivery))
    finally:
        await engine.dispose()
    assert delivered == 0
