"""Bulk import throughput: a synthetic CSV into SQLite and PostgreSQL, sealing included.

python bench/register_import.py --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from service.auth.principal import Principal  # noqa: E402
from service.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.registry.bulk import import_workers  # noqa: E402
from service.registry.locate import default_locator  # noqa: E402
from service.registry.protect import Protector  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.synthetic import synthetic_csv  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


async def run(url: str, content: bytes, rows: int) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    protector = Protector.from_settings(Settings())
    locator = default_locator()
    started = time.perf_counter()
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
    await engine.dispose()
    print(
        f"  {url.split(':', 1)[0]:<22} {report.created:>10,} created {seconds:>8.1f} s {rows / seconds:>10,.0f} rows/s"
    )


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
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute("DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
    await admin.execute("CREATE DATABASE bench_import")
    await admin.close()
    await run(f"postgresql+asyncpg://{PG.split('://', 1)[1]}/bench_import", content, args.rows)


if __name__ == "__main__":
    asyncio.run(main())
