"""A gate's checks sent back as a CSV file, on both databases: rows applied through the same check
as one person's (an arrival home opens the reception tasks), all or nothing (a file with a bad
row changes nothing and says which rows and why, without repeating what they held), the same
file again changes nothing and says so, and a manifest's CSV read back with the check given
once."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.db import session_scope
from service.repatriation.models import Seat
from service.tasks.models import Task
from tests.service.repatriation.test_repatriation import (
    consent,
    home,  # noqa: F401 (the fixture)
    movement,
    open_case,
    raise_level,
    seat,
    who,
)


async def booked(home: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Three people on a two-leg movement, and a fourth with a case and no seat."""
    await raise_level(home, 3)
    cases = []
    for worker in home["workers"][:4]:
        made = await open_case(home, worker)
        assert made.status_code == 201, made.text
        cases.append(made.json()["id"])
        await consent(home, made.json()["id"])
    moving = await movement(home, 10, 10)
    for case in cases[:3]:
        assert (await seat(home, moving["id"], case)).status_code == 200
    return {"movement": moving["id"], "cases": cases}


async def send(
    home: dict[str, Any],  # noqa: F811
    movement_id: str,
    seq: int,
    text: str,
    token: str = "phl",
    **params: str,
) -> httpx.Response:
    return await home["client"].post(
        f"/api/v1/movements/{movement_id}/legs/{seq}/checks.csv",
        files={"file": ("checks.csv", text.encode(), "text/csv")},
        params=params,
        headers=who(home, token),
    )


async def seats(home: dict[str, Any]) -> dict[tuple[str, str], str]:  # noqa: F811
    app: FastAPI = home["app"]
    async with session_scope(app.state.sessionmaker) as session:
        return {(s.leg_id, s.case_id): s.state for s in (await session.exec(select(Seat))).all()}


async def test_a_file_applies_and_the_same_file_again_changes_nothing(
    home: dict[str, Any],  # noqa: F811
) -> None:
    made = await booked(home)
    moving, cases = made["movement"], made["cases"]
    boarding = "case_id,check,at\n" + "".join(
        f"{c},boarded,2026-03-01T08:0{n}:00+08:00\n" for n, c in enumerate(cases[:3])
    )
    done = await send(home, moving, 1, boarding)
    assert done.status_code == 200, done.text
    assert done.json() == {"applied": 3, "unchanged": 0, "other_legs": 0}
    again = await send(home, moving, 1, boarding)
    assert again.json() == {"applied": 0, "unchanged": 3, "other_legs": 0}
    reconciled = (
        await home["client"].get(f"/api/v1/movements/{moving}/reconciliation", headers=who(home))
    ).json()
    assert reconciled["legs"][0]["boarded"] == 3
    state = await home["client"].get(f"/api/v1/repatriation-cases/{cases[0]}", headers=who(home))
    assert state.json()["state"] == "boarded"

    # The last leg boarded and arrived in one file, in that order: home, with its tasks.
    last = f"case_id,check\n{cases[0]},boarded\n{cases[0]},arrived\n"
    home_again = await send(home, moving, 2, last)
    assert home_again.json() == {"applied": 2, "unchanged": 0, "other_legs": 0}
    state = await home["client"].get(f"/api/v1/repatriation-cases/{cases[0]}", headers=who(home))
    assert state.json()["state"] == "arrived"
    app: FastAPI = home["app"]
    async with session_scope(app.state.sessionmaker) as session:
        keys = {t.key for t in (await session.exec(select(Task))).all()}
    assert f"reception.reception@{home['workers'][0]}" in keys


async def test_a_file_with_a_bad_row_changes_nothing_and_says_which(
    home: dict[str, Any],  # noqa: F811
) -> None:
    made = await booked(home)
    moving, cases = made["movement"], made["cases"]
    before = await seats(home)
    text = (
        "case_id,check,at\n"
        f"{cases[0]},boarded,\n"  # row 2: good
        "00000000-0000-0000-0000-000000000000,boarded,\n"  # 3: no such case
        f"{cases[3]},boarded,\n"  # 4: no seat on this movement
        f"{cases[1]},arrived,\n"  # 5: an arrival before the boarding
        f'{cases[2]},"=HYPERLINK(""http://x"")<b>",\n'  # 6: not a check
        f"{cases[2]},boarded,2026-03-01T08:00:00\n"  # 7: a time without its offset
        '"<script>alert(1)</script>",boarded,\n'  # 8: not a case id
    )
    refused = await send(home, moving, 1, text)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert "nothing was changed" in problem["detail"]
    assert [(e["loc"][2], e["loc"][3]) for e in problem["errors"]] == [
        (3, "case_id"), (4, "check"), (5, "check"), (6, "check"), (7, "at"), (8, "case_id"),
    ]  # fmt: skip
    by_row = {e["loc"][2]: e["msg"] for e in problem["errors"]}
    assert by_row[3] == "no such case" and "no seat" in by_row[4] and "before" in by_row[5]
    # What the cells held is never repeated.
    assert "HYPERLINK" not in refused.text and "<script>" not in refused.text
    assert await seats(home) == before  # row 2 too: all or nothing

    # Someone else's nationals are no such case for this officer, as one by one.
    theirs = await send(home, moving, 1, f"case_id,check\n{cases[0]},boarded\n", token="idn")
    assert theirs.status_code == 422 and theirs.json()["errors"][0]["msg"] == "no such case"
    # No check column and none given; an unknown leg; an unknown movement.
    unsaid = await send(home, moving, 1, f"case_id\n{cases[0]}\n")
    assert unsaid.status_code == 422 and unsaid.json()["errors"][0]["loc"][-1] == "header"
    assert (await send(home, moving, 9, f"case_id,check\n{cases[0]},boarded\n")).status_code == 404
    missing = await send(home, "no-such-movement", 1, f"case_id,check\n{cases[0]},boarded\n")
    assert missing.status_code == 404
    assert await seats(home) == before


async def test_the_manifest_csv_read_back_boards_its_leg(home: dict[str, Any]) -> None:  # noqa: F811
    made = await booked(home)
    moving, cases = made["movement"], made["cases"]
    manifest = await home["client"].get(
        f"/api/v1/movements/{moving}/manifest", params={"format": "csv"}, headers=who(home)
    )
    assert manifest.status_code == 200
    lines = manifest.text.splitlines()
    # The gate crossed out the one who did not come: their rows are gone from the file.
    kept = [lines[0], *(line for line in lines[1:] if cases[2] not in line)]
    done = await send(home, moving, 2, "\n".join(kept) + "\n", check="boarded")
    assert done.status_code == 200, done.text
    assert done.json() == {"applied": 2, "unchanged": 0, "other_legs": 2}
    reconciled = (
        await home["client"].get(f"/api/v1/movements/{moving}/reconciliation", headers=who(home))
    ).json()
    assert [leg["boarded"] for leg in reconciled["legs"]] == [0, 2]
    assert reconciled["legs"][1]["not_boarded"] == [home["workers"][2]]
