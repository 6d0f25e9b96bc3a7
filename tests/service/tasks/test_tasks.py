"""Tasks across borders: the hand-off chain embassy → ministry → society, If-Match, visibility."""

from __future__ import annotations

import httpx

from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import OrgFactory, TokenFactory, bearer

# Open sea: nobody registered there, so the playbooks add nothing and only the manual tasks count.
ZONE = {
    "type": "Polygon",
    "coordinates": [[[110.0, 5.0], [110.2, 5.0], [110.2, 5.2], [110.0, 5.2], [110.0, 5.0]]],
}


async def test_hand_off_chain_if_match_and_visibility(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    ministry = await make_org(OrgKind.LABOUR_MINISTRY, "PHL", represents="PHL")
    society = await make_org(OrgKind.NATIONAL_SOCIETY, "PHL")
    coordinator = bearer(await make_token(Role.COORDINATOR))
    consul = bearer(await make_token(Role.CONSULAR_OFFICER, embassy))
    officer = bearer(await make_token(Role.CONSULAR_OFFICER, ministry))
    responder = bearer(await make_token(Role.SOCIETY_RESPONDER, society))

    crisis = (
        await client.post(
            "/api/v1/crises",
            json={
                "title": "Floods in Klang",
                "hazard": "flood",
                "severity": "severe",
                "zones": ZONE,
            },
            headers=coordinator,
        )
    ).json()

    async def task(title: str, org: str, after: list[str]) -> dict[str, object]:
        made = await client.post(
            "/api/v1/tasks",
            json={"crisis_id": crisis["id"], "title": title, "assignee_org": org, "after": after},
            headers=coordinator,
        )
        assert made.status_code == 201, made.text
        return dict(made.json())

    manifest = await task("Repatriation manifest of the workers who asked to return", embassy, [])
    flights = await task("Charter and fund the return flights", ministry, [str(manifest["id"])])
    reception = await task(
        "Reception at the airport: health screening, psychosocial support",
        society,
        [str(flights["id"])],
    )
    assert (manifest["status"], flights["status"], reception["status"]) == (
        "open",
        "blocked",
        "blocked",
    )

    # Each organisation sees its own tasks only; coordinators see all.
    mine = (
        await client.get("/api/v1/tasks", params={"crisis": crisis["id"]}, headers=consul)
    ).json()["items"]
    assert [t["id"] for t in mine] == [manifest["id"]]
    assert (await client.get(f"/api/v1/tasks/{flights['id']}", headers=consul)).status_code == 404
    listed = await client.get(f"/api/v1/crises/{crisis['id']}/tasks", headers=coordinator)
    assert len(listed.json()["items"]) == 3

    url = f"/api/v1/tasks/{manifest['id']}"
    ack = await client.patch(
        url, json={"status": "acknowledged"}, headers={**consul, "If-Match": "1"}
    )
    assert ack.status_code == 200 and ack.json()["version"] == 2
    stale = await client.patch(url, json={"status": "done"}, headers={**consul, "If-Match": "1"})
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    assert (
        await client.patch(
            url, json={"assignee_org": ministry}, headers={**consul, "If-Match": "2"}
        )
    ).status_code == 403
    done = await client.patch(url, json={"status": "done"}, headers={**consul, "If-Match": "2"})
    assert done.status_code == 200
    # The hand-off: the ministry in Manila is now up.
    assert (await client.get(f"/api/v1/tasks/{flights['id']}", headers=officer)).json()[
        "status"
    ] == "open"
    assert (await client.get(f"/api/v1/tasks/{reception['id']}", headers=responder)).json()[
        "status"
    ] == "blocked"
    back = await client.patch(url, json={"status": "open"}, headers={**consul, "If-Match": "3"})
    assert back.status_code == 422  # done is final
    timeline = (
        await client.get(f"/api/v1/crises/{crisis['id']}/timeline?limit=500", headers=coordinator)
    ).json()["items"]
    assert any(
        e["kind"] == "task_handed_off" and e["detail"]["task_id"] == flights["id"] for e in timeline
    )
    assert (
        await client.post(
            f"/api/v1/tasks/{flights['id']}/comments",
            json={"body": "Two flights booked"},
            headers=officer,
        )
    ).status_code == 201
    exported = await client.get(
        "/api/v1/tasks", params={"crisis": crisis["id"], "format": "csv"}, headers=coordinator
    )
    assert (
        exported.headers["content-type"].startswith("text/csv") and exported.text.count("\n") == 4
    )


async def test_escalation_fires_once_after_its_time_whatever_restarts(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, app: object
) -> None:
    from datetime import timedelta

    from fastapi import FastAPI

    from service.auth.principal import WORKER
    from service.crises.models import Crisis
    from service.db import session_scope, utcnow
    from service.tasks.escalation import escalate_due
    from service.tasks.service import create_task

    assert isinstance(app, FastAPI)
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    coordinator = bearer(await make_token(Role.COORDINATOR))
    crisis_id = (
        await client.post(
            "/api/v1/crises",
            json={
                "title": "Typhoon drill",
                "hazard": "tropical_cyclone",
                "severity": "severe",
                "zones": ZONE,
                "exercise": True,
            },
            headers=coordinator,
        )
    ).json()["id"]
    async with session_scope(app.state.sessionmaker) as session:
        crisis = await session.get(Crisis, crisis_id)
        assert crisis is not None
        task = await create_task(
            session,
            crisis=crisis,
            actor=WORKER,
            values={
                "key": "test.hotline",
                "title": "Activate the hotline",
                "assignee_org": embassy,
                "escalate_after_s": 3600,
                "due_at": utcnow() - timedelta(minutes=1),
            },
        )
        task_id = task.id
    # Not yet: an hour has not passed.
    async with session_scope(app.state.sessionmaker) as session:
        assert [t.id for t in await escalate_due(session) if t.id == task_id] == []
    # A worker that starts two hours later (a restart) sees the deadline from the database.
    later = utcnow() + timedelta(hours=2)
    async with session_scope(app.state.sessionmaker) as session:
        assert task_id in [t.id for t in await escalate_due(session, now=later)]
    async with session_scope(app.state.sessionmaker) as session:
        assert task_id not in [
            t.id for t in await escalate_due(session, now=later + timedelta(hours=1))
        ]
    shown = (await client.get(f"/api/v1/tasks/{task_id}", headers=coordinator)).json()
    assert (
        shown["escalated_at"] is not None
        and shown["assignee_org"] == embassy
        and shown["overdue"] is True
    )
    assert shown["exercise"] is True
    timeline = (
        await client.get(f"/api/v1/crises/{crisis_id}/timeline?limit=500", headers=coordinator)
    ).json()["items"]
    assert [e["kind"] for e in timeline].count("task_escalated") == 1


async def test_a_change_writes_its_rows_together_and_two_writers_cannot_both_win(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory, app: object
) -> None:
    """A task update writes the task, its history, its timeline entry, its outbox event and the
    call's audit row together; of two writers with the same If-Match exactly one wins, and the
    loser (412) leaves no row behind."""
    import asyncio

    from fastapi import FastAPI
    from sqlmodel import col, select

    from service.audit.models import AuditEvent
    from service.crises.models import CrisisEvent
    from service.tasks.models import TaskChange
    from service.webhooks.models import OutboxEvent

    assert isinstance(app, FastAPI)
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    coordinator = bearer(await make_token(Role.COORDINATOR))
    consul = bearer(await make_token(Role.CONSULAR_OFFICER, embassy))
    crisis = (
        await client.post(
            "/api/v1/crises",
            json={"title": "Floods", "hazard": "flood", "severity": "moderate", "zones": ZONE},
            headers=coordinator,
        )
    ).json()
    task = (
        await client.post(
            "/api/v1/tasks",
            json={"crisis_id": crisis["id"], "title": "Reach the workers", "assignee_org": embassy},
            headers=coordinator,
        )
    ).json()
    url = f"/api/v1/tasks/{task['id']}"

    async def rows() -> dict[str, int]:
        async with app.state.sessionmaker() as session:
            return {
                "history": len(
                    (
                        await session.exec(
                            select(TaskChange).where(TaskChange.task_id == task["id"])
                        )
                    ).all()
                ),
                "timeline": len(
                    [
                        e
                        for e in (
                            await session.exec(
                                select(CrisisEvent).where(
                                    CrisisEvent.crisis_id == crisis["id"],
                                    CrisisEvent.kind == "task_updated",
                                )
                            )
                        ).all()
                        if e.detail.get("task_id") == task["id"]
                    ]
                ),
                "outbox": len(
                    (
                        await session.exec(
                            select(OutboxEvent).where(
                                OutboxEvent.subject == f"task:{task['id']}",
                                OutboxEvent.type == "task.updated",
                            )
                        )
                    ).all()
                ),
                "audit": len(
                    (
                        await session.exec(
                            select(AuditEvent).where(
                                AuditEvent.subject_id == task["id"],
                                col(AuditEvent.action) == "api.change_task",
                            )
                        )
                    ).all()
                ),
            }

    history_before = (await rows())["history"]
    first, second = await asyncio.gather(
        client.patch(url, json={"status": "acknowledged"}, headers={**consul, "If-Match": "1"}),
        client.patch(url, json={"status": "in_progress"}, headers={**consul, "If-Match": "1"}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412], (first.text, second.text)
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert winner.json()["version"] == 2 and winner.headers["etag"] == '"2"'
    assert loser.json()["current_version"] == 2
    assert await rows() == {"history": history_before + 1, "timeline": 1, "outbox": 1, "audit": 1}
    shown = (await client.get(url, headers=consul)).json()
    assert shown["status"] == winner.json()["status"] and shown["version"] == 2
    # Nothing to change: 200, the same version, no new rows.
    same = await client.patch(
        url, json={"status": shown["status"]}, headers={**consul, "If-Match": "2"}
    )
    assert same.status_code == 200 and same.json()["version"] == 2
    counted = await rows()
    assert counted["history"] == history_before + 1 and counted["timeline"] == 1
