"""Exports on PostgreSQL through HTTP: the people of a zone as CSV, the crisis map, the sitrep.

    python bench/exports.py                 # 1,000,000 workers, 400,000 of them in the zone
    python bench/exports.py --quick         # 100,000 workers, 40,000 in the zone

A synthetic register of ``--workers`` people is written with ``COPY`` (names and phones sealed
by the deployment's ``Protector``, as an import seals them; country and province from the
shipped boundaries, ``geo.admin.AdminAreas``): ``--zone-people`` of them on land in a box over
South, Southeast and East Asia (longitude 60-146, latitude -11-46, so that the zone hits over
500 provinces), the others in the Gulf, outside it. One API process (``lifeline serve``), an
administrator's token.

1. ``POST /api/v1/exposure/workers?format=csv`` with the box as its zone, streamed by the
   client: rows a second (from the request to the last byte) and the resident memory of the
   API's processes (``VmRSS`` of ``/proc/<pid>/status``, summed over the process tree, sampled
   every 50 ms) above what it was just before the request. The rows are counted and must equal
   the zone's count in SQL (workers inside the box, not erased, not nationals of the country
   they are in). Beside it, the floor of that work in the bench's own process: as many rows'
   sealed names and phones read with ``asyncpg`` and opened with the deployment's key, the
   export's rate printed as a ratio of it. Twice: the first export of the fresh API process
   (which pays once for what the process builds on its first list of people), then the same
   again (what each export costs); the memory also split into before the first byte (choosing
   and counting the people) and while the rows stream.
2. A crisis declared through the API (``POST /api/v1/crises``) with the box as its zone, then
   ``GET /api/v1/crises/{id}/map?format=geojson`` 20 times, one at a time: median and 95th
   percentile, and how many provinces the file holds.
3. ``GET /api/v1/crises/{id}/sitrep?format=pdf`` 5 times: the median.

Baseline: ``/healthz``, one at a time, in the same run. Correctness is asserted (the row count);
times and memory are printed against their targets, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, Table, wait_until_ready  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_exports"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
PORT = 8783
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "ll_bench-exports-token"
ORG = "bench-exports-org"
SEED = 11

#: The zone: (west, south, east, north).
ZONE = (60.0, -11.0, 146.0, 46.0)
#: Where the others live: the Gulf and around it, outside the zone.
ELSEWHERE = (35.0, 15.0, 60.0, 32.0)
#: Grid step of the land cells people are placed in (degrees), and their jitter inside a cell.
CELL = 0.25
NATIONALITIES = ["IDN", "NPL", "BGD", "MMR", "PHL", "IND", "VNM", "LKA", "PAK", "KHM", "ETH"]
GIVEN = ["Siti", "Ram", "Maria", "Nguyen", "Aung", "Rahim", "Dewi", "Joseph", "Anita", "Kamal"]
FAMILY = ["Rahman", "Sharma", "Santos", "Tran", "Win", "Hossain", "Lestari", "Perera", "Khan"]


# --- seeding -------------------------------------------------------------------------------


def land_cells(box: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray, list]:
    """The centres of the grid cells of ``box`` on land (a country and a province, no flag):
    longitudes, latitudes and their (country, admin1)."""
    from geo.admin import AdminAreas

    west, south, east, north = box
    lons, lats = np.meshgrid(
        np.arange(west + CELL, east - CELL / 2, CELL),
        np.arange(south + CELL, north - CELL / 2, CELL),
    )
    lons, lats = lons.ravel(), lats.ravel()
    country, admin1, flag = AdminAreas.load().locate_many(lons, lats)
    keep = [
        i
        for i in range(len(lons))
        if country[i] is not None and admin1[i] is not None and flag[i] is None
    ]
    return lons[keep], lats[keep], [(country[i], admin1[i]) for i in keep]


async def fresh_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()


async def drop_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.close()


COLUMNS = [
    "id",
    "nationality",
    "sex",
    "sector",
    "languages",
    "lat",
    "lon",
    "country",
    "admin1",
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
    "given_name_sealed",
    "family_name_sealed",
    "phone_sealed",
    "registered_by",
    "created_at",
    "updated_at",
    "version",
]


async def seed(workers: int, zone_people: int) -> None:
    """The schema, the organisation and its administrator's token, the register."""
    from service.auth.service import hash_token
    from service.db import make_engine
    from service.migrate import upgrade
    from service.registry.protect import Protector
    from service.settings import Settings

    await fresh_database()
    engine = make_engine(URL)
    await upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(f"{PG}/{DB}")
    await conn.execute(
        "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, "
        "created_at, updated_at, version) VALUES ($1, 'bench-exports', 'Bench coordination', "
        "'international_org', 'MYS', '[]', '[]', now(), now(), 1)",
        ORG,
    )
    await conn.execute(
        "INSERT INTO api_tokens (id, organization_id, role, name, token_hash, prefix, created_at) "
        "VALUES ($1, $2, 'admin', 'bench', $3, 'll_bench', now())",
        "bench-exports-token",
        ORG,
        hash_token(TOKEN),
    )
    sealer = Protector.from_settings(Settings(database_url=URL)).sealer
    rng = np.random.default_rng(SEED)
    t = time.perf_counter()
    inside = land_cells(ZONE)
    outside = land_cells(ELSEWHERE)
    provinces = len({a for _, a in inside[2]})
    print(
        f"  land cells: {len(inside[0]):,} in the zone ({provinces:,} provinces), "
        f"{len(outside[0]):,} elsewhere ({time.perf_counter() - t:.1f} s)"
    )
    now = datetime.now(UTC)
    t = time.perf_counter()
    batch = 50_000
    for start in range(0, workers, batch):
        n = min(batch, workers - start)
        records = []
        cell_in = rng.integers(0, len(inside[0]), n)
        cell_out = rng.integers(0, len(outside[0]), n)
        jitter = rng.uniform(-CELL * 0.45, CELL * 0.45, (n, 2))
        nat = rng.integers(0, len(NATIONALITIES), n)
        names = rng.integers(0, 90, n)
        for j in range(n):
            i = start + j
            lons, lats, places = inside if i < zone_people else outside
            c = cell_in[j] if i < zone_people else cell_out[j]
            country, admin1 = places[c]
            nationality = NATIONALITIES[nat[j]]
            if nationality == country:
                nationality = "ETH" if country != "ETH" else "IDN"
            worker_id = f"bench-{i:08d}"
            given, family, phone = sealer.seal_all(
                (
                    ("given_name", GIVEN[names[j] % 10]),
                    ("family_name", FAMILY[names[j] // 10]),
                    ("phone", f"+6012{i:07d}"),
                ),
                record_id=worker_id,
            )
            records.append(
                (
                    worker_id,
                    nationality,
                    "F" if i % 2 else "M",
                    "construction",
                    '["en"]',
                    round(float(lats[c] + jitter[j, 1]), 6),
                    round(float(lons[c] + jitter[j, 0]), 6),
                    country,
                    admin1,
                    0,
                    "[]",
                    False,
                    False,
                    True,
                    False,
                    "vital_interest",
                    "ministry_import",
                    False,
                    False,
                    given,
                    family,
                    phone,
                    ORG,
                    now,
                    now,
                    1,
                )
            )
        await conn.copy_records_to_table("workers", records=records, columns=COLUMNS)
    await conn.execute("ANALYZE workers")
    print(f"  register: {workers:,} workers written in {time.perf_counter() - t:.1f} s")
    await conn.close()


async def zone_count() -> int:
    """The people the CSV must hold, counted in SQL."""
    west, south, east, north = ZONE
    conn = await asyncpg.connect(f"{PG}/{DB}")
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM workers WHERE erased_at IS NULL AND lon > $1 AND lat > $2 "
                "AND lon < $3 AND lat < $4 AND nationality IS DISTINCT FROM country",
                west,
                south,
                east,
                north,
            )
        )
    finally:
        await conn.close()


