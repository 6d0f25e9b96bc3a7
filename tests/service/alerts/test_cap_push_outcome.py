"""An integration that pushes a CAP alert learns what followed: the answer names the alert, the
version and, the crisis pass having run, the crisis it opened or joined and the tasks it made;
later reads say it again, to the pusher only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.flows.alert_pass import process_pending
from tests.conftest import bearer, make_org_in, make_token_in, unique
from tests.service.crises.test_crises import DAVAO, cap

CAP_XML = {"Content-Type": "application/cap+xml"}


@pytest.fixture
async def world(own_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    """Workers in Davao, two integrations of two organisations, a viewer; the API runs the
    crisis pass right after a push, as it does by default."""
    app = own_app
    admin = await make_token_in(app, Role.ADMIN, await make_org_in(app))
    tokens = {
        "ours": await make_token_in(app, Role.INTEGRATION, await make_org_in(app)),
        "theirs": await make_token_in(app, Role.INTEGRATION, await make_org_in(app)),
        "viewer": await make_token_in(app, Role.VIEWER, await make_org_in(app)),
    }
    await make_org_in(app, OrgKind.EMBASSY, "PHL", "IDN")
    original = app.state.settings
    app.state.settings = original.model_copy(update={"crisis_pass_inline": True})
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in range(8):
                body = {
                    "nationality": "IDN",
                    "document_number": unique("D"),
                    "location": {"lat": DAVAO[0] + i * 0.001, "lon": DAVAO[1] + i * 0.001},
                }
                made = await client.post("/api/v1/workers", json=body, headers=bearer(admin))
                assert made.status_code == 201, made.text
            await app.state.register_index.refresh()
            yield {"app": app, "client": client, "tokens": tokens}
    finally:
        app.state.settings = original


async def push(world: dict[str, Any], who: str, message: bytes) -> httpx.Response:
    return await world["client"].post(
        "/api/v1/alerts/cap", content=message, headers={**bearer(world["tokens"][who]), **CAP_XML}
    )


async def read(world: dict[str, Any], who: str, path: str) -> Any:
    answer = await world["client"].get(path, headers=bearer(world["tokens"][who]))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_push_answer_says_what_the_crisis_pass_made_of_it(
    world: dict[str, Any],
) -> None:
    message = cap(unique("EQ"), severity="Extreme")
    first = await push(world, "ours", message)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["received"] == "new" and answer["pushed_version"] == answer["version"]
    outcome = answer["outcome"]
    assert outcome["result"] == "opened" and outcome["crisis_id"], answer
    assert outcome["tasks"] > 0 and outcome["handled_at"]
    assert first.headers["Location"] == f"/api/v1/alerts/{answer['id']}"
    # The same message again changes nothing, and says the same.
    again = await push(world, "ours", message)
    assert again.status_code == 200, again.text
    assert again.json()["received"] == "unchanged" and again.json()["outcome"] == outcome
    # Later, the pusher reads it again: on the alert, and in the list of its pushes.
    detail = await read(world, "ours", f"/api/v1/alerts/{answer['id']}")
    assert [(p["received"], p["outcome"]) for p in detail["pushes"]] == [("new", outcome)]
    listed = await read(world, "ours", "/api/v1/alerts/pushes")
    assert [(p["alert_id"], p["outcome"]) for p in listed["items"]] == [(answer["id"], outcome)]
    assert listed["next_cursor"] is None


async def test_another_organisation_sees_the_alert_but_not_who_pushed_it(
    world: dict[str, Any],
) -> None:
    message = cap(unique("EQ"), severity="Extreme")
    answer = (await push(world, "ours", message)).json()
    theirs = await read(world, "theirs", f"/api/v1/alerts/{answer['id']}")
    assert theirs["id"] == answer["id"] and theirs["pushes"] == []
    assert (await read(world, "theirs", "/api/v1/alerts/pushes"))["items"] == []
    assert (await read(world, "viewer", f"/api/v1/alerts/{answer['id']}"))["pushes"] == []
    refused = await world["client"].get(
        "/api/v1/alerts/pushes", headers=bearer(world["tokens"]["viewer"])
    )
    assert refused.status_code == 403
    # Their own push of the same message is theirs to read, with what followed it.
    second = (await push(world, "theirs", message)).json()
    assert second["received"] == "unchanged" and second["outcome"] == answer["outcome"]
    theirs = await read(world, "theirs", f"/api/v1/alerts/{answer['id']}")
    assert [p["organization_id"] for p in theirs["pushes"]] == [
        theirs["pushes"][0]["organization_id"]
    ]
    ours = await read(world, "ours", f"/api/v1/alerts/{answer['id']}")
    assert len(ours["pushes"]) == 1
    assert ours["pushes"][0]["organization_id"] != theirs["pushes"][0]["organization_id"]


async def test_when_the_worker_runs_the_pass_the_pusher_reads_the_outcome_later(
    world: dict[str, Any],
) -> None:
    app: FastAPI = world["app"]
    inline = app.state.settings
    app.state.settings = inline.model_copy(update={"crisis_pass_inline": False})
    try:
        answer = (await push(world, "ours", cap(unique("EQ"), severity="Extreme"))).json()
    finally:
        app.state.settings = inline
    assert answer["received"] == "new" and answer["outcome"] is None
    [done] = await process_pending(
        app.state.sessionmaker, index=app.state.register_index, geometry=app.state.geometry
    )
    assert done.alert_id == answer["id"]
    [pushed] = (await read(world, "ours", f"/api/v1/alerts/{answer['id']}"))["pushes"]
    assert pushed["outcome"]["result"] == done.result
    assert pushed["outcome"]["crisis_id"] == done.crisis_id
    assert pushed["outcome"]["tasks"] == done.tasks


async def test_the_list_of_pushes_comes_in_pages(world: dict[str, Any]) -> None:
    made = [
        (await push(world, "ours", cap(unique("EQ"), severity="Extreme"))).json()["id"]
        for _ in range(3)
    ]
    first = await read(world, "ours", "/api/v1/alerts/pushes?limit=2")
    assert [p["alert_id"] for p in first["items"]] == made[::-1][:2]
    rest = await read(world, "ours", f"/api/v1/alerts/pushes?limit=2&cursor={first['next_cursor']}")
    assert [p["alert_id"] for p in rest["items"]] == made[:1] and rest["next_cursor"] is None
