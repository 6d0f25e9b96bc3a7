"""The command line: an organisation and a token made with it work through the API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import run_cli, unique


async def test_org_and_token_from_the_cli_then_the_api(
    cli_env: str, client: httpx.AsyncClient
) -> None:
    slug = unique("phl-embassy-kl")
    made = await run_cli(
        ["org", "create", "--slug", slug, "--name", "Embassy of the Philippines, Kuala Lumpur",
         "--kind", "embassy", "--country", "MYS", "--represents", "PHL",
         "--jurisdiction", "MYS,BRN"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    org = json.loads(made.output)
    assert (org["slug"], org["represents"], org["jurisdiction"]) == (slug, "PHL", ["BRN", "MYS"])

    issued = await run_cli(["token", "create", "--org", slug, "--role", "consular_officer"])
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert token.startswith("ll_")

    auth = {"Authorization": f"Bearer {token}"}
    read = await client.get(f"/api/v1/organizations/{slug}", headers=auth)
    assert read.status_code == 200 and read.json()["slug"] == slug
    assert (await client.get("/api/v1/organizations")).status_code == 401


async def test_cli_refuses_bad_input_cleanly(cli_env: str) -> None:
    bad = await run_cli(
        [
            "org",
            "create",
            "--slug",
            unique("x"),
            "--name",
            "X org",
            "--kind",
            "embassy",
            "--country",
            "XXX",
        ],
    )
    assert bad.exit_code == 2
    assert "country" in bad.output
    assert "Traceback" not in bad.output
    missing = await run_cli(["token", "create", "--org", "no-such-org", "--role", "viewer"])
    assert missing.exit_code == 2
    assert "no-such-org" in missing.output


async def test_demo_seeds_once_and_prints_tokens(own_cli_env: str) -> None:
    first = await run_cli(["demo", "--no-serve", "--people", "1500"])
    assert first.exit_code == 0, first.output
    again = await run_cli(["demo", "--no-serve", "--people", "1500"])
    assert again.exit_code == 0, again.output
    assert "0 organisations created" in again.output
    assert "0 workers registered, 1,500 already there" in again.output
    assert "Flood over the Klang Valley" in again.output
    assert "Drill: a CAP flood warning" in again.output and "exercise only" in again.output
    assert "coverage gaps" in again.output
    assert again.output.count("ll_") >= 6


async def test_import_workers_from_a_file_with_old_mac_line_ends(
    cli_env: str, tmp_path: Path
) -> None:
    """A spreadsheet saved as "CSV (Macintosh)" ends its lines with a lone CR: every row is
    read, and the same file twice creates nothing new."""
    from tests.service.registry.test_register_import import HEADER, good_rows

    path = tmp_path / "register.csv"
    path.write_bytes("\r".join([HEADER, *good_rows(unique("MAC"))]).encode() + b"\r")
    first = await run_cli(["import", "workers", str(path)])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["created"], report["rejected"]) == (3, 0), report
    again = json.loads((await run_cli(["import", "workers", str(path)])).stdout)
    assert (again["created"], again["unchanged"]) == (0, 3)
