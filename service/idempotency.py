"""``Idempotency-Key``: a retried write gets the first answer again instead of acting twice.

Keys are scoped to the caller's credentials, stored with a hash of the request, and kept for
``RETENTION``. The same key with a different request is refused. A request without credentials,
or to no operation (a path or method the API does not have), is not an idempotent write: it is
answered as without a key (401, 404, 405), and nothing is stored for it. Two requests racing
with the same key may both run; the natural keys of the domain (a slug, a document number, a
feed item's id) then keep the second from creating anything.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, LargeBinary, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.db import UTCDateTime, database_unavailable, utcnow
from service.observability import send_problem

log = logging.getLogger("lifeline.idempotency")
RETENTION = timedelta(hours=24)
MAX_STORED_BODY = 1_000_000
_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class IdempotentResponse(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    key_hash: str = Field(primary_key=True, max_length=64)
    request_hash: str = Field(max_length=64)
    status_code: int
    content_type: str | None = Field(default=None, max_length=100)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


def _reaches_an_operation(scope: Scope) -> bool:
    """Whether a route of the app takes this method on this path."""
    return any(route.matches(scope)[0] is Match.FULL for route in scope["app"].router.routes)


@dataclass
class _Captured:
    status: int | None = None
    content_type: str | None = None
    body: bytes = b""
    retry: bool = False


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        key = headers.get(b"idempotency-key")
        credentials = headers.get(b"authorization")
        if key is None or not credentials or not _reaches_an_operation(scope):
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            await send_problem(
                send,
                422,
                code="invalid-input",
                title="The input is not valid",
                detail="Idempotency-Key must be 1 to 255 characters",
            )
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        key_hash = hashlib.sha256(credentials + b"\x00" + key).hexdigest()
        request_hash = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\x00" + body
        ).hexdigest()
        maker = scope["app"].state.sessionmaker
        async with maker() as session:
            stored = await session.get(IdempotentResponse, key_hash)
        if stored is not None and stored.created_at > utcnow() - RETENTION:
            if stored.request_hash != request_hash:
                await send_problem(
                    send,
                    422,
                    code="idempotency-key-reused",
                    title="Idempotency-Key reused",
                    detail="This Idempotency-Key was used for a different request; use a new key",
                )
                return
            response_headers = [(b"idempotent-replayed", b"true")]
            if stored.content_type:
                response_headers.append((b"content-type", stored.content_type.encode()))
            response_headers.append((b"content-length", str(len(stored.body)).encode()))
            await send(
                {
                    "type": "http.response.start",
                    "status": stored.status_code,
                    "headers": response_headers,
                }
            )
            await send({"type": "http.response.body", "body": stored.body})
            return

        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        captured = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                for name, value in message.get("headers", []):
                    header = name.lower()
                    if header == b"content-type":
                        captured.content_type = value.decode("latin-1")
                    elif header == b"retry-after":
                        captured.retry = True
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")
            await send(message)

        await self.app(scope, replay_body, capture)
        status = captured.status
        stored_body = captured.body
        # Server errors are not answers, nor is an answer that asks for a retry (429, a
        # concurrent write): a retry after one should try again.
        if (
            isinstance(status, int)
            and status < 500
            and not captured.retry
            and len(stored_body) <= MAX_STORED_BODY
        ):
            # The answer has gone out already: a database gone away meanwhile costs the
            # replay, not the connection (raising now would cut the client's next request on
            # it). A retry with this key then runs the write again; the service's natural
            # keys make most writes idempotent without it.
            try:
                async with maker() as session:
                    if stored is not None:  # expired: replace it
                        await session.execute(
                            delete(IdempotentResponse).where(
                                IdempotentResponse.key_hash == key_hash  # type: ignore[arg-type]
                            )
                        )
                    session.add(
                        IdempotentResponse(
                            key_hash=key_hash,
                            request_hash=request_hash,
                            status_code=status,
                            content_type=captured.content_type,
                            body=stored_body,
                        )
                    )
                    try:
                        await session.commit()
                    except IntegrityError:
                        await session.rollback()
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                log.warning("answer not kept for its Idempotency-Key: the database is away")
