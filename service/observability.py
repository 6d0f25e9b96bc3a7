"""Request ids and structured logs: every response and every log line carries the request id."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.db import database_unavailable

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lifeline_request_id", default=None
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_purpose: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lifeline_purpose", default=None
)
REQUEST_ID_HEADER = "x-request-id"

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def current_request_id() -> str | None:
    return _request_id.get()


def current_purpose() -> str | None:
    """Why the caller says they make this request (``X-Lifeline-Purpose``), for the audit log."""
    return _purpose.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Route every log record (ours, uvicorn's, SQLAlchemy's) through one handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our middleware writes one access line per request, with the request id.
    logging.getLogger("uvicorn.access").disabled = True


#: A year, the least the HSTS preload list takes; subdomains too, as ASVS level 2 asks.
HSTS = b"max-age=31536000; includeSubDomains"


def _private(path: str) -> bool:
    """Whether answers under ``path`` depend on who asks: the API and the console's pages."""
    if path.startswith("/console/static/"):
        return False
    return any(path == root or path.startswith(root + "/") for root in ("/api", "/console"))


def answer_headers(
    path: str, headers: list[tuple[bytes, bytes]], *, served_over_https: bool
) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries, added to ``headers`` where they are not there already:
    ``nosniff``, so that no browser reads a JSON answer or a download as a page or a script;
    ``Cache-Control: no-store`` on the API and the console's pages, whose answers are personal
    data or follow from who asked, unless the route chose its own (the console's static files,
    the same for everyone, may be cached); and HSTS when the deployment is served over HTTPS
    (never in local HTTP, where it would pin a browser to an HTTPS nobody serves)."""
    present = {name.lower() for name, _ in headers}
    added = [(b"x-content-type-options", b"nosniff")]
    if _private(path):
        added.append((b"cache-control", b"no-store"))
    if served_over_https:
        added.append((b"strict-transport-security", HSTS))
    return headers + [(name, value) for name, value in added if name not in present]


class RequestContextMiddleware:
    """Give each request an id (the caller's ``X-Request-ID`` when well-formed), echo it in the
    response with the headers every answer carries (``answer_headers``), refuse bodies over
    the limit, and log one access line."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, served_over_https: bool = False
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.served_over_https = served_over_https
        self.log = logging.getLogger("lifeline.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = purpose = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"x-lifeline-purpose":
                purpose = value.decode("utf-8", "replace").strip()[:200] or None
        request_id = incoming if incoming and _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        purpose_token = _purpose.set(purpose)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500, "started": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers = answer_headers(
                    scope.get("path", ""), headers, served_over_https=self.served_over_https
                )
                message = {**message, "headers": headers}
            await send(message)

        try:
            if _URL_CONTROL.search(scope.get("path", "")):
                # A path with a control character names no resource; PostgreSQL refuses NUL
                # in text, so it must never reach a lookup.
                await send_problem(
                    send_with_id,
                    404,
                    code="not-found",
                    title="Not found",
                    detail="No resource has a path holding a control character",
                )
                return
            if (where := _control_character_in_query(scope)) is not None:
                # Nobody types a control character in a query; the declared filters refuse them
                # by pattern, and this catches the undeclared ones before any query sees them.
                await send_problem(
                    send_with_id,
                    422,
                    code="invalid-input",
                    title="The input is not valid",
                    detail=f"{where} holds a control character (U+0000 to U+001F or U+007F)",
                )
                return
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            await self.app(scope, _guarded(receive, self.max_body_bytes), send_with_id)
        except BodyError as exc:
            # Met outside the routes (the idempotency store reads the body first); inside them
            # the app's handler answered the same problem already.
            if status_holder["started"]:
                return
            await send_problem(
                send_with_id, exc.status_code, code=exc.code, title=exc.title, detail=exc.detail
            )
        except Exception as exc:
            if database_unavailable(exc) and not status_holder["started"]:
                # Met outside the routes (the idempotency store): the app's handlers answer
                # the same inside them.
                logging.getLogger("lifeline.errors").warning("database unavailable: %r", exc)
                await send_problem(
                    send_with_id,
                    503,
                    code=DATABASE_UNAVAILABLE["code"],
                    title=DATABASE_UNAVAILABLE["title"],
                    detail=DATABASE_UNAVAILABLE["detail"],
                    headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
                )
                return
            # The last line of defence: a problem document with the request id, never a trace.
            logging.getLogger("lifeline.errors").error("unhandled error", exc_info=exc)
            if status_holder["started"]:
                raise
            await send_problem(
                send_with_id,
                500,
                code="internal-error",
                title="Internal error",
                detail="Something went wrong on our side; quote the request id when you report it",
            )
        finally:
            self.log.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status_holder["status"],
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            _request_id.reset(token)
            _purpose.reset(purpose_token)


class BodyError(StarletteHTTPException):
    """The request body could not be read whole; raised by the receive channel itself, so that
    every reader (FastAPI's JSON and form parsing, a route reading raw bytes, a middleware) meets
    the same error, and no handler sees a half body. An ``HTTPException``, so that FastAPI lets
    it through rather than calling it "an error parsing the body"."""

    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)


class BodyTooLarge(BodyError):
    """The body outgrew the limit: declared so in ``Content-Length``, or counted as it streamed."""

    code, title = "payload-too-large", "The request body is too large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Send at most {limit} bytes")


