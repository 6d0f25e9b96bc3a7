"""Request-scoped dependencies: one database session per request, committed before the response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

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


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
