"""Keyset pagination: ``?limit=`` and an opaque ``?cursor=``, answered ``{items, next_cursor}``.

Every list pages the same way, with ``paginate``: the select with its filters, the columns
that order it (the last one unique, so that ties in the first are broken), the direction, and
the page asked for. The cursor is the key of the last row shown, base64url JSON: the bare value
for a one-column key, a list for more; a time or a day as ISO 8601.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import TypeDecorator, and_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

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
#: ``paginate``.
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


#: A list filter a person or a client types: any text but control characters (no identifier,
#: name or code holds one, and PostgreSQL refuses NUL in text), at most 200 characters.
FILTER_TEXT_PATTERN = "^[^\\x00-\\x1f\\x7f]*$"
FilterText = Annotated[str | None, Query(max_length=200, pattern=FILTER_TEXT_PATTERN)]


def invalid_cursor() -> InvalidInput:
    """The one answer to a cursor this list did not give out."""
    return InvalidInput(
        "The cursor is not one this list gave out; start again without it",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
    )


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
        raise invalid_cursor() from exc


Key = Sequence[Any]  # the ordering columns: ``col(Model.field)``, or labelled expressions


def _python_type(column: Any) -> type:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):  # UTCDateTime, AutoString: the type they store
        sql_type = sql_type.impl_instance
    try:
        kind: type = sql_type.python_type
    except NotImplementedError:  # a type without one: taken as given
        return object
    return kind


def _value(column: Any, raw: Any) -> Any:
    """One part of a cursor, as the column's type, or the 422 if it cannot be one."""
    kind = _python_type(column)
    if kind is datetime:
        if not isinstance(raw, str):
            raise invalid_cursor()
        try:
            return datetime.fromisoformat(raw)
        except ValueError as exc:
            raise invalid_cursor() from exc
    if kind is date:
        if not isinstance(raw, str):
            raise invalid_cursor()
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise invalid_cursor() from exc
    if kind is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise invalid_cursor()
        return raw
    if kind is str and not isinstance(raw, str):
        raise invalid_cursor()
    if isinstance(raw, list | dict):
        raise invalid_cursor()
    return raw


def key_after(key: Key, cursor: str | None) -> list[Any] | None:
    """The key values a cursor names, checked against the columns of ``key``; None for none.

    A cursor of another shape or type than this list gives out is the 422 of ``invalid_cursor``
    (so a list keyed by number refuses the cursor of a list keyed by id, and the other way)."""
    decoded = decode_cursor(cursor)
    if decoded is None:
        return None
    parts = [decoded] if len(key) == 1 else decoded
    if not isinstance(parts, list) or len(parts) != len(key):
        raise invalid_cursor()
    return [_value(column, raw) for column, raw in zip(key, parts, strict=True)]


def beyond(key: Key, values: Sequence[Any], *, descending: bool) -> ColumnElement[bool]:
    """Rows after ``values`` in the order of ``key``: (a, b) > (x, y) written out, which
    every database plans on an index of (a, b)."""
    terms = []
    for i, (column, value) in enumerate(zip(key, values, strict=True)):
        step = column < value if descending else column > value
        terms.append(and_(*[c == v for c, v in zip(key[:i], values[:i], strict=True)], step))
    return or_(*terms)


def cursor_of(key_values: Sequence[Any]) -> str:
    """The cursor that continues after a row whose key is ``key_values``."""
    plain = [v.isoformat() if isinstance(v, datetime | date) else v for v in key_values]
    return encode_cursor(plain[0] if len(plain) == 1 else plain)


def _key_values(row: Any, key: Key) -> list[Any]:
    # A row of several entities (a model and joined columns) is keyed by its first.
    entity = row[0] if isinstance(row, Sequence) else row
    return [getattr(entity, column.key) for column in key]


async def paginate(
    session: AsyncSession,
    query: Any,  # a select of one entity, or of an entity and joined columns
    *,
    key: Key,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> Page[Any]:
    """One page of ``query`` in the order of ``key``: at most ``limit`` rows after ``cursor``,
    and the cursor of the next page (None on the last).

    ``key`` ends in a unique column, so that rows tied on the others keep one order; ``query``
    has its filters and no order of its own."""
    after = key_after(key, cursor)
    if after is not None:
        query = query.where(beyond(key, after, descending=descending))
    order = [column.desc() if descending else column.asc() for column in key]
    rows = list((await session.exec(query.order_by(*order).limit(limit + 1))).all())
    shown = rows[:limit]
    more = len(rows) > limit
    return Page(items=shown, next_cursor=cursor_of(_key_values(shown[-1], key)) if more else None)