def zone_geometry() -> dict[str, Any]:
    west, south, east, north = ZONE
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- measuring -----------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = task.read_text().split()
        except OSError:
            continue
        for child in children:
            out += _tree(int(child))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (MB)."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Sampler(threading.Thread):
    """``rss_mb`` every ``every`` seconds until stopped: the samples."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append(rss_mb(self.pid))
            self.halt.wait(self.every)

    def stop(self) -> list[float]:
        self.halt.set()
        self.join()
        return self.samples


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def timings(client: httpx.Client, path: str, runs: int) -> tuple[list[float], httpx.Response]:
    """Each of ``runs`` GETs, one at a time, in ms; the last response."""
    times, response = [], None
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:500]}")
    assert response is not None
    return times, response


def csv_export(client: httpx.Client, pid: int, want: int, table: Table, run: str) -> None:
    print(f"## 1. The people of the zone as CSV ({want:,} in SQL), streamed: {run}")
    before = rss_mb(pid)
    sampler = Sampler(pid)
    sampler.start()
    lines = size = 0
    first = None
    headers: dict[str, str] = {}
    t = time.perf_counter()
    with client.stream(
        "POST",
        "/api/v1/exposure/workers",
        params={"format": "csv"},
        json={"geometry": zone_geometry()},
        timeout=1800,
    ) as response:
        if response.status_code != 200:
            response.read()
            raise SystemExit(f"CSV: {response.status_code} {response.text[:500]}")
        headers = dict(response.headers)
        for chunk in response.iter_bytes():
            if first is None:
                first = time.perf_counter() - t
            lines += chunk.count(b"\n")
            size += len(chunk)
    seconds = time.perf_counter() - t
    samples = sampler.stop()
    rows = max(0, lines - 1)
    growth = max(samples, default=before) - before
    rate = rows / seconds
    print(
        f"  {rows:,} rows ({size / 1e6:,.1f} MB) in {seconds:.2f} s: {rate:,.0f} rows/s; "
        f"first byte after {(first or 0) * 1000:,.0f} ms"
    )
    # Where the growth comes: before the first byte (choosing and counting the people) or while
    # the rows stream (the sampler takes one sample every 50 ms from the request on).
    at_first = samples[: max(1, round((first or 0) / 0.05))]
    streaming = samples[len(at_first) :] or at_first
    print(
        f"  API resident memory: {before:,.0f} MB before, peak {max(samples, default=before):,.0f}"
        f" MB ({len(samples)} samples): +{growth:,.0f} MB; by the first byte "
        f"+{max(at_first, default=before) - before:,.0f} MB, while streaming at most "
        f"+{max(streaming, default=before) - before:,.0f} MB"
    )
    usual = {"content-type", "content-disposition", "date", "server", "x-request-id"}
    counted = {k: v for k, v in headers.items() if k.lower() not in usual}
    print(f"  answer's other headers: {counted}")
    table.correct(f"CSV ({run}): rows = the zone's count in SQL", want, rows)
    floor = asyncio.run(opening_floor(min(rows, 100_000)))
    print(
        f"  baseline, reading and opening the sealed fields alone (one process, no HTTP): "
        f"{floor:,.0f} rows/s; the export runs at {rate / floor:.2f} × that"
    )
    table.target(
        f"CSV ({run}): rows a second",
        ">= 100,000/s",
        f"{rate:,.0f}/s ({rows:,} rows in {seconds:.2f} s; {rate / floor:.2f} × reading and "
        f"opening alone, {floor:,.0f}/s)",
        rate >= 100_000,
    )
    table.target(
        f"CSV ({run}): API resident memory growth",
        "< 100 MB",
        f"+{growth:,.0f} MB (from {before:,.0f})",
        growth < 100,
    )


async def opening_floor(rows: int) -> float:
    """Rows a second of the work no export of names can skip, in this process: ``rows`` rows'
    sealed names and phones read from PostgreSQL (``asyncpg``, no ORM) and opened with the
    deployment's key, nothing written."""
    from service.registry.protect import Protector
    from service.settings import Settings

    sealer = Protector.from_settings(Settings(database_url=URL)).sealer
    connection = await asyncpg.connect(f"{PG}/{DB}")
    try:
        t = time.perf_counter()
        found = await connection.fetch(
            "SELECT id, given_name_sealed, family_name_sealed, phone_sealed FROM workers "
            "ORDER BY pk LIMIT $1",
            rows,
        )
        for row in found:
            for name in ("given_name", "family_name", "phone"):
                sealer.open(row[f"{name}_sealed"], record_id=row["id"], field=name)
        return len(found) / (time.perf_counter() - t)
    finally:
        await connection.close()


