"""Hostile registrations and import files: oversized cells, control characters, and people that
nothing identifies (two of them standing in one place are two people)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.auth.principal import Principal
from service.db import session_scope
from service.errors import InvalidInput
from service.registry.bulk import import_workers
from service.registry.bulk_files import MAX_CELL
from service.registry.bulk_store import ImportReport
from service.registry.locate import default_locator
from service.registry.protect import Protector
from service.registry.rows import Columns, clean_cells
from tests.conftest import OrgFactory, TokenFactory, bearer, run_cli, unique
from tests.service.registry.test_import_rows import BASE, EXTRA, slow
from tests.service.registry.test_register_import import (
    HEADER,
    consular,
    csv_file,
    good_rows,
    upload,
)
from tests.service.tasks.test_tasks import ZONE

BIG = "x" * 140_000
ANONYMOUS = "PHL,,,,,,,,,,3.1412,101.6861,0,,,,,ministry_import"


def big_row_file(prefix: str) -> bytes:
    """Good rows 2 and 5; a 140 kB cell in row 3 (unquoted) and in row 4 (quoted, over lines)."""
    rows = good_rows(prefix)
    return csv_file(
        [
            rows[0],
            rows[1].replace("Jose", BIG),
            rows[2].replace("Ana", '"' + BIG + "\n" + BIG + '"'),
            rows[2].replace(f"{prefix}-3", f"{prefix}-4"),
        ]
    )


def big_header_file(prefix: str) -> bytes:
    return csv_file(good_rows(prefix), header=HEADER + "," + BIG)


def assert_refused_rows(report: dict[str, object]) -> None:
    assert (report["created"], report["rejected"]) == (2, 2), report
    errors = report["errors"]
    assert isinstance(errors, list)
    by_row = {e["row"]: e["msg"] for e in errors}
    assert set(by_row) == {3, 4}
    assert all(f"{MAX_CELL:,} characters" in msg for msg in by_row.values())


async def test_an_oversized_cell_refuses_its_row_and_an_oversized_header_the_file(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    answer = await upload(client, token, big_row_file(unique("BIG")))
    assert answer.status_code == 200, answer.text
    assert_refused_rows(answer.json())
    header = await upload(client, token, big_header_file(unique("BIGH")))
    assert header.status_code == 422, header.text
    assert f"{MAX_CELL:,} characters" in header.json()["detail"]
    assert header.json()["errors"][0]["loc"] == ["body", "file", "header"]


async def run_import(app: FastAPI, content: bytes, processes: int) -> ImportReport:
    """An import as the CLI runs it; ``processes`` 1: the process-pool path of large files."""
    async with session_scope(app.state.sessionmaker) as session:
        return await import_workers(
            session,
            actor=Principal.system("cli"),
            protector=Protector.from_settings(app.state.settings),
            locator=default_locator(),
            content=content,
            filename="workers.csv",
            processes=processes,
        )


async def test_oversized_cells_in_worker_processes(app: FastAPI) -> None:
    """The process-pool path (large files) reads the same pieces the same way."""
    for processes in (0, 1):
        report = await run_import(app, big_row_file(unique("POOL")), processes)
        assert_refused_rows(report.__dict__)
        with pytest.raises(InvalidInput, match=f"{MAX_CELL:,} characters"):
            await run_import(app, big_header_file(unique("POOLH")), processes)


async def test_the_cli_says_the_same(cli_env: str, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_bytes(big_row_file(unique("CLI")))
    done = await run_cli(["import", "workers", str(rows)])
    assert done.exit_code == 0, done.output
    assert_refused_rows(json.loads(done.stdout))
    header = tmp_path / "header.csv"
    header.write_bytes(big_header_file(unique("CLIH")))
    refused = await run_cli(["import", "workers", str(header)])
    assert refused.exit_code == 2
    assert f"{MAX_CELL:,}" in refused.output and "header" in refused.output


CONTROLS = ["Ma\x00ria", "Ma\x1bria", "Ma\x7fria", "Ma\x07ria", "Ma\tria", "Ma\nria"]


async def test_control_characters_are_refused_in_registrations(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = bearer(await make_token())
    for field in ("given_name", "family_name", "employer", "document_number"):
        for value in CONTROLS:
            answer = await client.post(
                "/api/v1/workers",
                json={
                    "nationality": "PHL",
                    "location": {"lat": 3.14, "lon": 101.69},
                    "source": "self",
                    field: value + unique(),
                },
                headers=token,
            )
            assert answer.status_code == 422, (field, value, answer.text)
            assert answer.json()["errors"][0]["loc"][-1] == field
            assert "control character U+" in answer.text


async def test_control_characters_are_refused_in_an_import(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    token = await consular(make_org, make_token)
    prefix = unique("NUL")
    good, *_ = good_rows(prefix)
    rows = [
        good,
        good.replace("Maria", "Ma\x00ria").replace(f"{prefix}-1", f"{prefix}-2"),
        good.replace("Santos", "San\x1btos").replace(f"{prefix}-1", f"{prefix}-3"),
        good.replace(f"{prefix}-1", f"{prefix}\x00-4"),
    ]
    answer = await upload(client, token, csv_file(rows))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["created"], report["rejected"]) == (1, 3), report
    by_row = {e["row"]: e["msg"] for e in report["errors"]}
    assert "given_name" in by_row[3] and "U+0000" in by_row[3]
    assert "family_name" in by_row[4] and "U+001B" in by_row[4]
    assert "document_number" in by_row[5] and "U+0000" in by_row[5]


def test_the_fast_path_leaves_control_characters_to_workercreate() -> None:
    header = [*HEADER.split(","), *EXTRA.split(",")]
    for name in ("given_name", "family_name", "employer", "document_number"):
        for value in CONTROLS:
            cells = [BASE[h] for h in header]
            cells[header.index(name)] = value
            assert clean_cells(cells, Columns.of(header), date.today()) is None
            assert slow(header, cells) is None, (name, value)


async def test_free_text_keeps_tabs_and_line_ends_and_nothing_else(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    from service.auth.permissions import Role
    from service.directory.models import OrgKind

    coordinator = bearer(await make_token(Role.COORDINATOR))
    org = await make_org(OrgKind.NATIONAL_SOCIETY, "MYS")
    title = "Control \x00 characters"
    crisis = await client.post(
        "/api/v1/crises",
        json={"title": title, "hazard": "flood", "severity": "minor", "zones": ZONE},
        headers=coordinator,
    )
    assert crisis.status_code == 422, crisis.text
    crisis = await client.post(
        "/api/v1/crises",
        json={"title": unique("Ctl"), "hazard": "flood", "severity": "minor", "zones": ZONE},
        headers=coordinator,
    )
    assert crisis.status_code == 201, crisis.text
    task = {"crisis_id": crisis.json()["id"], "assignee_org": org, "title": "Call the shelter"}
    kept = await client.post(
        "/api/v1/tasks", json={**task, "description": "1.\tCall\r\n2.\tWrite"}, headers=coordinator
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["description"] == "1.\tCall\r\n2.\tWrite"
    for bad in ({"description": "bell\x07"}, {"title": "Call\x00 the shelter"}):
        refused = await client.post("/api/v1/tasks", json={**task, **bad}, headers=coordinator)
        assert refused.status_code == 422, refused.text
        assert "control character" in refused.text


async def test_two_anonymous_people_in_one_place_are_two_people(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = bearer(await make_token())
    body = {"nationality": "PHL", "location": {"lat": 3.1411, "lon": 101.6862}, "source": "self"}
    first = await client.post("/api/v1/workers", json=body, headers=token)
    second = await client.post("/api/v1/workers", json=body, headers=token)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.json()["id"] != second.json()["id"]
    # Where something identifies the person, the same person twice is still a 409.
    for who, why in (
        ({"document_number": unique("D")}, "same document number and nationality"),
        (
            {"given_name": unique("G"), "family_name": "Cruz", "birth_date": "1991-03-04"},
            "same names, birth date and nationality",
        ),
    ):
        once = await client.post("/api/v1/workers", json={**body, **who}, headers=token)
        twice = await client.post("/api/v1/workers", json={**body, **who}, headers=token)
        assert (once.status_code, twice.status_code) == (201, 409), twice.text
        assert why in twice.json()["detail"]


async def test_an_anonymous_file_twice_changes_nothing_the_second_time(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    """Anonymous rows are people of their own, within the file and against the register; the
    same file twice is recognised (row by row), on the thread and the process-pool paths."""
    token = await consular(make_org, make_token)
    named = good_rows(unique("ANON"))[0]
    content = csv_file([ANONYMOUS, ANONYMOUS, named, named, ANONYMOUS])
    first = (await upload(client, token, content)).json()
    assert (first["created"], first["rejected"]) == (4, 1), first
    assert [e["row"] for e in first["errors"]] == [5]  # the named person, repeated
    again = (await upload(client, token, content)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4), again
    # Another file with the same anonymous rows: other people (the named one is known).
    other = (await upload(client, token, content + ANONYMOUS.encode() + b"\n")).json()
    assert (other["created"], other["unchanged"]) == (4, 1), other
    pooled = csv_file([ANONYMOUS, ANONYMOUS, ANONYMOUS.replace(",,3.1", f",{unique('E')},3.1")])
    for expected in ((3, 0), (0, 3)):
        report = await run_import(app, pooled, processes=1)
        assert (report.created, report.unchanged) == expected, report
