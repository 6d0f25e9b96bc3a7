"""A table download says how many rows it holds and whether the list was longer, and is
audited with its scope and row count, never its rows' content."""

from __future__ import annotations

import httpx
import pytest

from service.auth.permissions import Role
from tests.conftest import OrgFactory, TokenFactory, bearer
from tests.service.exports.test_security_csv import FORMULAS, read, tasks


async def test_a_download_says_its_size_and_is_audited(
    client: httpx.AsyncClient,
    make_org: OrgFactory,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.tasks import router

    await tasks(client, make_org, make_token)
    admin = bearer(await make_token(Role.ADMIN))
    whole = await client.get("/api/v1/tasks", params={"format": "csv"}, headers=admin)
    written = int(whole.headers["lifeline-written"])
    assert written == len(read(whole.text)) >= len(FORMULAS)
    assert "lifeline-truncated" not in whole.headers
    monkeypatch.setattr(router, "CSV_LIMIT", 2)
    cut = await client.get(
        "/api/v1/tasks", params={"format": "xlsx", "status": "open"}, headers=admin
    )
    assert cut.headers["lifeline-written"] == "2"
    assert "2 rows at most" in cut.headers["lifeline-truncated"]
    log = await client.get("/api/v1/audit", params={"action": "tasks.exported"}, headers=admin)
    [last, first] = [e["detail"] for e in log.json()["items"][:2]]
    assert first == {"format": "csv", "rows": written, "scope": {"handed_off": False}}
    assert last == {"format": "xlsx", "rows": 2, "scope": {"status": "open", "handed_off": False}}


async def test_a_workbook_given_up_on_leaves_no_rows_on_disk() -> None:
    """openpyxl keeps a write-only sheet's rows in a temporary file until the workbook is
    saved: a download that fails or is dropped before that removes it at once."""
    import asyncio
    import os

    from openpyxl.worksheet import _writer

    from service.exports import xlsx

    before = set(_writer.ALL_TEMP_FILES)
    made: list[str] = []

    async def batches():  # type: ignore[no-untyped-def]
        yield [["Siti", "+60123456789"]]
        yield [["Dewi", "+60123456780"]]
        # By now the sheet holds the first rows in its file.
        made.extend(set(_writer.ALL_TEMP_FILES) - before)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        async for _ in xlsx.batched_chunks(["given_name", "phone"], batches()):
            pass
    assert made, "the sheet kept no file: nothing was tested"
    assert not set(_writer.ALL_TEMP_FILES) - before
    assert not [p for p in made if await asyncio.to_thread(os.path.exists, p)]
