"""Tasks as a first user meets them: pages, preconditions, comments, hand-offs, names not ids."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from service.auth.permissions import Role
from service.directory.models import OrgKind
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

# Open sea: nobody registered there, so the playbooks add nothing and only the manual tasks count.
ZONE = {
    "type": "Polygon",
    "coordinates": [[[110.0, 5.0], [110.2, 5.0], [110.2, 5.2], [110.0, 5.2], [110.0, 5.0]]],
}


class World:
    """A crisis, an embassy, a ministry and a coordinator: each test's own."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.embassy = self.ministry = self.crisis = ""
        self.coordinator: dict[str, str] = {}
        self.consul: dict[str, str] = {}
        self.officer: dict[str, str] = {}

    async def task(self, org: str, after: list[str] | None = None) -> dict[str, Any]:
        made = await self.client.post(
            "/api/v1/tasks",
            json={
                "crisis_id": self.crisis,
                "title": unique("Charter the return flights"),
                "assignee_org": org,
                "after": after or [],
            },
            headers=self.coordinator,
        )
        assert made.status_code == 201, made.text
        return dict(made.json())

    async def patch(
        self, task_id: str, body: dict[str, Any], who: dict[str, str], version: str | None
    ) -> httpx.Response:
        headers = {**who, **({"If-Match": version} if version is not None else {})}
        return await self.client.patch(f"/api/v1/tasks/{task_id}", json=body, headers=headers)


@pytest.fixture
async def world(client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory) -> World:
    w = World(client)
    w.embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL", name="Embassy in KL")
    w.ministry = await make_org(OrgKind.LABOUR_MINISTRY, "PHL", represents="PHL")
    w.coordinator = bearer(await make_token(Role.COORDINATOR))
    w.consul = bearer(await make_token(Role.CONSULAR_OFFICER, w.embassy))
    w.officer = bearer(await make_token(Role.CONSULAR_OFFICER, w.ministry))
    made = await client.post(
        "/api/v1/crises",
        json={"title": "Floods in Klang", "hazard": "flood", "severity": "severe", "zones": ZONE},
        headers=w.coordinator,
    )
    assert made.status_code == 201, made.text
    w.crisis = made.json()["id"]
    return w


async def test_a_crisis_s_tasks_come_in_pages_with_filters(world: World) -> None:
    made = [await world.task(world.embassy) for _ in range(3)]
    url = f"/api/v1/crises/{world.crisis}/tasks"
    first = await world.client.get(url, params={"limit": 2}, headers=world.coordinator)
    assert first.status_code == 200, first.text
    page = first.json()
    assert set(page) == {"items", "next_cursor"} and len(page["items"]) == 2
    rest = await world.client.get(
        url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=world.coordinator
    )
    ids = [t["id"] for t in page["items"] + rest.json()["items"]]
    assert sorted(ids) == sorted(t["id"] for t in made) and rest.json()["next_cursor"] is None
    blocked = await world.client.get(url, params={"status": "blocked"}, headers=world.coordinator)
    assert blocked.json()["items"] == []
    # Each organisation sees its own tasks of the crisis only.
    theirs = await world.client.get(url, headers=world.officer)
    assert theirs.json() == {"items": [], "next_cursor": None}


async def test_a_change_without_if_match_is_told_what_to_send(world: World) -> None:
    task = await world.task(world.embassy)
    read = await world.client.get(f"/api/v1/tasks/{task['id']}", headers=world.consul)
    assert read.headers["etag"] == '"1"'
    missing = await world.patch(task["id"], {"status": "acknowledged"}, world.consul, None)
    assert missing.status_code == 428, missing.text
    assert missing.headers["content-type"] == "application/problem+json"
    problem = missing.json()
    assert problem["type"].endswith("/precondition-required")
    assert 'If-Match: "<version>"' in problem["detail"] and "ETag" in problem["detail"]
    assert "changed" not in problem["title"]
    # The ETag as read is what If-Match takes; the change answers the next one.
    changed = await world.patch(task["id"], {"status": "acknowledged"}, world.consul, '"1"')
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    weak = await world.patch(task["id"], {"status": "in_progress"}, world.consul, 'W/"2"')
    assert weak.status_code == 200 and weak.json()["version"] == 3
    stale = await world.patch(task["id"], {"status": "done"}, world.consul, '"2"')
    assert stale.status_code == 412 and stale.json()["current_version"] == 3


