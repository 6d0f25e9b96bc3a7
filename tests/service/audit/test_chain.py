"""The audit chain: a pass chains every event once, in id order; ``lifeline audit verify``
finds the log intact, and names the first broken link when someone with database access (and
not the key) changed an event, deleted one, or took a link out. On both databases."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.audit.chain import (
    CANONICAL_COLUMNS,
    EVENTS,
    LINKS,
    ChainRefused,
    canonical,
    chain_key,
    chain_pending,
    verify,
)
from service.audit.service import audit_row, record
from service.auth.principal import Principal
from service.db import insert_rows, make_engine, make_sessionmaker, session_scope
from service.settings import get_settings
from service.worker import audit_jobs, run_once
from tests.conftest import run_cli, settings_for, unique

CLI = Principal.system("cli")


@pytest.fixture
async def engine(own_cli_env: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's own database (the command line's too): tampering with the chain
    of the shared one would break it for every other test."""
    made = make_engine(own_cli_env)
    yield made
    await made.dispose()


async def add_events(engine: AsyncEngine, n: int, **detail: object) -> list[int]:
    async with session_scope(make_sessionmaker(engine)) as session:
        events = [
            record(
                session,
                actor=CLI,
                action="test.chain",
                subject_type="thing",
                subject_id=unique("s"),
                detail={"i": i, "z": [1, 2.5, "é"], "a": {"y": None, "b": True}, **detail},
                purpose="chain test",
            )
            for i in range(n)
        ]
        await session.flush()
        return [int(e.id or 0) for e in events]


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def link_of(engine: AsyncEngine, event_id: int) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(select(LINKS.c.seq).where(LINKS.c.event_id == event_id))
            ).scalar_one()
        )


async def tamper(url: str, sqlite_sql: list[str], postgres_sql: list[str]) -> None:
    """Run SQL as an attacker with database access would: the append-only triggers disabled
    (or dropped) for the change, then put back."""
    if url.startswith("sqlite"):

        def run() -> None:
            conn = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
            try:  # foreign keys are off on a plain connection
                for statement in sqlite_sql:
                    conn.execute(statement)
            finally:
                conn.close()

        await asyncio.to_thread(run)
        return
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in postgres_sql:
            await conn.execute(statement)
    finally:
        await conn.close()


def sqlite_unlocked(table: str, statement: str) -> list[str]:
    """``statement`` between dropping the table's append-only triggers and making them again."""
    return [
        f"DROP TRIGGER {table}_no_update",
        f"DROP TRIGGER {table}_no_delete",
        statement,
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


def postgres_unlocked(table: str, statement: str) -> list[str]:
    return [
        f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        statement,
        f"ALTER TABLE {table} ENABLE TRIGGER ALL",
    ]


def test_the_hash_covers_every_column() -> None:
    assert sorted(CANONICAL_COLUMNS) == sorted(c.name for c in EVENTS.columns)


def test_the_canonical_form_is_stable() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    row = {name: None for name in CANONICAL_COLUMNS}
    at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    first = canonical({**row, "id": 7, "at": at, "detail": {"b": 1, "a": {"d": 2, "c": [1]}}})
    # Another zone for the same instant, the id as text, the detail as JSON text in another order.
    again = canonical(
        {
            **row,
            "id": "7",
            "at": at.astimezone(timezone(timedelta(hours=8))),
            "detail": '{"a": {"c": [1], "d": 2}, "b": 1}',
        }
    )
    assert first == again
    assert b'"at":"2026-12-03T08:00:00.000000Z"' in first


async def test_the_chain_is_append_only(engine: AsyncEngine) -> None:
    await add_events(engine, 1)
    await chain_pending(engine, chain_key(get_settings()))
    async with engine.connect() as conn:
        statements = ["UPDATE audit_chain SET hash = 'x'", "DELETE FROM audit_chain"]
        if engine.dialect.name == "postgresql":
            statements.append("TRUNCATE audit_chain")
        for statement in statements:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))
            await conn.rollback()
    assert await count(engine, LINKS) == 1