class BodyIncomplete(BodyError):
    """The client went away before the end of its body. Nobody reads the answer; it says
    what happened for the access log, and nothing of the request was done."""

    code, title = "body-incomplete", "The request body did not arrive whole"

    def __init__(self, received: int) -> None:
        super().__init__(
            400, f"The connection closed after {received} bytes of the body; nothing was done"
        )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _guarded(receive: Receive, limit: int) -> Receive:
    """The request's receive channel, counting the body as it streams (with or without a
    ``Content-Length``) and turning a disconnect before its end into ``BodyIncomplete``. After
    the last chunk a disconnect passes as is: a streaming response listens for it."""
    seen = 0
    complete = False

    async def wrapped() -> Message:
        nonlocal seen, complete
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            complete = not message.get("more_body", False)
        elif message["type"] == "http.disconnect" and not complete:
            # The client's doing, not a fault of ours: info, without a trace.
            logging.getLogger("lifeline.access").info(
                "client disconnected before the end of the body", extra={"received": seen}
            )
            raise BodyIncomplete(seen)
        return message

    return wrapped


_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _control_character_in_query(scope: Scope) -> str | None:
    """The query parameter whose name or value, once decoded, holds a control character."""
    query = scope.get("query_string", b"").decode("latin-1")
    if not query or ("%" not in query and not _URL_CONTROL.search(query)):
        return None
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace"):
        if _URL_CONTROL.search(name) or _URL_CONTROL.search(value):
            shown = _URL_CONTROL.sub("?", name)[:60]
            return f"The query parameter '{shown}'"
    return None


#: The problem of a request that met the database away (``service.db.database_unavailable``),
#: whether the app's handlers answer it or the last line of defence here. Almost always nothing
#: was written (the transaction did not commit); a connection lost during the commit itself may
#: leave it committed (and its Idempotency-Key unrecorded, the store being away too), so the
#: problem says to look before sending again a write that must not happen twice.
DATABASE_UNAVAILABLE = {
    "code": "database-unavailable",
    "title": "The database is unreachable",
    "detail": "Lifeline's database could not be reached or did not answer in time. Send the "
    "request again in a few seconds. Rarely, a write is made just as the connection is lost: "
    "look for it before sending again one that must not happen twice",
}
#: Seconds a client is told to wait before it sends such a request again: a restart or a
#: fail-over of PostgreSQL takes seconds, and the pool reconnects at once.
DATABASE_RETRY_AFTER_S = 5


async def send_problem(
    send: Send,
    status: int,
    *,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Send an RFC 9457 problem straight from ASGI, for errors raised outside the app's handlers."""
    body = json.dumps(
        {
            "type": f"https://lifeline.example.org/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "request_id": current_request_id(),
        },
        separators=(",", ":"),  # byte for byte as the app's handlers write it
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
