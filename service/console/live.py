"""The task board live: one watch per process polls the database for recorded task changes and
tells each open stream (server-sent events) whose board they alter that it should refresh.

The database is where every process's changes meet, so the watch reads it rather than a bus in
the process: once a second, while at least one stream is open, it reads the ids of the timeline
entries of the last ``WINDOW_S`` seconds (a range of their primary key, ids sorting by time) and
looks at those it had not seen. An entry recorded in a transaction that commits late is still
seen, as long as it commits within the window. It holds a database session for the length of
one poll only. A stream says ``refresh`` and nothing else: the board fetches its fragment
through its own authorised route, so a stream tells nobody about a task it may not see.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from service.auth.principal import Principal
from service.db import id_floor, utcnow
from service.tasks.service import BoardChange, board_change, recorded_since

log = logging.getLogger(__name__)

#: Seconds between two polls of the database.
POLL_S = 1.0
#: How far back a poll looks: an entry whose transaction commits later than this after it was
#: recorded is not seen (the board's next opening or reconnection shows it).
WINDOW_S = 30.0
#: Seconds between two heartbeats on a quiet stream (a comment line, which keeps proxies from
#: closing it and shows a dead connection).
HEARTBEAT_S = 15.0
#: A stream ends after this long; the browser opens a new one (signed in again, refreshed).
LIFETIME_S = 60.0
#: How long the browser waits before it reconnects, in milliseconds.
RETRY_MS = 1000


class Subscriber:
    """One open stream: who reads it, and whether a change for its board is waiting."""

    def __init__(self, actor: Principal) -> None:
        self.actor = actor
        self.waiting = asyncio.Event()

    def tell(self, change: BoardChange) -> None:
        if change.concerns(self.actor):
            self.waiting.set()


class BoardWatch:
    """The process's one poller, shared by every open stream; it runs while there is one."""

    def __init__(self, state: Any) -> None:
        #: The app's state, whose ``sessionmaker`` the lifespan makes.
        self.state = state
        self.subscribers: set[Subscriber] = set()
        self.polls = 0
        self._seen: set[str] | None = None
        self._task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def subscribe(self, actor: Principal) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(actor)
        self.subscribers.add(subscriber)
        if self._task is None or self._task.done():
            self._seen = None
            self._task = asyncio.create_task(self._run(), name="console-board-watch")
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)

    async def _run(self) -> None:
        while self.subscribers:
            try:
                change = await self._poll()
            except Exception:
                # The database away for a moment: the next poll tries again.
                log.warning("the task board's watch could not read the database", exc_info=True)
            else:
                for subscriber in list(self.subscribers):
                    subscriber.tell(change)
            await asyncio.sleep(POLL_S)

    async def _poll(self) -> BoardChange:
        """What was recorded since the last poll; nothing the first time (the streams' browsers
        refresh their boards when they connect)."""
        self.polls += 1
        floor = id_floor(utcnow() - timedelta(seconds=WINDOW_S))
        async with self.state.sessionmaker() as session:
            recent = await recorded_since(session, floor=floor)
            new = [] if self._seen is None else [i for i in recent if i not in self._seen]
            change = await board_change(session, new)
        self._seen = set(recent)
        return change


async def board_events(watch: BoardWatch, actor: Principal) -> AsyncIterator[str]:
    """The stream of one board: ``refresh`` when a change alters it, a heartbeat comment when
    quiet, and its end after ``LIFETIME_S`` (or when the client goes: the server cancels it)."""
    yield f"retry: {RETRY_MS}\n: watching the task board\n\n"
    ends = time.monotonic() + LIFETIME_S
    async with watch.subscribe(actor) as subscriber:
        while (left := ends - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(min(HEARTBEAT_S, left)):
                    await subscriber.waiting.wait()
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            subscriber.waiting.clear()
            yield "event: refresh\ndata: tasks\n\n"