def crisis_map(client: httpx.Client, crisis_id: str, base: float, table: Table) -> None:
    print("## 2. The crisis map, GeoJSON, 20 times")
    path = f"/api/v1/crises/{crisis_id}/map?format=geojson"
    timings(client, path, 2)  # warm up
    times, response = timings(client, path, 20)
    features = response.json()["features"]
    kinds: dict[str, int] = {}
    for feature in features:
        props = feature.get("properties") or {}
        kind = str(
            props.get("kind") or props.get("layer") or ("zone" if "version" in props else "area")
        )
        kinds[kind] = kinds.get(kind, 0) + 1
    zones = sum(1 for f in features if "version" in (f.get("properties") or {}))
    provinces = len(features) - zones
    median, p95 = statistics.median(times), pct(times, 95)
    print(
        f"  {len(features):,} features ({kinds}; {provinces:,} provinces), "
        f"{len(response.content) / 1e6:,.2f} MB: median {median:,.0f} ms, p95 {p95:,.0f} ms "
        f"({median / base:,.0f} × /healthz's median)"
    )
    table.target(
        "map GeoJSON: median / p95",
        "< 300 ms",
        f"{median:,.0f} / {p95:,.0f} ms ({provinces:,} provinces, "
        f"{len(response.content) / 1e6:,.1f} MB)",
        p95 < 300,
    )


