"""Keyset pagination: ``?limit=`` and an opaque ``?cursor=``, answered ``{items, next_cursor}``."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from service.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


LimitParam = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50, at most 500)")
]
#: What ``encode_cursor`` gives out: unpadded base64url. Any other string is refused (422) by
#: validation; one of this shape that this list did not give out is refused (422) by
#: ``decode_cursor`` or the list itself.
CURSOR_PATTERN = "^[A-Za-z0-9_-]{1,512}$"
CursorParam = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=CURSOR_PATTERN,
        description="The `next_cursor` of the previous page of this list, exactly as given: an "
        "opaque token of this service. Leave it out for the first page. A cursor this list did "
        "not give out is refused with a 422 problem (`invalid-input`, `loc` "
        '`["query", "cursor"]`): start again without it.',
    ),
]


def encode_cursor(key: Any) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput(
            "The cursor is not one this service gave out; start again without it",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc


def encode_time_cursor(at: datetime, last_id: str) -> str:
    """The cursor of a list in time order: the time and id of the last item shown."""
    return encode_cursor([at.isoformat(), last_id])


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, id) of ``encode_time_cursor``; a 422 for any other cursor."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        at, last_id = key
        return datetime.fromisoformat(at), str(last_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "The cursor is not one this service gave out; start again without it",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc
