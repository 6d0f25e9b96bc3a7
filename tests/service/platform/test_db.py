"""The connection pool: a connection the server dropped while it sat idle is replaced unseen."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service import db
from tests.conftest import POSTGRES_URL


async def test_a_connection_dropped_while_idle_is_replaced(
    database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    engine = db.make_engine(database_url)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(
            POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        async with engine.connect() as conn:
            again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await engine.dispose()


async def test_only_a_refused_duplicate_counts_as_a_unique_violation(
    database_url: str, backend: str
) -> None:
    """A duplicate key is a race that a retry settles (a 409); a NOT NULL violation is a bug
    (a 500): ``is_unique_violation`` tells them apart on both databases and through asyncpg."""
    engine = db.make_engine(database_url)
    slug = f"dup-{db.new_id()[:8]}"
    insert = text(
        "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, "
        "created_at, updated_at, version) VALUES (:id, :slug, :name, 'ngo', 'MYS', '[]', '[]', "
        ":now, :now, 1)"
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert, {"id": db.new_id(), "slug": slug, "name": "A", "now": db.utcnow()}
            )
        for values, unique in (
            ({"slug": slug, "name": "B"}, True),
            ({"slug": slug + "x", "name": None}, False),
        ):
            with pytest.raises(IntegrityError) as refused:
                async with engine.begin() as conn:
                    await conn.execute(insert, {"id": db.new_id(), "now": db.utcnow(), **values})
            assert db.is_unique_violation(refused.value) is unique
    finally:
        await engine.dispose()
    if backend == "postgresql":
        raw = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            with pytest.raises(asyncpg.UniqueViolationError) as duplicate:
                await raw.execute(
                    "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, "
                    "created_at, updated_at, version) VALUES ($1, $2, 'C', 'ngo', 'MYS', '[]', '[]', now(), now(), 1)",
                    db.new_id(),
                    slug,
                )
            assert db.is_unique_violation(duplicate.value)
        finally:
            await raw.close()


def test_ids_made_one_after_another_sort_in_that_order() -> None:
    """Ids sort in the order they were made, within one millisecond too: the outbox delivers
    events in id order, and lists page by id."""
    from service.db import new_id

    ids = [new_id() for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
