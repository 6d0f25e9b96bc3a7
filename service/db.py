"""Database plumbing: engine, sessions, column types shared by every table, ids."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    MetaData,
    Table,
    any_,
    bindparam,
    event,
    insert,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on PostgreSQL and on SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        zone = value.tzinfo
        if zone is UTC:  # what the PostgreSQL driver gives: nothing to convert
            return value
        if zone is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A UUIDv7 (time-ordered) as text: ids sort by creation, which keyset pagination and the
    order of webhook deliveries use. Within one millisecond the random part counts up (RFC 9562,
    method 3), so that ids made one after the other in a process sort in that order too."""
    global _last_id
    ms = time.time_ns() // 1_000_000
    counter = int.from_bytes(os.urandom(10), "big") >> 6  # 74 random bits
    with _id_lock:
        last_ms, last_counter = _last_id
        if ms <= last_ms:  # the same millisecond, or the clock stepped back
            ms, counter = last_ms, last_counter + 1
        _last_id = (ms, counter)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((counter >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= counter & ((1 << 62) - 1)
    return _id_text(value)


def id_floor(at: datetime) -> str:
    """The smallest id that ``new_id`` makes at ``at`` or later: the ids made since then sort at
    or after it, a range of a primary key to read what was recorded since."""
    ms = int(at.timestamp() * 1000)
    return _id_text((ms & ((1 << 48) - 1)) << 80)


def _id_text(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_last_id = (0, 0)
_id_lock = threading.Lock()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(
    url: str, *, statement_timeout_s: float | None = None, **kwargs: Any
) -> AsyncEngine:
    """One engine per process. SQLite gets foreign keys, WAL and a busy timeout; PostgreSQL a
    deadline to connect, one to wait for a pooled connection, and, when ``statement_timeout_s``
    is given, one for each statement (docs/decisions/0027-database-outages.md).

    JSON columns go through orjson: the event loop reads and writes large zones (a comb of
    80,000 vertices is 1.5 MB), several times faster than with the standard library's json
    (docs/decisions/0007-geometry-off-the-event-loop.md).
    """
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, poolclass=kwargs.pop("poolclass", NullPool), **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", int(os.environ.get("LIFELINE_DB_POOL_SIZE", "10")))
    kwargs.setdefault("pool_timeout", _seconds("LIFELINE_DB_POOL_TIMEOUT_S", POOL_TIMEOUT_S))
    connect_args: dict[str, Any] = {
        "timeout": _seconds("LIFELINE_DB_CONNECT_TIMEOUT_S", CONNECT_TIMEOUT_S),
        **kwargs.pop("connect_args", {}),
    }
    if statement_timeout_s:
        # The server cancels a statement past the deadline (a lock waited on, a plan gone
        # wrong), and the driver gives up a little later if no answer comes at all (a server
        # or a network that went silent without closing the connection).
        connect_args.setdefault("server_settings", {})["statement_timeout"] = str(
            int(statement_timeout_s * 1000)
        )
        connect_args.setdefault("command_timeout", statement_timeout_s + COMMAND_MARGIN_S)
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    _ping_when_idle(engine)
    _discard_confused_connections(engine)
    return engine


def _discard_confused_connections(engine: AsyncEngine) -> None:
    """A connection whose protocol state the driver lost (asyncpg's "cannot switch to state
    N; another operation is in progress", seen after a statement was cut short by a server
    going away or a deadline) is thrown away, not put back in the pool: SQLAlchemy does so for
    what it counts as a disconnect, and every later use of it would fail the same way."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _confused(context: Any) -> None:
        original = context.original_exception
        if type(original).__name__ == "InternalClientError" or (
            type(original).__name__ == "InterfaceError"
            and "another operation is in progress" in str(original)
        ):
            context.is_disconnect = True


#: Seconds to make a new connection to PostgreSQL before giving up: a server that refuses
#: answers at once, one that is unreachable (a network partition, a host gone) would otherwise
#: hold the request for the driver's default of a minute.
CONNECT_TIMEOUT_S = 5.0
#: Seconds a request waits for a connection of the pool when all are in use.
POOL_TIMEOUT_S = 10.0
#: Seconds the driver waits past the statement deadline before it gives up on the server.
COMMAND_MARGIN_S = 5.0


def _seconds(name: str, default: float) -> float:
    """A number of seconds from the environment (``LIFELINE_DB_*``), else ``default``."""
    value = float(os.environ.get(name) or default)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return value


#: SQLSTATE classes and codes that say the database is away or cannot take the work now, not
#: that the request was wrong: connection exceptions (08), too many connections (53300), and
#: operator intervention (57: a shut-down, a crash, a start-up under way, a statement past its
#: deadline).
_UNAVAILABLE_CLASSES = ("08", "57")
_UNAVAILABLE_CODES = frozenset({"53300"})


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc``, or an error it was raised from, says that the database could not be
    reached or went away: refused or timed-out connections, a connection closed under a
    statement, a server shutting down, starting up or crashed, the pool out of connections,
    a statement past its deadline. Such a request may succeed if sent again later; any other
    database error is a bug or the request's own fault, and answers False."""
    # A builtin error of the network counts only where the database's driver raised it: the
    # exception itself, a DBAPIError's ``orig``, and the causes of the driver's own errors.
    # Never an error merely raised while handling one (``__context__``), nor the cause of an
    # error of something else (an HTTP exchange's deadline is no database away).
    seen: set[int] = set()
    todo: list[tuple[BaseException | None, bool]] = [(exc, True)]
    while todo:
        current, direct = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PoolTimeout):
            return True
        if direct and isinstance(current, ConnectionError | socket.gaierror | TimeoutError):
            # Refused, reset, a host name that does not resolve, no answer in time (asyncpg's
            # connect deadline raises the builtin TimeoutError).
            return True
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            todo.append((current.orig, True))
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_CODES
        ):
            return True
        if type(current).__name__ == "InterfaceError" and "connection is closed" in str(current):
            return True  # asyncpg's, for a statement sent on a connection already closed
        todo.append((current.__cause__, direct and _of_a_driver(current)))
    return False


def _of_a_driver(exc: BaseException) -> bool:
    """Whether ``exc`` is the database layer's own (SQLAlchemy's or a driver's)."""
    return type(exc).__module__.split(".")[0] in {"sqlalchemy", "asyncpg", "aiosqlite", "sqlite3"}


#: A pooled connection idle for longer than this is checked before use.
PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a connection before use if it sat idle in the pool: one that the server or the
    network dropped meanwhile is replaced, and the request does not see the error.

    SQLAlchemy's pool_pre_ping does this at every checkout, at the price of three round trips
    (BEGIN, a query, ROLLBACK on asyncpg). A connection in steady use does not need it: if the
    server goes away under load, the error invalidates the whole pool at once."""

    @event.listens_for(engine.sync_engine, "connect")
    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) <= PING_AFTER_IDLE_S:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:
            raise DisconnectionError("a pooled connection failed its ping") from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: commit on success, roll back on error. For background work and the CLI."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


#: SQLite's names for a refused duplicate key.
_SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


async def insert_rows(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many complete rows of ``table`` (every column, plain values): by ``COPY`` on
    PostgreSQL (a welfare check writes 100,000 at once), by batched inserts on SQLite. In the
    connection's transaction."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        columns = [c.name for c in table.columns]
        # COPY takes JSON columns as text: the driver's codec, not the column type, encodes.
        encoded = {c.name for c in table.columns if isinstance(c.type, JSON)}
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            table.name,
            records=[
                tuple(orjson.dumps(r[c]).decode() if c in encoded else r[c] for c in columns)
                for r in rows
            ],
            columns=columns,
        )
        return
    for start in range(0, len(rows), 5000):
        await connection.execute(insert(table), list(rows[start : start + 5000]))


def among(column: Any, values: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """``column`` (a column, or a model's attribute) is one of the integers ``values``: one
    array parameter on PostgreSQL (``= ANY``: thousands of keys without thousands of bind
    parameters to render and send), an ``IN`` list elsewhere."""
    target: ColumnElement[int] = column
    if dialect == "postgresql":
        return target == any_(bindparam(None, list(values), type_=ARRAY(BigInteger)))
    return target.in_(list(values))


def is_unique_violation(exc: BaseException) -> bool:
    """True when a unique index refused a write (PostgreSQL's 23505, SQLite's UNIQUE or
    PRIMARY KEY constraint), whether through SQLAlchemy or from asyncpg directly (COPY). Other
    integrity errors (NOT NULL, CHECK, foreign keys) are bugs, not races, and answer False."""
    if isinstance(exc, IntegrityError):
        orig = exc.orig
        return (
            getattr(orig, "sqlstate", None) == "23505"
            or getattr(orig, "sqlite_errorname", None) in _SQLITE_UNIQUE
        )
    return getattr(exc, "sqlstate", None) == "23505"
