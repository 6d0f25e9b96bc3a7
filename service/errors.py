"""The error tree of the service and its rendering as RFC 9457 problem details."""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from service.db import database_unavailable, is_unique_violation
from service.observability import (
    DATABASE_RETRY_AFTER_S,
    DATABASE_UNAVAILABLE,
    BodyError,
    current_request_id,
)

log = logging.getLogger("lifeline.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://lifeline.example.org/problems/"


class LifelineError(Exception):
    """Base of every error that domain code raises; carries its HTTP status.

    Domain code never raises ``HTTPException``: it raises one of these, and one handler turns
    it into problem details.
    """

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.extra = dict(extra or {})
        self.headers = headers or {}


class InvalidInput(LifelineError):
    status, code, title = 422, "invalid-input", "The input is not valid"


class UnsafeUrlRefused(InvalidInput):
    code, title = "unsafe-url", "The URL leads where Lifeline does not call"


class Unauthenticated(LifelineError):
    status, code, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str = "Send a valid token: Authorization: Bearer <token>") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(LifelineError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(LifelineError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(LifelineError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class PreconditionFailed(LifelineError):
    status, code, title = 412, "precondition-failed", "The record changed since you read it"


class PreconditionRequired(LifelineError):
    """A change sent without ``If-Match``: nothing says which version it was meant for."""

    status, code, title = 428, "precondition-required", "Say which version you read"


class PayloadTooLarge(LifelineError):
    status, code, title = 413, "payload-too-large", "The request body is too large"


class RateLimited(LifelineError):
    status, code, title = 429, "rate-limited", "Too many requests"


def database_unavailable_problem() -> JSONResponse:
    """The answer to a request that met the database away (``service.db.database_unavailable``)."""
    return problem(
        503,
        code=DATABASE_UNAVAILABLE["code"],
        title=DATABASE_UNAVAILABLE["title"],
        detail=DATABASE_UNAVAILABLE["detail"],
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def problem(
    status: int,
    *,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _lifeline_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LifelineError)
    return problem(
        exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
    return problem(
        422,
        code="invalid-input",
        title="The input is not valid",
        detail=f"{len(errors)} problem(s) in the request; see errors",
        errors=errors,
    )


def allowed_methods(request: Request) -> str | None:
    """Every method the API takes on the request's path, for ``Allow``: each method of a path is
    a route of its own, and the router's 405 names only the first route whose path matched. Read
    from the OpenAPI document, which lists them all: the path itself when it is one
    (``/playbooks/validate``), else every path whose parameters it fills; ``None`` for a path it
    does not list."""
    state = request.app.state
    paths: dict[str, Any] | None = getattr(state, "allow_paths", None)
    if paths is None:
        paths = {
            path: (compile_path(path)[0], {method.upper() for method in item})
            for path, item in request.app.openapi()["paths"].items()
        }
        state.allow_paths = paths
    path = request.url.path
    if path in paths:
        return ", ".join(sorted(paths[path][1]))
    methods = {m for pattern, found in paths.values() if pattern.match(path) for m in found}
    return ", ".join(sorted(methods)) if methods else None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return problem(
        exc.status_code,
        code=phrase.lower().replace(" ", "-"),
        title=phrase,
        detail=detail,
        headers=headers,
    )


async def _body_error(_: Request, exc: Exception) -> JSONResponse:
    """A body over the limit or cut short, met by whichever reader: one answer for all."""
    assert isinstance(exc, BodyError)
    return problem(exc.status_code, code=exc.code, title=exc.title, detail=exc.detail)


async def _constraint(request: Request, exc: Exception) -> JSONResponse:
    """A unique index refused the write: a concurrent request wrote the same record first (the
    checks before the write could not see it yet). The transaction was rolled back, so sending
    the request again is safe; ``Retry-After`` says so, and keeps the answer out of the
    idempotency store. Any other integrity error is a bug, and answers as one."""
    if not is_unique_violation(exc):
        return await _unexpected(request, exc)
    log.warning(
        "write refused by a unique index: %s",
        getattr(exc, "constraint_name", None) or type(exc).__name__,
    )
    return problem(
        409,
        code="concurrent-write",
        title="A concurrent change came first",
        detail="A concurrent change wrote the same record first; nothing was written. "
        "Send the request again",
        headers={"Retry-After": "0"},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database error, or a connection's: a 503 when the database is away (the request may
    succeed later), any other a bug."""
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    # One line, no trace: an outage makes one per request, and the cause is the server's.
    log.warning("database unavailable: %s", _cause(exc))
    return database_unavailable_problem()


def _cause(exc: BaseException) -> str:
    """The error at the root of ``exc``, for the log: ``ConnectionRefusedError: ...``."""
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return f"{type(root).__name__}: {root}"[:300]


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(
        500,
        code="internal-error",
        title="Internal error",
        detail="Something went wrong on our side; quote the request id when you report it",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LifelineError, _lifeline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(BodyError, _body_error)
    app.add_exception_handler(IntegrityError, _constraint)
    # Raised as is by the bulk paths that talk to asyncpg directly (COPY).
    app.add_exception_handler(asyncpg.UniqueViolationError, _constraint)
    # The database away: what SQLAlchemy raises, what asyncpg raises as is (COPY, a connection
    # closed under a statement), and the socket's own errors from a connection being made.
    for raised in (
        DBAPIError,
        PoolTimeout,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        ConnectionError,
        socket.gaierror,
        TimeoutError,
    ):
        app.add_exception_handler(raised, _database_error)
    app.add_exception_handler(Exception, _unexpected)
