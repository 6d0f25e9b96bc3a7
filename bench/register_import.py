"""Bulk import throughput: a synthetic CSV into SQLite and PostgreSQL, sealing included.

python bench/register_import.py --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from service.auth.principal import Principal  # noqa: E402
from service.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from service.demo.synthetic import synthetic_csv  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.registry.bulk import import_workers  # noqa: E402
from service.registry.locate import default_locator  # noqa: E402
from service.registry.protect import Protector  # noqa: E402
from service.registry.rows import COLUMNS  # noqa: E402
from service.settings import Settings  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


async def run(url: str, content: bytes, rows: int) -> float:
    """Import the file into a fresh database; rows/s. Also prints the CPU time the importing
    process spent a row (the rest is the worker processes' and the database's)."""
    engine = make_engine(url)
    await upgrade(engine)
    protector = Protector.from_settings(Settings())
    locator = default_locator()
    started, cpu = time.perf_counter(), time.process_time()
    async with session_scope(make_sessionmaker(engine)) as session:
        report = await import_workers(
            session,
            actor=Principal.system("cli"),
            protector=protector,
            locator=locator,
            content=content,
            filename="register.csv",
        )
    seconds = time.perf_counter() - started
    own = (time.process_time() - cpu) / rows * 1e6
    await engine.dispose()
    print(
        f"  {url.split(':', 1)[0]:<22} {report.created:>10,} created {seconds:>8.1f} s "
        f"{rows / seconds:>10,.0f} rows/s   ({own:.0f} µs of the importing process a row)"
    )
    return rows / seconds


async def ceiling(source: str, target: str) -> float:
    """The database alone: the rows the import made, read back and written again, already
    sealed and hashed, into an empty register in one transaction (COPY, 4,000 rows a call, as
    the import does). Rows/s."""
    read = await asyncpg.connect(source)
    records = [tuple(r) for r in await read.fetch(f"SELECT {', '.join(COLUMNS)} FROM workers")]
    await read.close()
    engine = make_engine(_alchemy(target))
    await upgrade(engine)
    await engine.dispose()
    write = await asyncpg.connect(target)
    started = time.perf_counter()
    async with write.transaction():
        for at in range(0, len(records), 4000):
            await write.copy_records_to_table(
                "workers", records=records[at : at + 4000], columns=COLUMNS
            )
    seconds = time.perf_counter() - started
    await write.close()
    rate = len(records) / seconds
    print(
        f"  {'COPY of prepared rows':<22} {len(records):>10,} written {seconds:>8.1f} s {rate:>10,.0f} rows/s"
    )
    return rate


def _alchemy(url: str) -> str:
    """The SQLAlchemy URL of a database named by its plain PostgreSQL URL."""
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


async def fresh(name: str) -> str:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    return f"{PG}/{name}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    t = time.perf_counter()
    content = synthetic_csv(args.rows, seed=3)
    print(
        f"# Import of {args.rows:,} rows ({len(content) / 1e6:.0f} MB of CSV, made in {time.perf_counter() - t:.0f} s)"
    )
    default_locator().locate(lon=0.0, lat=0.0)  # load the boundaries outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{tmp}/bench.db", content, args.rows)
    imported = await fresh("bench_import")
    rate = await run(_alchemy(imported), content, args.rows)
    best = await ceiling(imported, await fresh("bench_import_copy"))
    print(
        f"# PostgreSQL: the import runs at {rate / best:.2f} of the database's own rate for the "
        "same rows, already made (target 50,000 rows/s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
