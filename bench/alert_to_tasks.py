"""From a CAP alert received to all its tasks committed, through the real API on PostgreSQL.

    python bench/alert_to_tasks.py --workers 1000000 --runs 20

A synthetic register of ``--workers`` people, a full directory (an embassy of each nationality
in each host country but one, the societies and ministries), and a zone over Johor, Singapore
and Batam that hits workers of many nationalities in three countries. Each run pushes a new CAP
alert, waits until its crisis's tasks are committed, then cancels it (so the next one opens a
crisis of its own). Prints the median and the 95th percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import shapely  # noqa: E402
from exposure import PG, load_service_db  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, wait_until_ready  # noqa: E402
from service.demo.synthetic import synthetic_register  # noqa: E402

ZONE = [
    (103.45, 0.95),
    (104.25, 0.95),
    (104.25, 1.75),
    (103.45, 1.75),
]  # Johor Bahru, Singapore, Batam
HEADERS = {"Authorization": "Bearer ll_bench-token-secret", "Content-Type": "application/cap+xml"}


def cap(identifier: str, msg_type: str = "Alert", refs: str = "") -> bytes:
    ring = " ".join(f"{lat},{lon}" for lon, lat in [*ZONE, ZONE[0]])
    references = f"<references>{refs}</references>" if refs else ""
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>bench.lifeline</sender><sent>2026-11-24T08:00:00+08:00</sent><status>Actual</status>
<msgType>{msg_type}</msgType><scope>Public</scope>{references}<info><category>Met</category>
<event>Flash flood</event><urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<headline>Flash floods across the Johor Strait</headline><area><areaDesc>Johor, Singapore, Batam</areaDesc>
<polygon>{ring}</polygon></area></info></alert>""".encode()


async def directory(db: str, reg: object) -> tuple[int, int]:
    """Embassies of every nationality in the zone's host countries, but one; societies; ministries."""
    conn = await asyncpg.connect(f"{PG}/{db}")
    zone = shapely.Polygon(ZONE)
    inside = shapely.contains_xy(zone, reg.lon, reg.lat)  # type: ignore[attr-defined]
    pairs = sorted(
        {
            (str(n), str(c))
            for n, c in zip(reg.nationality[inside], reg.destination[inside], strict=True)
        }
    )  # type: ignore[attr-defined]
    nationalities = sorted({n for n, _ in pairs})
    countries = sorted({c for _, c in pairs})
    rows = []
    for i, (nationality, country) in enumerate(pairs):
        if i == 0:
            continue  # one missing embassy: a coverage gap, as in real life
        rows.append((f"emb-{nationality}-{country}", "embassy", country, nationality))
    rows += [
        (f"ns-{c}", "national_society", c, None)
        for c in sorted(set(countries) | set(nationalities))
    ]
    rows += [(f"min-{n}", "labour_ministry", n, n) for n in nationalities]
    rows += [(f"auth-{c}", "host_authority", c, None) for c in countries]
    for slug, kind, country, represents in rows:
        await conn.execute(
            "INSERT INTO organizations (id, slug, name, kind, country, represents, jurisdiction, acts_for, created_at, updated_at, version) "
            "VALUES ($1, $2, $2, $3, $4, $5, '[]', '[]', now(), now(), 1)",
            str(uuid.uuid4()),
            slug,
            kind,
            country,
            represents,
        )
    await conn.close()
    return len(nationalities), len(countries)


async def tasks_of(conn: asyncpg.Connection, identifier: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM tasks t JOIN crisis_alerts ca ON ca.crisis_id = t.crisis_id "
            "JOIN alerts a ON a.id = ca.alert_id WHERE a.external_id = $1",
            f"bench.lifeline/{identifier}",
        )
    )


async def measure(db: str, runs: int) -> list[float]:
    conn = await asyncpg.connect(f"{PG}/{db}")
    times = []
    async with httpx.AsyncClient(base_url="http://127.0.0.1:8766", timeout=60) as client:
        for run in range(runs + 1):
            identifier = f"FF-{uuid.uuid4().hex[:10]}"
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/alerts/cap", content=cap(identifier), headers=HEADERS
            )
            response.raise_for_status()
            while (count := await tasks_of(conn, identifier)) == 0:
                if time.perf_counter() - started > 60:
                    raise SystemExit("no tasks after 60 s")
                await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - started
            if run:  # the first run warms caches
                times.append(elapsed)
                print(f"  run {run:>2}: {elapsed * 1000:7.0f} ms, {count} tasks")
            await client.post(
                "/api/v1/alerts/cap",
                headers=HEADERS,
                content=cap(
                    f"{identifier}-x",
                    "Cancel",
                    f"bench.lifeline,{identifier},2026-11-24T08:00:00+08:00",
                ),
            )
            await asyncio.sleep(0.5)
    await conn.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"# Alert to tasks: {args.workers:,} registered workers, {args.runs} runs")
    reg = synthetic_register(args.workers, seed=5)
    db = "bench_alert_tasks"
    url = asyncio.run(load_service_db(reg, db))
    nationalities, countries = asyncio.run(directory(db, reg))
    print(f"  zone hits {nationalities} nationalities in {countries} countries")
    env = {
        **__import__("os").environ,
        "LIFELINE_DATABASE_URL": url,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", "8766"], env=env, cwd=ROOT
    )
    try:
        with httpx.Client(base_url="http://127.0.0.1:8766", timeout=60) as client:
            wait_until_ready(client, seconds=600)
        times = sorted(asyncio.run(measure(db, args.runs)))
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(
            f"  median {statistics.median(times) * 1000:.0f} ms (target < 1,000), 95th percentile {p95 * 1000:.0f} ms (target < 2,000)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
