"""What the token cache saves on a request: authenticated reads with and without it.

    python bench/token_lookup.py --requests 2000

Serves ``GET /api/v1/organizations?limit=1`` in-process (ASGI, no network) on SQLite and on
PostgreSQL, once with the token cache at its default and once with it off
(``LIFELINE_TOKEN_CACHE_S=0``: one token lookup per request), and prints the median and 95th
percentile latency of each and the difference. The cache bounds how long a token revoked by
another process (``lifeline token revoke``) keeps working, so its worth is this difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_token_lookup"


async def database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    return f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"


async def measure(url: str, cache_s: float, requests: int) -> list[float]:
    from service.app import create_app
    from service.auth.permissions import Role
    from service.auth.principal import Principal
    from service.auth.service import create_token
    from service.db import make_engine, session_scope
    from service.directory.models import OrgKind
    from service.directory.schemas import OrganizationCreate
    from service.directory.service import create_organization
    from service.migrate import upgrade
    from service.settings import Environment, Settings

    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    settings = Settings(
        database_url=url,
        env=Environment.TEST,
        encryption_keys="k1:" + "A" * 43 + "=",
        blind_index_key="bench-blind-index-key",
        token_cache_s=cache_s,
        crisis_pass_inline=False,
        # One token, as fast as it goes: no request limit.
        token_requests_per_minute=0,
        address_requests_per_minute=0,
    )
    app = create_app(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        async with session_scope(app.state.sessionmaker) as session:
            org, _ = await create_organization(
                session,
                actor=Principal.system("cli"),
                data=OrganizationCreate(
                    slug="bench-org", name="Bench", kind=OrgKind.INTERNATIONAL_ORG, country="MYS"
                ),
            )
            secret = (
                await create_token(
                    session, actor=Principal.system("cli"), organization=org, role=Role.VIEWER
                )
            ).secret
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            times = []
            for i in range(requests + 200):
                start = time.perf_counter()
                response = await client.get("/api/v1/organizations?limit=1", headers=headers)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, response.text
                if i >= 200:  # warm-up
                    times.append(elapsed * 1000)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    from service.settings import Settings

    default = Settings.model_fields["token_cache_s"].default
    for backend in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as tmp:
            url = await database(backend, Path(tmp))
            rows = {}
            for cache_s in (default, 0.0):
                times = await measure(url, cache_s, args.requests)
                q = statistics.quantiles(times, n=20)
                rows[cache_s] = (statistics.median(times), q[18])
                print(
                    f"{backend:10} cache {cache_s:>4} s: median {rows[cache_s][0]:.3f} ms, "
                    f"p95 {rows[cache_s][1]:.3f} ms"
                )
            print(
                f"{backend:10} one lookup a request costs {rows[0.0][0] - rows[default][0]:+.3f} ms"
                " (median)"
            )


if __name__ == "__main__":
    asyncio.run(main())
