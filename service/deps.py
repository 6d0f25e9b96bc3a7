"""Request-scoped dependencies: one database session per request, committed before the response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from service.openapi import raises
from service.settings import Settings


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


# 412 and 428 come from the domain functions that compare the version; every route that takes
# the header can meet them.
@raises(412, 422, 428)
async def if_match_version(
    if_match: Annotated[str | None, Header(description="The version you read")] = None,
) -> int | None:
    """The ``If-Match`` header as a record version (``"3"``, ``3`` or ``W/"3"``), None if absent.

    Async, like every dependency here: FastAPI runs a plain function in a worker thread.
    """
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        from service.errors import InvalidInput

        raise InvalidInput(
            "If-Match must be the record's version number",
            errors=[{"loc": ["header", "if-match"], "msg": "not a version"}],
        ) from exc


IfMatch = Annotated[int | None, Depends(if_match_version)]
