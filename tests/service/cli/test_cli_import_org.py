"""An import on the command line for an organisation: its registrations are that organisation's,
made with the rights its own administrator has through the API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlmodel import col, select
from typer.testing import CliRunner

from service.auth.permissions import Role
from service.auth.service import acting_for
from service.cli import app as cli
from service.db import make_engine, make_sessionmaker, session_scope
from service.directory.models import Organization
from service.registry.models import Worker
from tests.conftest import unique
from tests.service.registry.test_register_import import csv_file, good_rows

runner = CliRunner()


def test_the_operator_acting_for_an_organisation_has_its_rights() -> None:
    org = Organization(
        id="o1",
        slug="khm-embassy-kl",
        name="Embassy of Cambodia, Kuala Lumpur",
        kind="embassy",
        country="MYS",
        represents="KHM",
        acts_for=["LAO"],
        jurisdiction=["MYS", "BRN"],
    )
    operator = acting_for(org, role=Role.ADMIN, channel="cli")
    assert (operator.organization_id, operator.role, operator.channel) == ("o1", Role.ADMIN, "cli")
    assert operator.token_id is None
    assert operator.nationalities == {"KHM", "LAO"}
    assert operator.covers == {"MYS", "BRN"}


async def test_an_import_for_an_organisation_registers_for_it(cli_env: str, tmp_path: Path) -> None:
    slug = unique("mys-red-crescent")
    made = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["org", "create", "--slug", slug, "--name", "Malaysian Red Crescent Society",
         "--kind", "national_society", "--country", "MYS"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    org_id = json.loads(made.output)["id"]
    file = tmp_path / "workers.csv"
    file.write_bytes(csv_file(good_rows(unique("cli"))))

    imported = await asyncio.to_thread(
        runner.invoke, cli, ["import", "workers", str(file), "--org", slug]
    )
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.output[imported.output.index("{") :])
    assert (report["created"], report["rejected"]) == (3, 0), report

    engine = make_engine(cli_env)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            mine = await session.exec(select(Worker).where(col(Worker.registered_by) == org_id))
            assert len(mine.all()) == 3
    finally:
        await engine.dispose()