async def test_events_are_chained_once_and_verify(engine: AsyncEngine) -> None:
    ids = await add_events(engine, 7)
    chained = await run_cli(["audit", "chain"])
    assert chained.exit_code == 0, chained.output
    links = await count(engine, LINKS)
    assert links == await count(engine, EVENTS)
    seqs = [await link_of(engine, i) for i in ids]
    assert seqs == sorted(seqs)  # in id order

    verified = await run_cli(["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{links} events chained, 0 not yet chained" in verified.output

    again = await run_cli(["audit", "chain"])
    assert again.exit_code == 0 and again.output.startswith("0 events chained"), again.output
    assert await count(engine, LINKS) == links

    # New events join at the end; verify says which are not chained yet.
    await add_events(engine, 2)
    waiting = await run_cli(["audit", "verify"])
    assert waiting.exit_code == 0 and "2 not yet chained" in waiting.output
    await run_cli(["audit", "chain"])
    assert await count(engine, LINKS) == links + 2
    assert (await run_cli(["audit", "verify"])).exit_code == 0


async def test_bulk_inserted_and_late_events_are_chained(engine: AsyncEngine) -> None:
    """Rows written by ``insert_rows`` (COPY on PostgreSQL) are chained as any; an event
    committed after higher ids were chained (a long transaction) is chained at the next pass."""
    async with engine.connect() as conn:
        top = int((await conn.execute(select(func.max(EVENTS.c.id)))).scalar_one() or 0)
    late, early = top + 1_000_001, top + 1_000_002
    rows = [{"id": early, **audit_row(actor=CLI, action="test.bulk", detail={"n": 1})}]
    async with engine.begin() as conn:
        await insert_rows(conn, EVENTS, rows)
    key = chain_key(get_settings())
    first = await chain_pending(engine, key)
    assert first.chained >= 1
    async with engine.begin() as conn:
        await insert_rows(
            conn, EVENTS, [{"id": late, **audit_row(actor=CLI, action="test.late", detail={})}]
        )
    second = await chain_pending(engine, key)
    assert second.chained == 1
    assert await link_of(engine, late) > await link_of(engine, early)
    verdict = await verify(engine, key)
    assert verdict.intact and verdict.unchained == 0, verdict


async def test_batch_after_batch_chains_everything_in_id_order(engine: AsyncEngine) -> None:
    """Past its first batch a run looks only beyond the last id it chained: none is missed."""
    ids = await add_events(engine, 7)
    key = chain_key(get_settings())
    run = await chain_pending(engine, key, batch=2)
    assert await count(engine, LINKS) == await count(engine, EVENTS) == run.head_seq
    seqs = [await link_of(engine, i) for i in ids]
    assert seqs == sorted(seqs)
    assert (await verify(engine, key, batch=3)).intact


async def test_a_changed_event_breaks_the_chain_at_its_link(engine: AsyncEngine) -> None:
    ids = await add_events(engine, 5)
    assert (await run_cli(["audit", "chain"])).exit_code == 0
    target = ids[2]
    seq = await link_of(engine, target)
    change = f"UPDATE audit_events SET purpose = 'nothing to see' WHERE id = {target}"
    await tamper(
        engine.url.render_as_string(hide_password=False),
        sqlite_unlocked("audit_events", change),
        postgres_unlocked("audit_events", change),
    )
    broken = await run_cli(["audit", "verify"])
    assert broken.exit_code == 1, broken.output
    assert f"link {seq}: event {target} has changed (hash mismatch)" in broken.output
    assert f"intact up to link {seq - 1}" in broken.output


async def test_a_changed_detail_breaks_the_chain(engine: AsyncEngine) -> None:
    ids = await add_events(engine, 3)
    key = chain_key(get_settings())
    await chain_pending(engine, key)
    change = (
        "UPDATE audit_events SET detail = '{\"i\": 99}' "
        if engine.dialect.name == "sqlite"
        else "UPDATE audit_events SET detail = '{\"i\": 99}'::jsonb "
    ) + f"WHERE id = {ids[0]}"
    await tamper(
        engine.url.render_as_string(hide_password=False),
        sqlite_unlocked("audit_events", change),
        postgres_unlocked("audit_events", change),
    )
    verdict = await verify(engine, key)
    assert not verdict.intact
    assert verdict.broken_event_id == ids[0]
    assert verdict.broken_seq == await link_of(engine, ids[0])


async def test_a_deleted_event_breaks_the_chain_at_its_link(engine: AsyncEngine) -> None:
    ids = await add_events(engine, 4)
    assert (await run_cli(["audit", "chain"])).exit_code == 0
    target = ids[1]
    seq = await link_of(engine, target)
    delete = f"DELETE FROM audit_events WHERE id = {target}"
    await tamper(
        engine.url.render_as_string(hide_password=False),
        sqlite_unlocked("audit_events", delete),
        postgres_unlocked("audit_events", delete),
    )
    broken = await run_cli(["audit", "verify"])
    assert broken.exit_code == 1, broken.output
    assert f"link {seq}: event {target} is missing (the event was deleted)" in broken.output


async def test_a_deleted_link_breaks_the_chain(engine: AsyncEngine) -> None:
    ids = await add_events(engine, 4)
    assert (await run_cli(["audit", "chain"])).exit_code == 0
    seq = await link_of(engine, ids[2])
    delete = f"DELETE FROM audit_chain WHERE seq = {seq}"
    await tamper(
        engine.url.render_as_string(hide_password=False),
        sqlite_unlocked("audit_chain", delete),
        postgres_unlocked("audit_chain", delete),
    )
    broken = await run_cli(["audit", "verify"])
    assert broken.exit_code == 1, broken.output
    assert f"link {seq} is missing" in broken.output


async def test_renumbered_links_break_the_chain(engine: AsyncEngine) -> None:
    """A link taken out and the ones after it moved down to close the gap: the link after the
    gap no longer follows the one before it."""
    ids = await add_events(engine, 4)
    key = chain_key(get_settings())
    await chain_pending(engine, key)
    seq = await link_of(engine, ids[1])
    top = await count(engine, LINKS)
    statements = [f"DELETE FROM audit_chain WHERE seq = {seq}"] + [
        f"UPDATE audit_chain SET seq = {n - 1} WHERE seq = {n}" for n in range(seq + 1, top + 1)
    ]
    sql = "; ".join(statements)
    await tamper(
        engine.url.render_as_string(hide_password=False),
        [s for st in statements for s in sqlite_unlocked("audit_chain", st)],
        postgres_unlocked("audit_chain", sql),
    )
    verdict = await verify(engine, key)
    assert not verdict.intact
    assert verdict.broken_seq == seq and verdict.broken_event_id == ids[2]
    assert "prev_hash differs" in (verdict.broken or "")


async def test_the_chain_verifies_under_its_key_only(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_events(engine, 2)
    assert (await run_cli(["audit", "chain"])).exit_code == 0
    monkeypatch.setenv("LIFELINE_AUDIT_CHAIN_KEY", "another-key-" + "x" * 32)
    get_settings.cache_clear()
    broken = await run_cli(["audit", "verify"])
    assert broken.exit_code == 1 and "link 1: event" in broken.output, broken.output


async def test_a_changed_key_chains_nothing_until_it_is_put_back(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Links made under a new key would verify under neither: the pass refuses, says why, and
    the worker's job reports it failed; with the key back, it chains what waited."""
    await add_events(engine, 2)
    assert (await run_cli(["audit", "chain"])).exit_code == 0
    links = await count(engine, LINKS)
    await add_events(engine, 3)
    other = "another-key-" + "y" * 32
    monkeypatch.setenv("LIFELINE_AUDIT_CHAIN_KEY", other)
    get_settings.cache_clear()
    refused = await run_cli(["audit", "chain"])
    assert refused.exit_code != 0 and "does not verify under this key" in refused.output
    with pytest.raises(ChainRefused):
        await chain_pending(engine, chain_key(get_settings()))
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    settings = settings.model_copy(update={"audit_chain_key": other})
    outcome = await run_once(engine, audit_jobs(settings, engine))
    assert outcome["audit-chain"] == "failed: ChainRefused", outcome
    assert await count(engine, LINKS) == links
    monkeypatch.delenv("LIFELINE_AUDIT_CHAIN_KEY")
    get_settings.cache_clear()
    assert (await run_cli(["audit", "chain"])).exit_code == 0
    assert await count(engine, LINKS) == links + 3
    assert (await run_cli(["audit", "verify"])).exit_code == 0


async def test_an_anchor_catches_a_cut_tail(engine: AsyncEngine) -> None:
    ids = await add_events(engine, 3)
    key = chain_key(get_settings())
    run = await chain_pending(engine, key)
    anchor = f"{run.head_seq}:{run.head_hash}"
    assert (await run_cli(["audit", "verify", "--anchor", anchor])).exit_code == 0
    # The last link cut off: verify alone finds a whole (shorter) chain, the anchor does not.
    url = engine.url.render_as_string(hide_password=False)
    cut = f"DELETE FROM audit_chain WHERE seq = {run.head_seq}"
    await tamper(url, sqlite_unlocked("audit_chain", cut), postgres_unlocked("audit_chain", cut))
    short = await run_cli(["audit", "verify", "--anchor", anchor])
    assert short.exit_code == 1 and "links were cut from its end" in short.output, short.output
    # Its event changed, then chained again by the next pass (which holds the key): the chain
    # is whole again, and only the anchor, kept outside the database, tells.
    change = f"UPDATE audit_events SET outcome = 'denied' WHERE id = {ids[-1]}"
    await tamper(
        url, sqlite_unlocked("audit_events", change), postgres_unlocked("audit_events", change)
    )
    await chain_pending(engine, key)
    assert (await run_cli(["audit", "verify"])).exit_code == 0
    recut = await run_cli(["audit", "verify", "--anchor", anchor])
    assert recut.exit_code == 1 and "not the anchor given" in recut.output, recut.output
    bad = await run_cli(["audit", "verify", "--anchor", "12:abc"])
    assert bad.exit_code == 2


async def test_the_worker_chains(engine: AsyncEngine) -> None:
    await add_events(engine, 3)
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    outcome = await run_once(engine, audit_jobs(settings, engine))
    assert "audit events chained, head" in outcome["audit-chain"], outcome
    assert await count(engine, LINKS) == await count(engine, EVENTS)
    assert (await verify(engine, chain_key(settings))).intact


async def test_concurrent_passes_make_one_link_per_event(engine: AsyncEngine) -> None:
    """Two passes side by side, without the worker's lock: the unique seq and event id make
    the loser of each race try again, so every event has one link and the seqs run 1, 2, 3..."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the embedded SQLite database runs one process, its writes one at a time")
    rows = [
        audit_row(actor=CLI, action="test.concurrent", subject_id=str(i), detail={"i": i})
        for i in range(3000)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(EVENTS), rows)
    key = chain_key(get_settings())
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        runs = await asyncio.gather(
            chain_pending(engine, key, batch=250), chain_pending(other, key, batch=250)
        )
    finally:
        await other.dispose()
    total = await count(engine, EVENTS)
    assert sum(r.chained for r in runs) == total
    async with engine.connect() as conn:
        seqs = (await conn.execute(text("SELECT seq FROM audit_chain ORDER BY seq"))).scalars()
        assert list(seqs) == list(range(1, total + 1))
        distinct = (
            await conn.execute(text("SELECT count(DISTINCT event_id) FROM audit_chain"))
        ).scalar_one()
    assert distinct == total
    assert (await verify(engine, key)).intact
