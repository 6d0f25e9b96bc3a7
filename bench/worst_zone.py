"""The worst zones the limits accept, against real ones and against the geometry deadline.

    python bench/worst_zone.py                      # parser, engine over 1,000,000, HTTP
    python bench/worst_zone.py --workers 200000 --no-http

Shapes that cost the most per vertex (``tests/hostile_zones.py``): a star of spikes around one
centre at the largest size ``MAX_OVERLAPS`` accepts, a comb of thin vertical teeth and many small
squares or holes at the limits of vertices and rings, and two just over a limit. Baselines,
measured in the same run: the real GDACS cyclone buffers of ``data/``, the largest CAP polygon of
the test fixtures (Environment Canada), and the Natural Earth outline of Indonesia. Prints, for
each: the time through ``parse_geojson`` (what every route that takes a zone does first), the
time of the exposure engine over a synthetic register around Kuala Lumpur (every zone is moved
there), and through HTTP: ``POST /exposure`` and the longest ``/healthz`` meanwhile, then a CAP
push of the worst CAP polygon with the inline crisis pass. Ratios are against the GDACS zone and
against the deadline (``LIFELINE_GEOMETRY_DEADLINE_S``, 5 s by default). Asserts only that the
zones under the limits are accepted and those over them refused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
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
from geo.errors import GeometryLimitExceeded  # noqa: E402
from geo.exposure import ExposureIndex  # noqa: E402
from geo.geojson import parse_geojson  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests import hostile_zones as hz  # noqa: E402

DEADLINE_S = Settings().geometry_deadline_s
PORT = 8766


def _moved(geometry: dict[str, Any]) -> dict[str, Any]:
    """The zone moved so that its centre is over Kuala Lumpur, where the register is."""
    g = shape(geometry)
    c = g.centroid
    return dict(mapping(translate(g, xoff=hz.KL[0] - c.x, yoff=hz.KL[1] - c.y)))


def real_zones() -> dict[str, dict[str, Any]]:
    gdacs = json.loads((ROOT / "bench" / "data" / "tc-1001253-ep1-geometry.json").read_text())
    buffers = shapely.union_all(
        [
            shape(f["geometry"])
            for f in gdacs["features"]
            if f["properties"]["Class"] in ("Poly_Green", "Poly_Orange", "Poly_Red")
        ]
    )
    text = (ROOT / "tests" / "fixtures" / "feeds" / "cap" / "canada.cap").read_text()
    pairs = re.search(r"<polygon>([^<]+)</polygon>", text)
    assert pairs is not None
    ring = [[float(p.split(",")[1]), float(p.split(",")[0])] for p in pairs.group(1).split()]
    with gzip.open(ROOT / "geo" / "data" / "countries.geojson.gz") as f:
        countries = json.load(f)
    indonesia = next(
        f["geometry"] for f in countries["features"] if "IDN" in json.dumps(f["properties"])
    )
    return {
        "GDACS TC 1001253 buffers (baseline)": _moved(dict(mapping(buffers))),
        "CAP polygon, Environment Canada": _moved({"type": "Polygon", "coordinates": [ring]}),
        "Indonesia, Natural Earth": _moved(indonesia),
    }


def worst_zones() -> dict[str, tuple[dict[str, Any], bool]]:
    """(zone, accepted?) for each hostile shape."""
    return {
        f"star, {hz.STAR_ACCEPTED:,} vertices": (hz.star(hz.STAR_ACCEPTED), True),
        f"comb, {hz.COMB_ACCEPTED:,} vertices": (hz.comb(), True),
        f"{hz.SQUARES_ACCEPTED:,} squares": (hz.squares(), True),
        f"square with {hz.SQUARES_ACCEPTED - 1:,} holes": (hz.holes(), True),
        f"star, {hz.STAR_REFUSED:,} vertices": (hz.star(hz.STAR_REFUSED), False),
        "10,001 squares": (hz.squares(10_001), False),
    }


def parser(zones: dict[str, tuple[dict[str, Any], bool]]) -> None:
    print(f"parse_geojson (deadline {DEADLINE_S:g} s)")
    print(f"  {'zone':<40} {'time':>9} {'× GDACS':>8} {'× deadline':>11}  outcome")
    base = None
    for name, (zone, accepted) in zones.items():
        text = json.loads(json.dumps(zone))  # plain JSON numbers, as a request gives them

        def parse(text: Any = text) -> str:
            try:
                parsed = parse_geojson(text)
                return f"accepted, {shapely.get_num_coordinates(parsed.geometry):,} vertices"
            except GeometryLimitExceeded as exc:
                return f"refused ({exc.limit})"

        seconds, outcome = timed(parse)
        assert outcome.startswith("accepted") == accepted, (name, outcome)
        base = base or seconds
        print(
            f"  {name:<40} {seconds * 1000:>6.1f} ms {seconds / base:>8.0f} {seconds / DEADLINE_S:>11.3f}  {outcome}"
        )


def engine(zones: dict[str, tuple[dict[str, Any], bool]], workers: int) -> None:
    rng = np.random.default_rng(1)
    lon = hz.KL[0] + rng.normal(0, 0.3, workers)
    lat = hz.KL[1] + rng.normal(0, 0.3, workers)
    nationality = rng.choice(["IDN", "NPL", "BGD", "MMR", "PHL"], workers)
    index = ExposureIndex.from_arrays(
        pk=np.arange(workers), lon=lon, lat=lat, attributes={"nationality": nationality}
    )
    print(f"exposure engine, {workers:,} workers around Kuala Lumpur (σ 0.3°)")
    print(f"  {'zone':<40} {'time':>9} {'× GDACS':>8} {'× deadline':>11}  workers")
    base = None
    for name, (zone, accepted) in zones.items():
        if not accepted:
            continue
        geometry = parse_geojson(json.loads(json.dumps(zone))).geometry
        seconds, counts = timed(lambda g=geometry: index.query(g), runs=2)
        base = base or seconds
        print(
            f"  {name:<40} {seconds * 1000:>6.1f} ms {seconds / base:>8.0f} {seconds / DEADLINE_S:>11.3f}  {counts.workers:,}"
        )


def http(
    zones: dict[str, tuple[dict[str, Any], bool]], workers: int, *, pushes_only: bool, rounds: int
) -> None:
    import httpx

    folder = tempfile.mkdtemp(prefix="lifeline-bench-")
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "service.cli", "demo", "--no-serve", "--people", str(workers)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    tokens = dict(re.findall(r"^(\w+)\s+\S+\s+(ll_\S+)\s*$", seeded.stdout, re.MULTILINE))
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(PORT)], env=env, cwd=ROOT
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=600) as client:
            wait_until_ready(client, seconds=120)
            print(
                f"HTTP, demo register of {workers:,} workers on SQLite, one API process "
                "(the crisis pass inline, as by default)"
            )
            print(
                f"  {'zone':<40} {'POST /exposure':>15} {'× GDACS':>8} {'× deadline':>11} {'/healthz meanwhile':>19}"
            )
            viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
            base = None
            for name, (zone, _) in ({} if pushes_only else zones).items():
                seconds, worst, status = _with_healthz(
                    client,
                    lambda z=zone: client.post(
                        "/api/v1/exposure", json={"geometry": z}, headers=viewer
                    ),
                )
                base = base or seconds
                print(
                    f"  {name:<40} {seconds * 1000:>9.1f} ms {status} {seconds / base:>8.0f} {seconds / DEADLINE_S:>11.3f} {worst * 1000:>16.1f} ms"
                )
            pusher = {
                "Authorization": f"Bearer {tokens['integration']}",
                "Content-Type": "application/cap+xml",
            }
            for round_, (name, ring) in (
                (r, push)
                for r in range(1, rounds + 1)
                for push in (
                    (
                        "CAP polygon, Environment Canada",
                        real_zones()["CAP polygon, Environment Canada"],
                    ),
                    ("CAP comb, 80,000 vertices", hz.comb(80_000)),
                    (f"CAP star, {hz.STAR_ACCEPTED:,} vertices", hz.star(hz.STAR_ACCEPTED)),
                )
            ):
                message = hz.cap_message(
                    f"bench-{time.time_ns()}", hz.cap_polygon(ring["coordinates"][0])
                )
                seconds, worst, status = _with_healthz(
                    client,
                    lambda m=message: client.post("/api/v1/alerts/cap", content=m, headers=pusher),
                    after_s=3.0,
                )
                print(
                    f"  push {round_}: {name:<32} {seconds * 1000:>9.1f} ms {status} {'':>8} {seconds / DEADLINE_S:>11.3f} {worst * 1000:>16.1f} ms"
                )
            print(f"  /healthz after the pushes: {_healthz_ms(client):.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _healthz_ms(client: Any) -> float:
    t = time.perf_counter()
    client.get("/healthz")
    return (time.perf_counter() - t) * 1000


def _with_healthz(client: Any, request: Any, after_s: float = 0.0) -> tuple[float, float, int]:
    """(seconds of ``request``, the longest ``/healthz`` while it ran and for ``after_s`` after
    its answer (what the server does once it has answered, the inline crisis pass), its status)."""
    import httpx

    done = threading.Event()
    longest = [0.0]

    def probe() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=60) as other:
            while not done.is_set():
                t = time.perf_counter()
                other.get("/healthz")
                longest[0] = max(longest[0], time.perf_counter() - t)
                time.sleep(0.01)

    thread = threading.Thread(target=probe)
    thread.start()
    t = time.perf_counter()
    response = request()
    seconds = time.perf_counter() - t
    time.sleep(after_s)
    done.set()
    thread.join()
    return seconds, longest[0], response.status_code


def main() -> None:
    parser_ = argparse.ArgumentParser(description=__doc__)
    parser_.add_argument("--workers", type=int, default=1_000_000)
    parser_.add_argument("--http-workers", type=int, default=20_000)
    parser_.add_argument("--no-http", action="store_true")
    parser_.add_argument(
        "--pushes-only", action="store_true", help="through HTTP, only the CAP pushes"
    )
    parser_.add_argument("--rounds", type=int, default=1, help="rounds of the CAP pushes")
    args = parser_.parse_args()
    if args.pushes_only:
        http({}, args.http_workers, pushes_only=True, rounds=args.rounds)
        return
    zones = {name: (zone, True) for name, zone in real_zones().items()} | worst_zones()
    parser(zones)
    engine(zones, args.workers)
    if not args.no_http:
        http(zones, args.http_workers, pushes_only=False, rounds=args.rounds)


if __name__ == "__main__":
    main()