async def test_every_versioned_record_sends_its_etag_and_every_patch_wants_it(
    world: World, app: Any
) -> None:
    crisis = await world.client.get(f"/api/v1/crises/{world.crisis}", headers=world.coordinator)
    assert crisis.headers["etag"] == f'"{crisis.json()["version"]}"'
    org = await world.client.get(
        f"/api/v1/organizations/{world.embassy}", headers=world.coordinator
    )
    assert org.headers["etag"] == f'"{org.json()["version"]}"'
    unconditional = await world.client.patch(
        f"/api/v1/crises/{world.crisis}", json={"alert_level": 2}, headers=world.coordinator
    )
    assert unconditional.status_code == 428
    document = app.openapi()
    patches = [(path, ops["patch"]) for path, ops in document["paths"].items() if "patch" in ops]
    assert {p for p, _ in patches} >= {
        "/api/v1/tasks/{id}",
        "/api/v1/crises/{id}",
        "/api/v1/workers/{id}",
    }
    for path, operation in patches:
        assert {"412", "428"} <= set(operation["responses"]), path


async def test_a_worker_record_sends_its_etag(
    client: httpx.AsyncClient, make_org: OrgFactory, make_token: TokenFactory
) -> None:
    embassy = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL")
    consul = bearer(await make_token(Role.CONSULAR_OFFICER, embassy))
    made = await client.post(
        "/api/v1/workers",
        json={
            "nationality": "PHL",
            "given_name": "Maria",
            "family_name": unique("Santos"),
            "location": {"lat": 3.139, "lon": 101.6869},
            "source": "embassy_registration",
        },
        headers=consul,
    )
    assert made.status_code == 201, made.text
    read = await client.get(f"/api/v1/workers/{made.json()['id']}", headers=consul)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    missing = await client.patch(
        f"/api/v1/workers/{made.json()['id']}", json={"sector": "care"}, headers=consul
    )
    assert missing.status_code == 428


async def test_comments_are_read_on_the_task_and_noted_on_the_timeline(world: World) -> None:
    task = await world.task(world.embassy)
    url = f"/api/v1/tasks/{task['id']}/comments"
    for body in ("Hotline staffed", "Two lines more tomorrow", "Handed the list to the ministry"):
        posted = await world.client.post(url, json={"body": body}, headers=world.consul)
        assert posted.status_code == 201, posted.text
    first = await world.client.get(url, params={"limit": 2}, headers=world.consul)
    assert first.status_code == 200, first.text
    rest = await world.client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=world.consul
    )
    comments = first.json()["items"] + rest.json()["items"]
    assert [c["body"] for c in comments] == [
        "Hotline staffed",
        "Two lines more tomorrow",
        "Handed the list to the ministry",
    ]
    assert rest.json()["next_cursor"] is None
    assert {c["author_org"] for c in comments} == {world.embassy}
    assert {c["author_org_name"] for c in comments} == {"Embassy in KL"}
    assert all(c["author_org_slug"] and c["created_at"] for c in comments)
    shown = await world.client.get(f"/api/v1/tasks/{task['id']}", headers=world.consul)
    assert shown.json()["comments"] == 3
    # Same visibility as the task: another organisation does not learn it exists.
    assert (await world.client.get(url, headers=world.officer)).status_code == 404
    timeline = (
        await world.client.get(
            f"/api/v1/crises/{world.crisis}/timeline?limit=500", headers=world.coordinator
        )
    ).json()["items"]
    noted = [e for e in timeline if e["kind"] == "task_commented"]
    assert len(noted) == 3 and all(e["detail"]["task_id"] == task["id"] for e in noted)
    assert all("Hotline" not in str(e) for e in noted)  # the text stays on the task


