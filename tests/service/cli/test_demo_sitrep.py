"""`lifeline demo` writes its drill's situation report as a PDF beside the embedded database:
where, and that it is a PDF of the crisis, on both databases."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from service.demo.run import beside_database, write_sitrep
from tests.conftest import bearer, make_org_in, make_token_in, unique


def test_the_report_goes_beside_the_embedded_database() -> None:
    assert beside_database("sqlite+aiosqlite:////srv/lifeline/lifeline.db") == Path("/srv/lifeline")
    assert beside_database("postgresql+asyncpg://db/lifeline") is None
    assert beside_database("sqlite+aiosqlite:///:memory:") is None


async def test_the_drill_s_report_is_written_as_a_pdf(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = await make_token_in(app, Role.COORDINATOR, await make_org_in(app))
    ring = [[101.6, 3.1], [101.7, 3.1], [101.7, 3.2], [101.6, 3.2], [101.6, 3.1]]
    crisis = await client.post(
        "/api/v1/crises",
        json={"title": unique("Drill flood"), "hazard": "flood", "severity": "severe",
              "exercise": True, "zones": {"type": "Polygon", "coordinates": [ring]}},
        headers=bearer(token),
    )  # fmt: skip
    assert crisis.status_code == 201, crisis.text
    where = await write_sitrep(
        app.state.sessionmaker, crisis_id=crisis.json()["id"], directory=tmp_path, threshold=5
    )
    assert where.parent == tmp_path and where.name.startswith(f"sitrep-{crisis.json()['id']}-")
    assert where.read_bytes().startswith(b"%PDF")
