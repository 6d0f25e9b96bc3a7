"""The OpenAPI document declares every answer the service gives: by rule, then by calling it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from service.pagination import encode_cursor
from tests.conftest import TokenFactory, bearer

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
DUMMY_ID = "00000000-0000-0000-0000-000000000000"
WRITES = {"post", "put", "patch", "delete"}
#: Somewhere at sea, far from every registered worker.
OPEN_SEA = {
    "type": "Polygon",
    "coordinates": [[[80.0, -30.0], [80.1, -30.0], [80.1, -29.9], [80.0, -29.9], [80.0, -30.0]]],
}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}


def test_every_api_operation_declares_the_problems_its_shape_can_cause(app: FastAPI) -> None:
    spec = app.openapi()
    api = [op for op in operations(spec) if op[1].startswith("/api/")]
    assert len(api) >= 40
    for method, path, operation in api:
        declared = set(operation["responses"])
        expected = {"401", "500"}
        if "security" in operation:
            # A route a provider calls carries its signature, not a token: no role to refuse.
            expected.add("403")
        if operation.get("parameters") or "requestBody" in operation:
            expected.add("422")
        if "requestBody" in operation:
            expected |= {"400", "413"}
        if "{" in path:
            expected.add("404")
        if "if-match" in header_names(operation):
            expected |= {"412", "428"}
        if method in WRITES:
            expected |= {"409", "422"}
            assert "idempotency-key" in header_names(operation), (method, path)
        assert expected <= declared, (method, path, sorted(expected - declared))


def test_every_problem_answer_is_the_problem_schema(app: FastAPI) -> None:
    spec = app.openapi()
    for method, path, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert answer["content"] == PROBLEM, (method, path, status)
                assert answer["description"], (method, path, status)
    schemas = spec["components"]["schemas"]
    # FastAPI's own 422 shape is not what the service sends.
    assert "HTTPValidationError" not in schemas
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"instance", "errors", "request_id"} <= set(problem["properties"])
    assert schemas["ProblemError"]["required"] == ["loc", "msg"]


def test_the_cursor_is_described_as_the_token_it_is(app: FastAPI) -> None:
    cursors = [
        p
        for _, _, operation in operations(app.openapi())
        for p in operation.get("parameters", [])
        if p["name"] == "cursor"
    ]
    assert len(cursors) >= 8
    for cursor in cursors:
        schema = next(s for s in cursor["schema"]["anyOf"] if s.get("type") == "string")
        assert schema["pattern"] == "^[A-Za-z0-9_-]{1,512}$"
        assert "next_cursor" in cursor["description"]
        assert "422" in cursor["description"]


def string_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The string alternatives of a parameter's schema (a plain one or inside anyOf)."""
    alternatives = schema.get("anyOf", [schema])
    return [s for s in alternatives if s.get("type") == "string"]


def test_every_text_query_parameter_says_what_text_it_takes(app: FastAPI) -> None:
    # The document is the contract: a filter declared as any string promises to take any string,
    # control characters included, and the service refuses those (PostgreSQL cannot hold NUL).
    # So each declares its values: an enum, a format or a pattern.
    loose = [
        (method, path, parameter["name"])
        for method, path, operation in operations(app.openapi())
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
        for schema in string_schemas(parameter["schema"])
        if not ({"enum", "const", "format", "pattern"} & set(schema))
    ]
    assert loose == []


