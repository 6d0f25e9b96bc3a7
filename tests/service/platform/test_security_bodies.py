"""Hostile bodies get one answer whatever reads them (FastAPI's JSON and form parsing, the CAP
route's raw bytes, the idempotency store): a body over the limit is a 413 whether or not it
declares a ``Content-Length``, counted as it streams and not read further; a client that goes
away mid-body gets a 400 logged at info, and nothing of the request is done."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from service.auth.permissions import Role
from service.registry.models import Worker
from tests.conftest import TokenFactory, http_scope, unique

MB = 1_000_000
BOUNDARY = "lifeline-test-boundary"
CAP_START = (
    b'<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
    b"<identifier>" + b"x" * 64
)
CSV_START = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="workers.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
    "nationality,given_name,family_name,sex,birth_date,document_number,phone,languages,sector,"
    "employer,lat,lon,accompanying_family,vulnerabilities,share_with_humanitarian,"
    "share_with_embassy,legal_basis,source\n"
    "PHL,Maria,Santos,F,1990-04-02,DISC-1,,,care,,3.139,101.6869,0,,,,vital_interest,import\n"
).encode()

#: (path, content type, the start of a plausible body): a JSON route, the raw CAP route, and
#: the multipart import.
ROUTES = [
    ("/api/v1/workers", "application/json", b'{"nationality": "PHL", "given_name": "' + b"a" * 64),
    ("/api/v1/alerts/cap", "application/cap+xml", CAP_START),
    ("/api/v1/workers/import", f"multipart/form-data; boundary={BOUNDARY}", CSV_START),
]


@dataclass
class Sent:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0


async def call(
    app: FastAPI,
    path: str,
    content_type: str,
    chunks: list[bytes],
    *,
    token: str,
    ending: str,
    declared: int | None = None,
    extra: dict[str, str] | None = None,
) -> Sent:
    """One POST straight through ASGI: ``chunks`` then ``ending``, either ``"end"`` (the last,
    empty chunk) or ``"disconnect"`` (the client goes away)."""
    sent = Sent()
    headers = {"content-type": content_type, "authorization": f"Bearer {token}", **(extra or {})}
    if declared is not None:
        headers["content-length"] = str(declared)
    else:
        headers["transfer-encoding"] = "chunked"

    async def receive() -> dict[str, Any]:
        if sent.chunks_read < len(chunks):
            sent.chunks_read += 1
            return {"type": "http.request", "body": chunks[sent.chunks_read - 1], "more_body": True}
        if ending == "end" and sent.chunks_read == len(chunks):
            sent.chunks_read += 1
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = http_scope("POST", path, headers)
    await app(scope, receive, send)
    return sent


async def workers(app: FastAPI) -> int:
    async with app.state.engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(Worker))).scalar_one()
        )


@pytest.fixture
async def token(make_token: TokenFactory) -> str:
    return await make_token(Role.COORDINATOR)


@pytest.mark.parametrize(("path", "content_type", "start"), ROUTES)
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
async def test_a_body_over_the_limit_is_413_with_or_without_a_length(
    app: FastAPI, token: str, path: str, content_type: str, start: bytes, idempotent: bool
) -> None:
    """50 MB in 1 MB chunks against the 20 MB limit: the same problem whether the length is
    declared or not, and the chunks after the limit are never read."""
    limit = app.state.settings.max_body_bytes
    filler = b"7" * MB
    chunks = [start, *([filler] * 50)]
    extra = {"idempotency-key": unique("big")} if idempotent else None
    answers = []
    for declared in (sum(map(len, chunks)), None):
        sent = await call(
            app,
            path,
            content_type,
            chunks,
            token=token,
            ending="end",
            declared=declared,
            extra=extra,
        )
        assert sent.status == 413, sent.body
        assert sent.headers["content-type"] == "application/problem+json"
        answers.append({k: v for k, v in json.loads(sent.body).items() if k != "request_id"})
        assert sent.chunks_read <= limit // MB + 2  # streamed and counted, not read to the end
    assert answers[0] == answers[1]
    assert answers[0]["type"].endswith("/payload-too-large")
    assert answers[0]["detail"] == f"Send at most {limit} bytes"


@pytest.mark.parametrize(("path", "content_type", "start"), ROUTES)
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
async def test_a_client_gone_mid_body_is_a_400_logged_at_info_and_nothing_is_done(
    app: FastAPI,
    token: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
    content_type: str,
    start: bytes,
    idempotent: bool,
) -> None:
    before = await workers(app)
    extra = {"idempotency-key": unique("gone")} if idempotent else None
    with caplog.at_level(logging.INFO):
        sent = await call(
            app,
            path,
            content_type,
            [start, b"more,"],
            token=token,
            ending="disconnect",
            extra=extra,
        )
    assert sent.status == 400, sent.body
    problem = json.loads(sent.body)
    assert problem["type"].endswith("/body-incomplete")
    assert str(len(start) + len(b"more,")) in problem["detail"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(
        r.levelno == logging.INFO and "disconnected" in r.getMessage() for r in caplog.records
    )
    assert "Traceback" not in caplog.text
    assert await workers(app) == before


async def test_a_disconnect_after_the_body_is_left_to_the_route(app: FastAPI, token: str) -> None:
    """A whole body then a disconnect is an ordinary request: the disconnect is no error."""
    sent = await call(
        app,
        "/api/v1/alerts/cap",
        "application/cap+xml",
        [b"<not-cap/>"],
        token=token,
        ending="end",
    )
    assert sent.status == 422


async def test_every_route_with_a_body_declares_these_answers(app: FastAPI) -> None:
    spec = app.openapi()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch"}:
                assert {"400", "413"} <= set(operation["responses"]), (method, path)
