"""A file missing several required columns is refused with all of them named, through the
command line and the API alike."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.auth.permissions import Role
from tests.conftest import TokenFactory, bearer, run_cli

#: A header without lat and lon.
HEADER = "nationality,given_name,family_name,sex"
CONTENT = f"{HEADER}\nPHL,Maria,Santos,F\n".encode()


@pytest.mark.usefixtures("cli_env")
async def test_the_cli_names_every_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(CONTENT)
    ran = await run_cli(["import", "workers", str(path)], terminal_width=200)
    assert ran.exit_code == 2
    assert "'lat', 'lon'" in ran.output, ran.output


async def test_the_api_names_every_missing_column(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = await make_token(Role.ADMIN)
    response = await client.post(
        "/api/v1/workers/import",
        files={"file": ("workers.csv", CONTENT, "text/csv")},
        headers=bearer(token),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "'lat', 'lon'" in problem["detail"]
    assert [e["msg"] for e in problem["errors"]] == [
        "missing column lat",
        "missing column lon",
    ]
