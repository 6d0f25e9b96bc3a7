"""The demo's output: real coverage gaps with the right count, tokens revoked on a re-run, a
"Try:" that copies whole from an 80-column terminal."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select

from service.app import create_app
from service.db import make_engine, make_sessionmaker, session_scope
from service.demo.scenarios import coverage_gaps
from service.tasks.models import Task
from tests.conftest import run_cli, settings_for

pytestmark = pytest.mark.usefixtures("own_cli_env")


async def _demo() -> str:
    ran = await run_cli(["demo", "--no-serve", "--people", "1500"])
    assert ran.exit_code == 0, ran.output
    return ran.output


def _tokens(output: str) -> list[str]:
    return re.findall(r"^\S+\s+\S+\s+(ll_\S+)$", output, flags=re.MULTILINE)


async def _statuses(database_url: str, tokens: list[str]) -> list[int]:
    app = create_app(settings_for(database_url), configure_logs=False)
    async with app.router.lifespan_context(app):
        # Stopping the app while its index still loads would leave a query running.
        await app.state.register_index.ready.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return [
                (
                    await c.get("/api/v1/crises", headers={"Authorization": f"Bearer {t}"})
                ).status_code
                for t in tokens
            ]


async def _gap_tasks(database_url: str, crisis_id: str) -> int:
    engine = make_engine(database_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            rows = await session.exec(select(Task).where(Task.crisis_id == crisis_id))
            return sum(t.coverage_gap for t in rows.all())
    finally:
        await engine.dispose()


async def test_a_rerun_revokes_the_tokens_of_the_run_before(own_cli_env: str) -> None:
    cli_env = own_cli_env
    first = _tokens(await _demo())
    second_output = await _demo()
    second = _tokens(second_output)
    assert len(first) == len(second) == 6
    assert not set(first) & set(second)
    assert await _statuses(cli_env, first) == [401] * 6
    assert all(s in {200, 403} for s in await _statuses(cli_env, second))
    assert await _statuses(cli_env, second[:1]) == [200]  # the admin's

    # The drill lists coverage gaps only, one line each, and counts them right.
    lines = second_output.splitlines()
    crisis_id = re.search(r"\(([0-9a-f-]{36})\); \d+ tasks", second_output.replace("\n", " "))
    assert crisis_id is not None
    at = next(i for i, line in enumerate(lines) if line.startswith("coverage gaps"))
    heading = re.fullmatch(r"coverage gaps \(.*\): (\d+), in (\d+) tasks left to the coordinators",
                           lines[at])  # fmt: skip
    assert heading is not None, lines[at]
    listed = []
    for line in lines[at + 1 :]:
        if not line.startswith("  "):
            break
        listed.append(line)
    assert len(listed) == int(heading[1]) > 0
    assert all(re.fullmatch(r"  no [a-z ]+ for .+ \(\d+ tasks?\)", line) for line in listed), listed
    assert sum(int(re.search(r"\((\d+) tasks?\)$", line)[1]) for line in listed) == int(heading[2])  # type: ignore[index]
    assert int(heading[2]) == await _gap_tasks(cli_env, crisis_id[1])
    # Myanmar's embassy is left out of the demo's directory on purpose.
    assert "  no embassy for MMR in MYS" in "\n".join(listed)

    # "Try:" is a token line and a curl of lines under 80 columns each.
    tried = lines[lines.index("Try:") + 1 :]
    assert tried[0] == f"TOKEN={second[0]}"
    assert all(len(line) < 80 for line in tried)
    assert '"Authorization: Bearer $TOKEN"' in tried[1]


def test_gaps_are_one_per_role_and_scope() -> None:
    gaps = coverage_gaps(
        [
            ("response-core.hotline@MMR@MYS", "embassy", True),
            ("response-core.contact@MMR@MYS", "embassy", True),
            ("response-core.contact@PHL@MYS", "embassy", False),
            ("cyclone.shelters@MY-10", "host_authority", True),
            ("core.sitrep", "coordinator", False),
            ("core.appeal", "national_society_host", True),
        ]
    )
    assert [str(g) for g in gaps] == [
        "no embassy for MMR in MYS (2 tasks)",
        "no host authority for Selangor (MY-10) (1 task)",
        "no national society host for the crisis (1 task)",
    ]
