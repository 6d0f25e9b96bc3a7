"""Exposure benchmark: the in-memory engine against PostGIS and geopandas on the same register
and zones, plus the API's latency, index build time and memory, and import throughput.

    python bench/exposure.py --workers 10000000          # the issue's scale
    python bench/exposure.py --workers 1000000 --quick   # a few minutes

Prints figures; asserts only that every method counts the same people.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import shapely  # noqa: E402
from shapely.affinity import translate  # noqa: E402
from shapely.geometry import mapping, shape  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, timed, wait_until_ready  # noqa: E402
from geo.circles import geodesic_circle  # noqa: E402
from geo.exposure import ExposureIndex  # noqa: E402
from service.demo.scenarios import KLANG_VALLEY_FLOOD  # noqa: E402
from service.demo.synthetic import synthetic_register  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def zones() -> dict[str, Any]:
    gdacs = json.loads(
        (Path(__file__).parent / "data" / "tc-1001253-ep1-geometry.json").read_text()
    )
    buffers = shapely.union_all(
        [
            shape(f["geometry"])
            for f in gdacs["features"]
            if f["properties"]["Class"] in ("Poly_Green", "Poly_Orange", "Poly_Red")
        ]
    )
    centre = buffers.centroid
    return {
        "city flood (Klang Valley)": shape(KLANG_VALLEY_FLOOD),
        "GDACS TC 1001253 wind buffers": buffers,
        # The real buffers lie over open sea near Fiji, where the register has nobody: the same
        # shape moved over Luzon measures a cyclone that hits people.
        "same buffers over Luzon": translate(buffers, xoff=121.0 - centre.x, yoff=15.5 - centre.y),
        "earthquake 150 km circle": geodesic_circle(101.6869, 3.1390, 150_000),
    }


def rss_mb(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def postgis_available() -> bool:
    import asyncpg

    async def check() -> bool:
        conn = await asyncpg.connect(PG + "/postgres")
        try:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
                )
            )
        finally:
            await conn.close()

    return asyncio.run(check())


def postgis(reg: Any, zs: dict[str, Any], runs: int) -> dict[str, tuple[float, dict[str, int]]]:
    import asyncpg

    async def run() -> dict[str, tuple[float, dict[str, int]]]:
        admin = await asyncpg.connect(PG + "/postgres")
        await admin.execute("DROP DATABASE IF EXISTS bench_exposure WITH (FORCE)")
        await admin.execute("CREATE DATABASE bench_exposure")
        await admin.close()
        conn = await asyncpg.connect(PG + "/bench_exposure")
        await conn.execute("CREATE EXTENSION postgis")
        await conn.execute("CREATE TABLE pts (pk bigint, nationality text, lon float8, lat float8)")
        t = time.perf_counter()
        records = zip(
            range(len(reg)),
            reg.nationality.tolist(),
            reg.lon.tolist(),
            reg.lat.tolist(),
            strict=True,
        )
        await conn.copy_records_to_table("pts", records=records)
        await conn.execute("ALTER TABLE pts ADD COLUMN geom geometry(Point, 4326)")
        await conn.execute("UPDATE pts SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)")
        await conn.execute("CREATE INDEX ON pts USING gist (geom)")
        await conn.execute("VACUUM ANALYZE pts")
        print(f"  PostGIS table loaded and indexed in {time.perf_counter() - t:.1f} s")
        out = {}
        for name, zone in zs.items():
            sql = (
                "SELECT nationality, count(*) FROM pts WHERE ST_Contains(ST_GeomFromGeoJSON($1)::geometry(Geometry, 4326), geom) "
                "GROUP BY nationality"
            )
            geojson = json.dumps(mapping(zone))
            await conn.fetch(sql, geojson)  # warm
            times = []
            rows: list[Any] = []
            for _ in range(runs):
                t = time.perf_counter()
                rows = await conn.fetch(sql, geojson)
                times.append(time.perf_counter() - t)
            out[name] = (statistics.median(times), {r[0]: r[1] for r in rows})
        await conn.close()
        return out

    return asyncio.run(run())


def geopandas_counts(
    reg: Any, zs: dict[str, Any], runs: int
) -> dict[str, tuple[float, dict[str, int]]]:
    import geopandas as gpd

    points = gpd.GeoDataFrame(
        {"nationality": reg.nationality}, geometry=gpd.points_from_xy(reg.lon, reg.lat), crs=4326
    )
    _ = points.sindex  # built once, outside the timings, as the engine's index is
    out = {}
    for name, zone in zs.items():
        frame = gpd.GeoDataFrame(geometry=[zone], crs=4326)

        def query(frame: Any = frame) -> dict[str, int]:
            joined = gpd.sjoin(points, frame, predicate="within", how="inner")
            return {k: int(v) for k, v in joined.groupby("nationality").size().items()}

        out[name] = timed(query, runs)
    return out


async def load_service_db(reg: Any, db: str) -> str:
    """A service database (migrated) holding ``reg`` as its register, an organisation and the
    token ``ll_bench-token-secret`` (coordinator); returns its URL."""
    import asyncpg

    url = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{db}"
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {db}")
    await admin.close()
    from service.db import make_engine
    from service.migrate import upgrade

    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(f"{PG}/{db}")
    # The index reads only location and attributes: rows are loaded without personal fields.
    n = len(reg)
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    cols = [
        "id",
        "nationality",
        "sex",
        "sector",
        "languages",
        "lat",
        "lon",
        "country",
        "accompanying_family",
        "vulnerabilities",
        "vulnerable",
        "international_protection",
        "consent_embassy",
        "consent_humanitarian",
        "legal_basis",
        "source",
        "verified",
        "stay_registered",
        "created_at",
        "updated_at",
        "version",
    ]
    batch = 500_000
    for start in range(0, n, batch):
        sl = slice(start, min(start + batch, n))
        recs = [
            (
                f"bench-{i}",
                nat,
                sex,
                sec,
                "[]",
                la,
                lo,
                dest,
                int(fam),
                "[]",
                bool(v),
                False,
                True,
                False,
                "vital_interest",
                "ministry_import",
                False,
                False,
                now,
                now,
                1,
            )
            for i, nat, sex, sec, la, lo, dest, fam, v in zip(
                range(sl.start, sl.stop),
                reg.nationality[sl].tolist(),
                reg.sex[sl].tolist(),
                reg.sector[sl].tolist(),
                reg.lat[sl].tolist(),
                reg.lon[sl].tolist(),
                reg.destination[sl].tolist(),
                reg.family[sl].tolist(),
                reg.vulnerable[sl].tolist(),
                strict=True,
            )
        ]
        await conn.copy_records_to_table("workers", records=recs, columns=cols)
    org = "bench-org"
    await conn.execute(
        "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, created_at, updated_at, version) "
        "VALUES ($1, 'bench-coordination', 'Bench', 'international_org', 'MYS', '[]', '[]', now(), now(), 1)",
        org,
    )
    from service.auth.service import hash_token

    await conn.execute(
        "INSERT INTO api_tokens (id, organization_id, role, name, token_hash, prefix, created_at) "
        "VALUES ('bench-token', $1, 'coordinator', 'bench', $2, 'll_bench', now())",
        org,
        hash_token("ll_bench-token-secret"),
    )
    await conn.close()
    return url


def http_benchmark(reg: Any, zs: dict[str, Any], runs: int) -> None:
    """Load the register into a PostgreSQL database of the service, start the API, time it."""
    import httpx

    db = "bench_lifeline"
    url = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{db}"

    async def load() -> None:
        await load_service_db(reg, db)
        from service.db import make_engine as mk
        from service.exposure.index import RegisterIndex

        engine = mk(url)
        index = RegisterIndex(engine)
        t = time.perf_counter()
        await index.build()
        print(
            f"  index built from PostgreSQL ({len(index.index):,} workers) in {time.perf_counter() - t:.1f} s (target < 60 s)"
        )
        await engine.dispose()

    asyncio.run(load())
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": url,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", "8765"], env=env, cwd=ROOT
    )
    try:
        with httpx.Client(base_url="http://127.0.0.1:8765", timeout=120) as client:
            wait_until_ready(client, seconds=600)
            headers = {"Authorization": "Bearer ll_bench-token-secret"}
            print(
                f"  API process resident memory after start: {rss_mb(server.pid):,.0f} MB (target < 1,536 MB)"
            )
            print(f"  {'zone':<32} {'HTTP median':>12} {'p95':>9}  workers")
            for name, zone in zs.items():
                body = {"geometry": mapping(zone)}
                client.post("/api/v1/exposure", json=body, headers=headers)
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    r = client.post("/api/v1/exposure", json=body, headers=headers)
                    times.append(time.perf_counter() - t)
                    r.raise_for_status()
                times.sort()
                print(
                    f"  {name:<32} {statistics.median(times) * 1000:>9.1f} ms {times[int(len(times) * 0.95) - 1] * 1000:>6.1f} ms  {r.json()['workers']:,}"
                )
            print(f"  API process resident memory after queries: {rss_mb(server.pid):,.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="skip the HTTP part")
    parser.add_argument("--http-only", action="store_true", help="skip the engine comparison")
    args = parser.parse_args()

    print(f"# Exposure benchmark: {args.workers:,} synthetic workers, median of {args.runs} runs")
    t = time.perf_counter()
    reg = synthetic_register(args.workers, seed=11)
    print(f"  register generated in {time.perf_counter() - t:.1f} s")
    zs = zones()
    if args.http_only:
        print("\n# Through HTTP (PostgreSQL, one API process)")
        http_benchmark(reg, zs, args.runs)
        return

    t = time.perf_counter()
    index = ExposureIndex.from_arrays(
        pk=np.arange(len(reg)),
        lon=reg.lon,
        lat=reg.lat,
        attributes={
            "nationality": reg.nationality,
            "country": reg.destination,
            "sex": reg.sex,
            "sector": reg.sector,
        },
        family=reg.family,
        vulnerable=reg.vulnerable,
    )
    print(
        f"  engine index built in {time.perf_counter() - t:.1f} s; process peak RSS {rss_mb():,.0f} MB"
    )

    engine = {n: timed(lambda z=z: index.query(z), args.runs) for n, z in zs.items()}
    engine = {n: (sec, r.by_nationality) for n, (sec, r) in engine.items()}
    baselines: dict[str, dict[str, tuple[float, dict[str, int]]]] = {}
    print("  running geopandas.sjoin ...")
    baselines["geopandas"] = geopandas_counts(reg, zs, max(3, args.runs // 4))
    if postgis_available():
        print("  running PostGIS ...")
        baselines["PostGIS"] = postgis(reg, zs, max(3, args.runs // 4))
    else:
        print("  PostGIS is not installed here (apt-get install postgresql-15-postgis-3): skipped")

    print()
    header = f"  {'zone':<32} {'workers':>10} {'engine':>10}"
    for b in baselines:
        header += f" {b:>11} {'ratio':>7}"
    print(header)
    for name in zs:
        sec, counts = engine[name]
        line = f"  {name:<32} {sum(counts.values()):>10,} {sec * 1000:>8.2f}ms"
        for b, results in baselines.items():
            bsec, bcounts = results[name]
            if bcounts != counts:
                raise SystemExit(f"{b} disagrees on {name}: {bcounts} != {counts}")
            line += f" {bsec * 1000:>9.1f}ms {bsec / sec:>6.0f}x"
        print(line)
    print("  counts agree exactly, by nationality, for every zone and method")

    if not args.quick:
        print("\n# Through HTTP (PostgreSQL, one API process)")
        http_benchmark(reg, zs, args.runs)


if __name__ == "__main__":
    main()
