"""Every error is RFC 9457 problem details; every response and log line carries a request id."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from service.auth.permissions import Role
from service.observability import JsonFormatter
from tests.conftest import TokenFactory, bearer


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert set(missing.json()) >= {"type", "title", "status", "detail"}
    wrong_method = await client.put("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_malformed_json_is_a_located_422(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    response = await client.post(
        "/api/v1/organizations",
        content=b'{"slug": "abc", ',
        headers={**bearer(await make_token(Role.ADMIN)), "content-type": "application/json"},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"][0] == "body"
    assert "Traceback" not in response.text


async def test_a_body_over_the_limit_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    limit = app.state.settings.max_body_bytes
    response = await client.post("/api/v1/organizations", content=b"x" * (limit + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unexpected_error_is_a_500_problem_without_a_trace(own_app: FastAPI) -> None:
    from fastapi import APIRouter

    app = own_app  # a route is added: not to the app other tests share

    boom = APIRouter()

    @boom.get("/boom-for-test")
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/boom-for-test")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "caller-chosen-id-123"})
    assert given.headers["x-request-id"] == "caller-chosen-id-123"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    assert len(hostile.headers["x-request-id"]) == 32


async def test_log_lines_are_json_with_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lifeline.access"):
        response = await client.get("/healthz", headers={"X-Request-ID": "log-line-check-42"})
    records = [r for r in caplog.records if r.name == "lifeline.access"]
    assert records
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == response.headers["x-request-id"] == "log-line-check-42"
    assert line["status"] == 200
    assert line["path"] == "/healthz"


async def test_openapi_is_complete(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Lifeline"
    for path in (
        "/api/v1/organizations",
        "/api/v1/organizations/{id}",
        "/api/v1/tokens",
        "/api/v1/audit",
    ):
        assert path in spec["paths"], path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