def sitrep(client: httpx.Client, crisis_id: str, base: float, table: Table) -> None:
    print("## 3. The sitrep, PDF, 5 times")
    path = f"/api/v1/crises/{crisis_id}/sitrep?format=pdf"
    times, response = timings(client, path, 5)
    median = statistics.median(times)
    print(
        f"  {len(response.content) / 1000:,.0f} kB: median {median:,.0f} ms, max {max(times):,.0f}"
        f" ms ({median / base:,.0f} × /healthz's median)"
    )
    assert response.content.startswith(b"%PDF"), response.content[:20]
    table.target("sitrep PDF: median", "< 5 s", f"{median / 1000:,.2f} s", median < 5000)


def start_api() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    command = ["-m", "service.cli", "serve", "--port", str(PORT), "--processes", "1"]
    return subprocess.Popen([sys.executable, *command], env=env, cwd=ROOT)


def bench(args: argparse.Namespace) -> None:
    print(
        f"# Exports on PostgreSQL: {args.workers:,} workers, {args.zone_people:,} in the zone; "
        "one API process, an administrator"
    )
    table = Table()
    asyncio.run(seed(args.workers, args.zone_people))
    want = asyncio.run(zone_count())
    server = start_api()
    try:
        with httpx.Client(
            base_url=BASE, timeout=300, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            t = time.perf_counter()
            wait_until_ready(client, seconds=900, every=0.5)
            print(
                f"  API ready in {time.perf_counter() - t:.1f} s; resident memory "
                f"{rss_mb(server.pid):,.0f} MB"
            )
            timings(client, "/healthz", 20)
            health, _ = timings(client, "/healthz", 50)
            base = statistics.median(health)
            print(
                f"  /healthz, one at a time (baseline): median {base:.1f} ms, p95 {pct(health, 95):.1f} ms"
            )
            table.target(
                "/healthz (baseline): median / p95",
                "",
                f"{base:.1f} / {pct(health, 95):.1f} ms",
                True,
            )
            # The first export of a fresh process, then the same again: what an export costs
            # once, and what it costs each time.
            csv_export(client, server.pid, want, table, "first of the process")
            csv_export(client, server.pid, want, table, "again")
            declared = client.post(
                "/api/v1/crises",
                json={
                    "title": "Bench regional crisis",
                    "hazard": "conflict",
                    "severity": "severe",
                    "exercise": True,
                    "zones": zone_geometry(),
                },
            )
            if declared.status_code != 201:
                raise SystemExit(f"crisis: {declared.status_code} {declared.text[:500]}")
            crisis_id = declared.json()["id"]
            crisis_map(client, crisis_id, base, table)
            sitrep(client, crisis_id, base, table)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if not args.keep:
            asyncio.run(drop_database())
    table.print()
    if table.failures:
        raise SystemExit("incorrect: " + "; ".join(table.failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--zone-people", type=int, default=400_000)
    parser.add_argument("--quick", action="store_true", help="about a tenth of the scale")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.quick:
        args.workers, args.zone_people = args.workers // 10, args.zone_people // 10
    if args.zone_people > args.workers:
        parser.error("--zone-people must not exceed --workers")
    bench(args)


if __name__ == "__main__":
    main()
