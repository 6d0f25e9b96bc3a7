"""Liveness and readiness."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from service.app import create_app, prepare_routes, route_paths
from service.migrate import downgrade, head_revision, revisions, upgrade
from tests.conftest import Databases, settings_for


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "exposure_index": "ok"}


async def test_not_ready_until_migrated(databases: Databases, backend: str) -> None:
    url = await databases.create(backend, migrated=False)
    app = create_app(settings_for(url), configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            before = await c.get("/readyz")
            assert before.status_code == 503
            assert before.headers["content-type"] == "application/problem+json"
            assert "expected" in before.json()["checks"]["migrations"]
            await upgrade(app.state.engine)
            await app.state.register_index.build()
            assert (await c.get("/readyz")).status_code == 200
            # A later release's migration run while this one serves: still ready.
            async with app.state.engine.begin() as conn:
                await conn.execute(text("UPDATE alembic_version SET version_num = '9999_later'"))
            assert (await c.get("/readyz")).status_code == 200
            async with app.state.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE alembic_version SET version_num = :head"),
                    {"head": head_revision()},
                )
            # Behind this release: not ready.
            await downgrade(app.state.engine, revisions()[-2])
            behind = await c.get("/readyz")
            assert behind.status_code == 503 and "expected" in behind.text
            await downgrade(app.state.engine, "base")
            assert (await c.get("/readyz")).status_code == 503


def test_every_route_is_prepared_before_the_first_request(app: FastAPI) -> None:
    # FastAPI prepares a router's routes at the first request that reaches it, on the event
    # loop; the lifespan does it for every route first, in a thread.
    routes = list(route_paths(app.router.routes))
    assert len(routes) > 80
    assert ("/api/v1/alerts/cap", "POST") in routes
    assert ("/console/tasks", "GET") in routes
    assert prepare_routes(app) == len(routes)


async def test_migrate_on_start_brings_an_empty_database_to_ready(
    databases: Databases, backend: str
) -> None:
    """``LIFELINE_MIGRATE_ON_START``: the API migrates before it serves (on an engine of its
    own, without the requests' statement deadline), and is ready."""
    url = await databases.create(backend, migrated=False)
    settings = settings_for(url).model_copy(update={"migrate_on_start": True})
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            ready = await c.get("/readyz")
    assert ready.status_code == 200, ready.text
