"""The one keyset pagination helper: ties in the key, both directions, the last page, cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from service.audit.models import AuditEvent
from service.db import session_scope
from service.errors import InvalidInput
from service.pagination import cursor_of, encode_cursor, paginate
from tests.conftest import unique

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


async def _events(app: FastAPI, times: list[datetime]) -> str:
    """Audit rows of an action of their own, at ``times``; the action names them."""
    action = unique("page")
    async with session_scope(app.state.sessionmaker) as session:
        for at in times:
            session.add(AuditEvent(channel="cli", action=action, at=at))
    return action


async def _walk(
    app: FastAPI, action: str, key: list[Any], *, limit: int, descending: bool
) -> tuple[list[tuple[datetime, int]], list[str | None]]:
    """Every page, as (at, id) of each row, and the cursors given out."""
    seen: list[tuple[datetime, int]] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        async with session_scope(app.state.sessionmaker) as session:
            query = select(AuditEvent).where(AuditEvent.action == action)
            page = await paginate(
                session, query, key=key, limit=limit, cursor=cursor, descending=descending
            )
        assert len(page.items) <= limit
        seen += [(e.at, e.id) for e in page.items]
        cursors.append(page.next_cursor)
        if page.next_cursor is None:
            return seen, cursors
        cursor = page.next_cursor


@pytest.mark.parametrize("descending", [False, True])
async def test_rows_tied_on_the_first_column_are_each_shown_once_in_order(
    app: FastAPI, descending: bool
) -> None:
    # Seven rows at three times: most of them share a time with another.
    times = [T0, T0, T0 + timedelta(seconds=1), T0, T0 + timedelta(seconds=2), T0, T0]
    action = await _events(app, times)
    key = [col(AuditEvent.at), col(AuditEvent.id)]
    for limit in (1, 2, 3, 7, 50):
        seen, cursors = await _walk(app, action, key, limit=limit, descending=descending)
        assert len(seen) == len(times)
        assert seen == sorted(seen, reverse=descending)
        assert len(set(seen)) == len(times)
        assert cursors[-1] is None  # the last page has no cursor


async def test_a_page_that_ends_the_list_exactly_has_no_cursor(app: FastAPI) -> None:
    action = await _events(app, [T0 + timedelta(seconds=i) for i in range(4)])
    key = [col(AuditEvent.id)]
    seen, cursors = await _walk(app, action, key, limit=2, descending=False)
    assert len(seen) == 4
    assert cursors[0] is not None and cursors[1] is None  # no third, empty page is offered
    empty, none = await _walk(app, unique("none"), key, limit=2, descending=True)
    assert empty == [] and none == [None]


async def test_the_cursor_is_the_last_key_as_the_lists_have_always_given_it(app: FastAPI) -> None:
    # One column: the bare value; more: a list, a time in ISO 8601 (cursors given out before
    # the helper existed go on working).
    assert cursor_of([42]) == encode_cursor(42)
    assert cursor_of(["abc"]) == encode_cursor("abc")
    assert cursor_of([T0, "x"]) == encode_cursor([T0.isoformat(), "x"])
    action = await _events(app, [T0, T0])
    async with session_scope(app.state.sessionmaker) as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        page = await paginate(
            session, query, key=[col(AuditEvent.at), col(AuditEvent.id)], limit=1, cursor=None
        )
    first = page.items[0]
    assert page.next_cursor == encode_cursor([first.at.isoformat(), first.id])


@pytest.mark.parametrize(
    ("key_names", "cursor"),
    [
        (["id"], encode_cursor("an id")),  # a list keyed by id's cursor, to one keyed by number
        (["id"], encode_cursor(True)),
        (["id"], encode_cursor([T0.isoformat(), 3])),  # a two-column cursor to a one-column key
        (["at", "id"], encode_cursor(3)),  # and the other way
        (["at", "id"], encode_cursor(["not a time", 3])),
        (["at", "id"], encode_cursor([T0.isoformat(), "3"])),
        (["action"], encode_cursor(3)),  # a number where the key is text
        (["action"], encode_cursor({"a": 1})),
        (["id"], "AAAA"),  # not JSON
        (["id"], "not base64!"),
    ],
)
async def test_a_cursor_this_list_did_not_give_out_is_the_one_422(
    app: FastAPI, key_names: list[str], cursor: str
) -> None:
    key = [col(getattr(AuditEvent, name)) for name in key_names]
    async with session_scope(app.state.sessionmaker) as session:
        with pytest.raises(InvalidInput) as refused:
            await paginate(session, select(AuditEvent), key=key, limit=5, cursor=cursor)
    assert refused.value.status == 422
    assert refused.value.errors == [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]