async def test_the_sender_keeps_reading_what_it_handed_on(world: World) -> None:
    manifest = await world.task(world.embassy)
    flights = await world.task(world.ministry, after=[manifest["id"]])
    moved = await world.task(world.embassy)
    # Before: the embassy does not see the ministry's task.
    assert (
        await world.client.get(f"/api/v1/tasks/{flights['id']}", headers=world.consul)
    ).status_code == 404
    done = await world.patch(manifest["id"], {"status": "done"}, world.consul, '"1"')
    assert done.status_code == 200, done.text
    reassigned = await world.patch(
        moved["id"], {"assignee_org": world.ministry}, world.coordinator, '"1"'
    )
    assert reassigned.status_code == 200, reassigned.text

    handed = await world.client.get(
        "/api/v1/tasks", params={"handed_off": "true"}, headers=world.consul
    )
    assert handed.status_code == 200, handed.text
    items = {t["id"]: t for t in handed.json()["items"]}
    assert set(items) == {flights["id"], moved["id"]}
    assert items[flights["id"]]["status"] == "open"
    assert items[flights["id"]]["assignee_org"] == world.ministry
    # Not among the embassy's own tasks.
    own = await world.client.get(
        "/api/v1/tasks", params={"crisis": world.crisis}, headers=world.consul
    )
    assert [t["id"] for t in own.json()["items"]] == [manifest["id"]]

    read = await world.client.get(f"/api/v1/tasks/{flights['id']}", headers=world.consul)
    assert read.status_code == 200 and read.json()["status"] == "open"
    refused = await world.patch(flights["id"], {"status": "acknowledged"}, world.consul, '"2"')
    assert refused.status_code == 403, refused.text
    assert "handed" in refused.json()["detail"]
    commented = await world.client.post(
        f"/api/v1/tasks/{flights['id']}/comments", json={"body": "Any news?"}, headers=world.consul
    )
    assert commented.status_code == 403
    comments = await world.client.get(
        f"/api/v1/tasks/{flights['id']}/comments", headers=world.consul
    )
    assert comments.status_code == 200
    # The receiver's hands are free.
    taken = await world.patch(flights["id"], {"status": "acknowledged"}, world.officer, '"2"')
    assert taken.status_code == 200, taken.text


async def test_tasks_name_their_organisation_in_json_and_csv(world: World) -> None:
    task = await world.task(world.embassy)
    assert task["assignee_org"] == world.embassy
    assert task["assignee_org_name"] == "Embassy in KL" and task["assignee_org_slug"]
    read = (await world.client.get(f"/api/v1/tasks/{task['id']}", headers=world.consul)).json()
    assert read["assignee_org_name"] == "Embassy in KL"
    listed = await world.client.get(
        f"/api/v1/crises/{world.crisis}/tasks", headers=world.coordinator
    )
    assert {t["assignee_org_name"] for t in listed.json()["items"]} == {"Embassy in KL"}
    exported = await world.client.get(
        "/api/v1/tasks", params={"crisis": world.crisis, "format": "csv"}, headers=world.coordinator
    )
    [row] = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert row["assignee_org"] == world.embassy
    assert row["assignee_org_name"] == "Embassy in KL"
    assert row["assignee_org_slug"] == task["assignee_org_slug"]
    assert row["comments"] == "0"


async def test_names_come_in_one_query_whatever_the_page(world: World, app: Any) -> None:
    """The slugs and names of a page's organisations cost one query, not one per task."""
    from sqlalchemy import event

    for _ in range(6):
        await world.task(world.embassy)
    engine = app.state.engine if hasattr(app.state, "engine") else None
    if engine is None:
        pytest.skip("the app exposes no engine to count statements on")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        page = await world.client.get(
            f"/api/v1/crises/{world.crisis}/tasks", headers=world.coordinator
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(page.json()["items"]) == 6
    assert sum("organizations" in s for s in statements) <= 2  # the token's, and the page's
