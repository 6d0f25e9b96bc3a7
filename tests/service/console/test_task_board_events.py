"""The task board's live stream (server-sent events), on both databases: only for a signed-in
reader of tasks, a ``refresh`` on the streams of the boards a change alters and on no other, one
poller a process whatever the number of streams, heartbeats and an end."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from service.auth.permissions import Role
from service.console import live
from service.directory.models import OrgKind
from tests.conftest import OrgFactory, TokenFactory, bearer, http_scope
from tests.service.tasks.test_tasks_first_use import World, world

__all__ = ["world"]

EVENTS = "/console/tasks/events"


async def test_the_stream_is_for_signed_in_readers_of_tasks(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    anonymous = await client.get(EVENTS)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/console/sign-in?next=%2Fconsole%2Ftasks%2Fevents"
    htmx = await client.get(EVENTS, headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/sign-in")
    refused = await client.get(EVENTS, headers=bearer(await make_token(Role.VIEWER)))
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]


def refreshes(answer: httpx.Response) -> int:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.text.startswith(f"retry: {live.RETRY_MS}\n")
    return answer.text.count("event: refresh\ndata: tasks\n\n")


@pytest.fixture
def short_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "LIFETIME_S", 3.5)
    monkeypatch.setattr(live, "HEARTBEAT_S", 1.0)


async def test_a_change_reaches_the_boards_it_alters_and_no_other(
    app: FastAPI,
    world: World,
    make_org: OrgFactory,
    make_token: TokenFactory,
    short_streams: None,
) -> None:
    manifest = await world.task(world.embassy)
    # The ministry's task waits for the embassy's: completing that hands it on.
    await world.task(world.ministry, after=[manifest["id"]])
    other = bearer(await make_token(Role.CONSULAR_OFFICER, await make_org(OrgKind.EMBASSY, "MYS")))
    watch: live.BoardWatch = app.state.board_watch
    polls = watch.polls

    async def complete() -> None:
        await asyncio.sleep(1.5)  # the streams are open and the watch has read where it starts
        done = await world.patch(manifest["id"], {"status": "done"}, world.consul, '"1"')
        assert done.status_code == 200, done.text

    streams = [
        world.client.get(EVENTS, headers=who)
        for who in (world.consul, world.officer, world.coordinator, other)
    ]
    consul, officer, coordinator, elsewhere, _ = await asyncio.gather(*streams, complete())
    # (More than one when a watch still running from an earlier stream saw the tasks made.)
    assert refreshes(consul) >= 1
    assert refreshes(officer) >= 1  # the hand-off
    assert refreshes(coordinator) >= 1  # coordinators see every task
    assert refreshes(elsewhere) == 0
    assert ": heartbeat\n\n" in elsewhere.text
    # One poller for the four streams, once a second (and one read to start from).
    assert watch.polls - polls <= live.LIFETIME_S / live.POLL_S + 2
    assert not watch.subscribers


async def test_a_comment_and_a_reassignment_reach_the_boards_too(
    world: World, short_streams: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = await world.task(world.embassy)

    async def change() -> None:
        await asyncio.sleep(1.5)
        said = await world.client.post(
            f"/api/v1/tasks/{task['id']}/comments", json={"body": "On it"}, headers=world.consul
        )
        assert said.status_code == 201, said.text
        await asyncio.sleep(1.2)
        moved = await world.patch(
            task["id"], {"assignee_org": world.ministry}, world.coordinator, '"1"'
        )
        assert moved.status_code == 200, moved.text

    monkeypatch.setattr(live, "LIFETIME_S", 5.0)
    consul, officer, _ = await asyncio.gather(
        world.client.get(EVENTS, headers=world.consul),
        world.client.get(EVENTS, headers=world.officer),
        change(),
    )
    # Its comment, then the task handed to the ministry (and the task's creation, when a watch
    # still running from an earlier stream had read before it).
    assert refreshes(consul) >= 2
    assert refreshes(officer) == 1  # the task it now holds


async def test_the_stream_ends_when_the_client_goes(app: FastAPI, make_token: TokenFactory) -> None:
    """Straight through ASGI, as a server runs it: the client goes two seconds in, well before
    the stream's lifetime, and the stream ends with it and leaves the watch."""
    token = await make_token(Role.COORDINATOR)
    scope = http_scope(
        "GET", EVENTS, {"host": "lifeline.test", **bearer(token)}, spec_version="2.3"
    )
    asked = False
    body = b""

    async def receive() -> dict[str, object]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(2)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        nonlocal body
        if message["type"] == "http.response.body":
            body += bytes(message.get("body", b""))  # type: ignore[arg-type]

    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(live.LIFETIME_S / 2):
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert asyncio.get_running_loop().time() - started < live.LIFETIME_S / 2
    assert body.startswith(b"retry: ")
    assert not app.state.board_watch.subscribers


async def test_an_open_stream_holds_no_database_connection(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory, short_streams: None
) -> None:
    """The request's session ends before the stream begins and the watch holds one only for a
    poll: with a stream open, the pool has nothing checked out between polls (PostgreSQL's
    pool; SQLite opens a connection each time)."""
    pool = app.state.engine.pool
    if not hasattr(pool, "checkedout"):
        return
    token = await make_token(Role.COORDINATOR)
    samples: list[int] = []

    async def sample() -> None:
        await asyncio.sleep(0.3)
        for _ in range(10):
            samples.append(pool.checkedout())
            await asyncio.sleep(0.25)

    stream, _ = await asyncio.gather(client.get(EVENTS, headers=bearer(token)), sample())
    assert stream.status_code == 200
    assert min(samples) == 0 and max(samples) <= 1, samples
