"""``lifeline token list``: the ids ``token revoke`` takes, never a secret nor its hash."""

from __future__ import annotations

import pytest

from service.auth.service import hash_token
from tests.conftest import run_cli, unique

pytestmark = pytest.mark.usefixtures("cli_env")


async def _ok(*args: str) -> str:
    ran = await run_cli(args)
    assert ran.exit_code == 0, ran.output
    return ran.output


def _rows(output: str) -> dict[str, str]:
    """Table rows by token id (the first cell)."""
    return {
        cells[0]: line
        for line in output.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) > 1
        and len(cells[0]) == 36
    }


async def test_token_list_shows_ids_to_revoke_and_hides_revoked_ones() -> None:
    slug = unique("org")
    other = unique("org")
    for s in (slug, other):
        await _ok("org", "create", "--slug", s, "--name", "Test organisation", "--kind", "embassy",
            "--country", "MYS", "--represents", "PHL")  # fmt: skip
    kept = (
        await _ok("token", "create", "--org", slug, "--role", "viewer", "--name", "kept")
    ).strip()
    gone = (await _ok("token", "create", "--org", slug, "--role", "coordinator")).strip()
    await _ok("token", "create", "--org", other, "--role", "viewer")

    listed = _rows(await _ok("token", "list", "--org", slug))
    assert len(listed) == 2
    (gone_id,) = [i for i, line in listed.items() if "coordinator" in line]
    (kept_id,) = [i for i, line in listed.items() if "viewer" in line]
    assert slug in listed[kept_id] and "kept" in listed[kept_id] and kept[:9] in listed[kept_id]

    await _ok("token", "revoke", gone_id)
    live = await _ok("token", "list", "--org", slug)
    assert set(_rows(live)) == {kept_id}
    everything = await _ok("token", "list", "--org", slug, "--all")
    assert set(_rows(everything)) == {kept_id, gone_id}
    assert _rows(everything)[gone_id].rstrip(" │").endswith(tuple("0123456789"))  # revoked at

    every_org = await _ok("token", "list")
    assert kept_id in _rows(every_org) and other in every_org
    for output in (live, everything, every_org):
        for secret in (kept, gone):
            assert secret not in output and hash_token(secret) not in output


async def test_token_list_of_an_unknown_organisation_fails_cleanly() -> None:
    ran = await run_cli(["token", "list", "--org", "no-such-org"])
    assert ran.exit_code == 2
    assert "no-such-org" in ran.output and "Traceback" not in ran.output
