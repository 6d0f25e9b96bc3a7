"""Welfare statuses of a crisis: history and the timeline, the same outcome twice, need-to-know,
who records a death, the task for a person who needs help, counts with small cells withheld,
drills, the CSV export. On both databases."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from service.auth.permissions import Role
from service.db import session_scope
from service.directory.models import Organization, OrgKind
from service.welfare.models import WelfareEvent, WelfareStatus
from tests.conftest import OrgFactory, TokenFactory, bearer, run_cli, unique

# Open sea: nobody registered there, so the playbooks add no tasks of their own.
ZONE = {
    "type": "Polygon",
    "coordinates": [[[110.0, 5.0], [110.2, 5.0], [110.2, 5.2], [110.0, 5.2], [110.0, 5.0]]],
}
KL = {"lat": 3.1390, "lon": 101.6869}


async def declare(client: httpx.AsyncClient, coordinator: dict[str, str], **extra: Any) -> str:
    made = await client.post(
        "/api/v1/crises",
        json={
            "title": unique("Klang floods"),
            "hazard": "flood",
            "severity": "severe",
            "zones": ZONE,
            **extra,
        },
        headers=coordinator,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def register(
    client: httpx.AsyncClient, who: dict[str, str], nationality: str = "PHL", **consent: bool
) -> str:
    made = await client.post(
        "/api/v1/workers",
        json={
            "nationality": nationality,
            "document_number": unique("P"),
            "given_name": "Maria",
            "family_name": "Santos",
            "location": KL,
            "consent": consent,
        },
        headers=who,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def outcome(
    client: httpx.AsyncClient, who: dict[str, str], crisis: str, worker: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/crises/{crisis}/welfare/{worker}", json=body, headers=who)


async def test_history_timeline_and_the_same_outcome_twice(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    crisis = await declare(client, coordinator)
    worker = await register(client, coordinator)

    first = await outcome(client, coordinator, crisis, worker, outcome="contacted", how="call")
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["version"], first.json()["exercise"]) == (
        "contacted",
        1,
        False,
    )
    said = "Safe at the church hall, phone battery low"
    safe = await outcome(
        client, coordinator, crisis, worker, outcome="safe", note=said, how="reply"
    )
    assert (safe.json()["status"], safe.json()["note"], safe.json()["version"]) == ("safe", said, 2)
    again = await outcome(
        client, coordinator, crisis, worker, outcome="safe", note=said, how="reply"
    )
    assert again.status_code == 200 and again.json()["version"] == 2

    read = await client.get(f"/api/v1/crises/{crisis}/welfare/{worker}", headers=coordinator)
    assert read.status_code == 200 and read.headers["ETag"] == '"2"'
    history = read.json()["history"]
    assert [(h["previous"], h["status"], h["note"]) for h in history] == [
        (None, "contacted", None),
        ("contacted", "safe", said),
    ]
    assert "documentation_status" not in read.json()

    timeline = (
        await client.get(f"/api/v1/crises/{crisis}/timeline?limit=500", headers=coordinator)
    ).json()["items"]
    changes = [e for e in timeline if e["kind"] == "welfare_changed"]
    assert len(changes) == 2
    assert {e["detail"]["status"] for e in changes} == {"contacted", "safe"}
    assert said not in str(timeline)
    audited = await client.get(
        "/api/v1/audit",
        params={"action": "crisis.welfare_changed", "subject_id": crisis, "limit": 50},
        headers=bearer(await make_token(Role.ADMIN)),
    )
    assert [e["detail"]["status"] for e in audited.json()["items"]] == ["safe", "contacted"]
    assert said not in audited.text

    unknown = await outcome(client, coordinator, crisis, worker, outcome="fine")
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    nobody = await outcome(client, coordinator, crisis, unique("w"), outcome="safe")
    assert nobody.status_code == 404
    no_crisis = await outcome(client, coordinator, unique("c"), worker, outcome="safe")
    assert no_crisis.status_code == 404


async def test_need_to_know_and_who_records_a_death(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    phl = bearer(await make_token(Role.CONSULAR_OFFICER, await make_org(OrgKind.EMBASSY, "MYS")))
    idn_post = await make_org(OrgKind.EMBASSY, "MYS", represents="IDN")
    idn = bearer(await make_token(Role.CONSULAR_OFFICER, idn_post))
    society = await make_org(OrgKind.NATIONAL_SOCIETY, "MYS")
    responder = bearer(await make_token(Role.SOCIETY_RESPONDER, society))
    crisis = await declare(client, coordinator)
    shared = await register(client, coordinator, share_with_humanitarian=True)
    refused = await register(client, coordinator, share_with_embassy=False)

    assert (await outcome(client, phl, crisis, shared, outcome="no_answer")).status_code == 200
    worker_404 = (await client.get(f"/api/v1/workers/{refused}", headers=phl)).json()
    for who, worker in ((idn, shared), (phl, refused)):
        written = await outcome(client, who, crisis, worker, outcome="safe")
        assert written.status_code == 404
        assert written.json()["detail"] == worker_404["detail"].replace(refused, worker)
        read = await client.get(f"/api/v1/crises/{crisis}/welfare/{worker}", headers=who)
        assert read.status_code == 404
    listed = await client.get(f"/api/v1/crises/{crisis}/welfare", headers=idn)
    assert listed.status_code == 200 and listed.json()["items"] == []
    mine = (await client.get(f"/api/v1/crises/{crisis}/welfare", headers=phl)).json()["items"]
    assert [i["worker_id"] for i in mine] == [shared]

    # The society reads who agreed to humanitarian sharing; it may not record a death.
    dead = await outcome(client, responder, crisis, shared, outcome="deceased", how="field")
    assert dead.status_code == 403
    assert (await outcome(client, responder, crisis, shared, outcome="missing")).status_code == 200
    assert (await outcome(client, responder, crisis, refused, outcome="safe")).status_code == 404
    confirmed = await outcome(client, phl, crisis, shared, outcome="deceased", how="field")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "deceased"


async def test_needs_help_opens_one_task_for_whoever_serves_the_person(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="LAO")
    await make_org(OrgKind.NATIONAL_SOCIETY, "MYS")
    crisis = await declare(client, coordinator)
    to_embassy = await register(client, coordinator, "LAO")
    to_society = await register(client, coordinator, "LAO", share_with_humanitarian=True)

    for worker in (to_embassy, to_society):
        for status in ("needs_help", "safe", "needs_help", "needs_help"):
            said = "No food since yesterday" if status == "needs_help" else None
            written = await outcome(client, coordinator, crisis, worker, outcome=status, note=said)
            assert written.status_code == 200, written.text

    tasks = (
        await client.get(f"/api/v1/crises/{crisis}/tasks?limit=500", headers=coordinator)
    ).json()["items"]
    by_key = {t["key"]: t for t in tasks if t["key"].startswith("welfare.")}
    assert set(by_key) == {
        f"welfare.needs_help@{to_embassy}",
        f"welfare.needs_help@{to_society}",
    }
    assert by_key[f"welfare.needs_help@{to_embassy}"]["assignee_org"] == embassy
    society_task = by_key[f"welfare.needs_help@{to_society}"]
    assert society_task["actor_role"] == "national_society_host"
    async with session_scope(app.state.sessionmaker) as session:
        holder = await session.get(Organization, society_task["assignee_org"])
        assert holder is not None and (holder.kind, holder.country) == ("national_society", "MYS")
    assert "No food" not in str(tasks)


async def test_counts_withhold_small_cells_outside_the_coordinators(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    officer = bearer(
        await make_token(Role.CONSULAR_OFFICER, await make_org(OrgKind.EMBASSY, "MYS"))
    )
    crisis = await declare(client, coordinator)
    for nationality, status in [("PHL", "safe")] * 6 + [("IDN", "missing")]:
        worker = await register(client, coordinator, nationality)
        assert (
            await outcome(client, coordinator, crisis, worker, outcome=status)
        ).status_code == 200

    url = f"/api/v1/crises/{crisis}/welfare-counts"
    exact = (await client.get(url, headers=coordinator)).json()
    assert exact["exact"] is True and exact["total"] == 7
    assert exact["by_status"] == {"safe": 6, "missing": 1}
    assert exact["by_nationality"] == {"PHL": 6, "IDN": 1}
    assert sum(exact["by_admin1"].values()) == 7
    rounded = (await client.get(url, headers=officer)).json()
    assert (rounded["exact"], rounded["suppressed_below"], rounded["total"]) == (False, 5, 5)
    assert rounded["by_status"] == {"safe": 5}
    assert rounded["by_nationality"] == {"PHL": 5}

    only_missing = await client.get(
        f"/api/v1/crises/{crisis}/welfare", params={"status": "missing"}, headers=coordinator
    )
    assert [i["nationality"] for i in only_missing.json()["items"]] == ["IDN"]
    first = await client.get(
        f"/api/v1/crises/{crisis}/welfare", params={"limit": 4}, headers=coordinator
    )
    rest = await client.get(
        f"/api/v1/crises/{crisis}/welfare",
        params={"limit": 4, "cursor": first.json()["next_cursor"]},
        headers=coordinator,
    )
    assert len(first.json()["items"]) == 4 and len(rest.json()["items"]) == 3
    assert rest.json()["next_cursor"] is None


async def test_a_drill_keeps_its_own_statuses_and_says_so(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    real = await declare(client, coordinator)
    drill = await declare(client, coordinator, exercise=True)
    worker = await register(client, coordinator)
    assert (await outcome(client, coordinator, real, worker, outcome="safe")).status_code == 200
    drilled = await outcome(client, coordinator, drill, worker, outcome="needs_help")
    assert drilled.json()["exercise"] is True and drilled.json()["drill_notice"]
    kept = (await client.get(f"/api/v1/crises/{real}/welfare/{worker}", headers=coordinator)).json()
    assert (kept["status"], kept["exercise"], kept["drill_notice"]) == ("safe", False, None)
    counts = (
        await client.get(f"/api/v1/crises/{drill}/welfare-counts", headers=coordinator)
    ).json()
    assert counts["exercise"] is True and counts["by_status"] == {"needs_help": 1}
    tasks = (await client.get(f"/api/v1/crises/{drill}/tasks", headers=coordinator)).json()
    assert [t["exercise"] for t in tasks["items"] if t["key"].startswith("welfare.")] == [True]


async def test_the_csv_export_holds_no_note_and_no_documentation_status(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    crisis = await declare(client, coordinator)
    worker = await register(client, coordinator)
    said = '=HYPERLINK("http://example.invalid") I am fine'
    await outcome(client, coordinator, crisis, worker, outcome="safe", note=said, how="call")
    exported = await client.get(
        f"/api/v1/crises/{crisis}/welfare", params={"format": "csv"}, headers=coordinator
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "worker_id", "nationality", "country", "admin1", "status", "how", "exercise", "updated_at"
    ]  # fmt: skip
    assert rows[1][:7] == [worker, "PHL", "MYS", rows[1][3], "safe", "call", "false"]
    assert "HYPERLINK" not in exported.text and "documentation" not in exported.text


async def test_the_command_line_counts_by_status(
    cli_env: str, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    coordinator = bearer(await make_token(Role.COORDINATOR))
    crisis = await declare(client, coordinator)
    for status in ("safe", "safe", "unreachable"):
        worker = await register(client, coordinator)
        assert (
            await outcome(client, coordinator, crisis, worker, outcome=status)
        ).status_code == 200
    shown = await run_cli(["welfare", "counts", crisis], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "3 recorded" in shown.output
    lines = {tuple(line.replace("│", " ").split()) for line in shown.output.splitlines()}
    assert {("safe", "2"), ("unreachable", "1")} <= lines
    missing = await run_cli(["welfare", "counts", unique("c")])
    assert missing.exit_code == 2 and "No crisis" in missing.output


async def test_an_erased_worker_s_notes_go_and_their_statuses_drop_out(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token(Role.ADMIN))
    crisis = await declare(client, admin)
    worker = await register(client, admin)
    for status in ("contacted", "needs_help"):
        said = f"{status}: my daughter is with me"
        assert (await outcome(client, admin, crisis, worker, outcome=status, note=said)).is_success
    assert (await client.delete(f"/api/v1/workers/{worker}", headers=admin)).status_code == 204

    async with session_scope(app.state.sessionmaker) as session:
        kept = (
            await session.exec(select(WelfareStatus).where(WelfareStatus.worker_id == worker))
        ).one()
        events = (
            await session.exec(select(WelfareEvent).where(WelfareEvent.status_id == kept.id))
        ).all()
    assert kept.status == "needs_help" and kept.note_sealed is None
    assert len(events) == 2 and {e.note_sealed for e in events} == {None}
    gone = await client.get(f"/api/v1/crises/{crisis}/welfare/{worker}", headers=admin)
    assert gone.status_code == 404
    listed = (await client.get(f"/api/v1/crises/{crisis}/welfare", headers=admin)).json()
    assert listed["items"] == []
