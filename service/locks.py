"""Cluster-wide locks by name: one process at a time runs a job, polls a feed, runs the pass."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_local_locks: dict[str, asyncio.Lock] = {}


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of ``name``: a signed 64-bit integer, stable across
    processes and releases."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def singleton(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Hold a cluster-wide lock named ``name`` for the block; yield False if another holds it.

    PostgreSQL advisory locks are released if the process dies, so a crashed worker never
    blocks the others. The embedded SQLite database runs one worker process, so a lock within
    the process is enough there.
    """
    if engine.dialect.name != "postgresql":
        lock = _local_locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True
        return
    key = advisory_key(name)
    async with engine.connect() as conn:
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar_one()
        try:
            yield bool(got)
        finally:
            if got:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
