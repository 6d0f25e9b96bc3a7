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
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.auth.permissions import Role
from service.db import make_engine
from service.webhooks.models import WebhookDelivery
from tests.conftest import Databases
from tests.live import Live, live_server

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


@pytest.fixture(scope="module", params=BACKENDS)
async def live(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Live]:
    async with live_server(await databases.create(str(request.param).strip())) as server:
        yield server


def command(live: Live, role: Role, workers: str = WORKERS) -> list[str]:
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
        workers,
    ]


def only_the_fuzzer_broke(text: str) -> bool:
    """A run whose only failures are the fuzzer's own errors (its generator, with several
    workers, has raised KeyError and SystemError from shared caches), no check failed."""
    return "❌" not in text and "🚫" in text


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
        "LIFELINE_FUZZ_ORGANIZATION": live.seeded.organizations[role],
        "LIFELINE_FUZZ_ROLE": role.value,
    }

    async def fuzz(workers: str) -> tuple[int | None, str]:
        run = await asyncio.create_subprocess_exec(
            *command(live, role, workers),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        out, _ = await asyncio.wait_for(run.communicate(), TIMEOUT_S)
        return run.returncode, out.decode(errors="replace")

    returncode, text = await fuzz(WORKERS)
    if returncode != 0 and only_the_fuzzer_broke(text):
        # Once more, one worker: the same seed, without the fuzzer's races. A failed check is
        # never run again.
        print(f"\n{role}: the fuzzer broke on its own; once more with one worker\n{text[-2000:]}")
        returncode, text = await fuzz("1")
    assert returncode == 0, text
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
