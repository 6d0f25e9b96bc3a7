"""Request-scoped dependencies: one database session per request, committed before the response."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.openapi import IF_MATCH_PATTERN, raises
from service.settings import Settings


# The database may be away: the request then answers 503 (``service.errors``).
@raises(503)
async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work.

    Function-scoped: the commit runs when the endpoint returns, before the response is sent,
    so a client never sees success for a write that failed to commit.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def etag(version: int) -> str:
    """The ``ETag`` of a record at ``version``: strong, the version in quotes (``"3"``)."""
    return f'"{version}"'


def send_etag(response: Response, version: int) -> None:
    """Every answer that carries a versioned record says its version in ``ETag``."""
    response.headers["ETag"] = etag(version)


# 412 comes from the domain functions that compare the version: every route that takes the
# header can meet it, and 428 and 422 from here.
@raises(412, 422, 428)
async def if_match_version(
    request: Request,
    if_match: Annotated[
        str | None,
        Header(
            description='The `ETag` of the record as you read it (`"3"`); `3` and `W/"3"` are '
            "taken too. Required: without it the answer is 428"
        ),
    ] = None,
) -> int:
    """The ``If-Match`` header as the record version the caller read.

    Accepted (``IF_MATCH_PATTERN``, which the OpenAPI document gives): the ``ETag`` as sent
    (``"3"``), the bare version that API.md names (``3``) and the weak form (``W/"3"``), which a
    proxy may make of a strong ``ETag`` when it compresses the answer. Absent: a 428 that says
    what to send (a stale version is the service's 412).
    Async, like every dependency here: FastAPI runs a plain function in a worker thread.
    """
    from service.errors import InvalidInput, PreconditionRequired

    read = request.url.path
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            f'Send If-Match: "<version>" with the version you read: the ETag that GET {read} '
            "answers. A change without it could overwrite someone else's"
        )
    if re.fullmatch(IF_MATCH_PATTERN, if_match.strip()):
        return int(if_match.strip().removeprefix("W/").strip('"'))
    raise InvalidInput(
        f'If-Match must be the record\'s ETag, such as "3": the one GET {read} answers',
        errors=[{"loc": ["header", "if-match"], "msg": "not a version"}],
    )


IfMatch = Annotated[int, Depends(if_match_version)]