def check(spec: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """The answer's status is declared for the operation, with the content type it came in."""
    operation = spec["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], (method, path, status, response.text[:300])
    content = operation["responses"][status].get("content")
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", (method, path)
        body = response.json()
        assert {"type", "title", "status", "detail"} <= set(body), body
        assert body["status"] == response.status_code
        for error in body.get("errors", []):
            assert set(error) == {"loc", "msg"}, body
    elif content and response.status_code != 204:
        media = response.headers["content-type"].split(";")[0]
        assert media in content, (method, path, media)


async def test_every_answer_to_a_wrong_call_is_declared(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    spec = app.openapi()
    admin = bearer(await make_token(Role.ADMIN))
    viewer = bearer(await make_token(Role.VIEWER))
    calls = 0
    for method, path, operation in operations(spec):
        if not path.startswith("/api/"):
            continue
        url = path.replace("{id}", DUMMY_ID).replace("{name}", "nothing").replace("{key}", "none")
        has_body = "requestBody" in operation
        attempts: list[dict[str, Any]] = [
            {},  # no token
            {"headers": {"Authorization": "Bearer ll_unknown"}},
            {"headers": viewer, "json": {} if has_body else None},
            {"headers": admin, "json": {} if has_body else None},
        ]
        if has_body:
            attempts.append(
                {
                    "headers": {**admin, "Content-Type": "application/json"},
                    "content": b'{"cut": ',
                }
            )
        names = {p["name"] for p in operation.get("parameters", [])}
        if "cursor" in names:
            for cursor in ("not a cursor!", "AAAA", encode_cursor("elsewhere"), "x" * 600):
                attempts.append({"headers": admin, "params": {"cursor": cursor}})
        if "limit" in names:
            attempts.append({"headers": admin, "params": {"limit": 0}})
        if "if-match" in header_names(operation):
            attempts.append({"headers": {**admin, "If-Match": "not-a-version"}, "json": {}})
        if method in WRITES:
            attempts.append({"headers": {**admin, "Idempotency-Key": "k" * 256}})
        for attempt in attempts:
            response = await client.request(method.upper(), url, **attempt)
            check(spec, method, path, response)
            calls += 1
    assert calls > 200


async def test_a_stale_or_malformed_if_match_is_declared(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    spec = app.openapi()
    coordinator = bearer(await make_token(Role.COORDINATOR))
    made = await client.post(
        "/api/v1/crises",
        json={
            "title": "Drill at sea",
            "hazard": "flood",
            "severity": "minor",
            "exercise": True,
            "zones": OPEN_SEA,
        },
        headers=coordinator,
    )
    check(spec, "post", "/api/v1/crises", made)
    assert made.status_code == 201, made.text
    url = f"/api/v1/crises/{made.json()['id']}"
    for if_match, status in (("999", 412), ("W/x", 422)):
        response = await client.patch(
            url, json={"alert_level": 2}, headers={**coordinator, "If-Match": if_match}
        )
        assert response.status_code == status, response.text
        check(spec, "patch", "/api/v1/crises/{id}", response)
    tasks = await client.get(
        "/api/v1/tasks", params={"crisis": made.json()["id"]}, headers=coordinator
    )
    check(spec, "get", "/api/v1/tasks", tasks)
    for task in tasks.json()["items"][:1]:
        stale = await client.patch(
            f"/api/v1/tasks/{task['id']}",
            json={"status": "in_progress"},
            headers={**coordinator, "If-Match": str(task["version"] + 5)},
        )
        assert stale.status_code == 412, stale.text
        check(spec, "patch", "/api/v1/tasks/{id}", stale)


async def test_a_foreign_cursor_is_refused_as_the_document_says(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    spec = app.openapi()
    admin = bearer(await make_token(Role.ADMIN))
    for cursor in ("AAAA", encode_cursor("an id"), "not a cursor!"):
        response = await client.get("/api/v1/workers", params={"cursor": cursor}, headers=admin)
        assert response.status_code == 422, (cursor, response.text)
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
        check(spec, "get", "/api/v1/workers", response)


async def test_a_reference_to_nothing_in_a_body_or_query_is_declared(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    spec = app.openapi()
    admin = bearer(await make_token(Role.ADMIN))
    for method, path, kwargs in (
        (
            "post",
            "/api/v1/tasks",
            {"json": {"crisis_id": DUMMY_ID, "title": "Call", "assignee_org": "none"}},
        ),
        ("post", "/api/v1/tokens", {"json": {"organization": "no-such-org", "role": "viewer"}}),
        ("get", "/api/v1/tokens", {"params": {"organization": "no-such-org"}}),
    ):
        response = await client.request(method.upper(), path, headers=admin, **kwargs)
        assert response.status_code == 404, (path, response.text)
        check(spec, method, path, response)
