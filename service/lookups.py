"""A record by its key, or the 404 problem: the one lookup every domain uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from service.errors import NotFound

M = TypeVar("M", bound=SQLModel)


def not_found(noun: str, key: Any) -> NotFound:
    """The 404 of a record that is not there, or that the caller may not know is there."""
    return NotFound(f"No {noun} with id {key}")


async def get_or_404(
    session: AsyncSession,
    model: type[M],
    key: Any,
    *,
    noun: str,
    visible: Callable[[M], bool] | None = None,
) -> M:
    """The ``model`` row whose primary key is ``key``; a 404 if there is none, or if it is not
    ``visible`` to the caller (the caller cannot tell the two apart)."""
    found = await session.get(model, key)
    if found is None or (visible is not None and not visible(found)):
        raise not_found(noun, key)
    return found
