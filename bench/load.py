"""A crisis day on PostgreSQL through two API processes: a mixed load, bounded in time.

    python bench/load.py                  # 200,000 workers, 10 minutes
    python bench/load.py --quick          # 50,000 workers, 1 minute

1. A database of its own (created, and dropped at the end unless ``--keep``): the demo's
   directory, a register of ``--workers`` people (``service.demo.synthetic``'s corridors,
   imported by ``import_workers`` as the demo does, names and phones sealed), and for each
   client a coordinator's API token, an integration's API token and a console account of its
   own.
2. Two API processes (``lifeline serve``, one process each, on two loopback ports); the clients
   are spread over both, half on each. Through the API: a coordinator declares a flood over the
   Klang Valley (its playbooks make their tasks), tasks are added up to ``--tasks`` (as the
   console bench adds them), the Malaysian Red Crescent starts a welfare check (its messages
   wait in the outbox: no sender runs, so the replies are the only traffic of messaging), and
   every client signs in to the console with both factors.
3. Baseline: ``/healthz`` by every client at once, for a tenth of the run (at least 5 s).
4. The mix, for ``--minutes``: each of ``--clients`` clients (asyncio, httpx, closed loop: the
   next request when the last is answered) draws a kind by weight, with a random generator of
   its own (seeded, so two runs ask the same things in the same order per client):

   - ``exposure``: ``POST /api/v1/exposure`` for a zone drawn around one of the register's
     cities (a circle of 2-150 km, or a polygon of 5-9 vertices as someone draws one);
   - ``task update``: the task's ``GET`` (its ``ETag``, timed apart as ``task read``), then
     ``PATCH`` with ``If-Match`` to the status that follows; a 412 means another client changed
     the task in between: the precondition did its work, and it is counted apart, not as an
     error;
   - ``CAP push``: ``POST /api/v1/alerts/cap`` (an integration's token), a new alert each time
     (status ``Exercise``) over one of six places, its crisis pass run before the answer (the
     first over a place opens a drill, the others join it);
   - ``welfare reply``: a signed reply from the phone of someone in the crisis's zone
     (``POST /api/v1/messages/inbound/relay``), in one of the languages a check is answered in;
   - ``console page``: one of the console's pages by the client's signed-in person (Now, the
     crises, the crisis, the task board, the alerts);
   - ``export CSV``: the crisis's people as the Red Crescent's responder may list them, as CSV
     (``GET /api/v1/crises/{id}/workers?format=csv``), read to its last byte and its rows
     counted (each must hold as many as the others);
   - ``/healthz``, a few, so that the baseline is also measured under the load.

Printed: the weights; per kind its requests, rate, median, 95th and 99th percentile (and the
median's ratio to the baseline's, and the kind's share of the time requests were open); errors by kind and status (every answer that is not 2xx,
and every transport failure, except the 412s above); each API process's resident memory
(``VmRSS`` of ``/proc/<pid>/status``) when the mix starts, after its first minute, at its peak
and at its end. The table at the end says met or MISSED for each target; a missed target is not
a failure: the bench exits non-zero only when something crashed (an API process died, or the
bench itself).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, Table, wait_until_ready  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_load"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
PORTS = (8797, 8798)
SECRET = "bench-load-relay-secret-0123456789"
PASSWORD = "bench load passphrase"
SEED = 25
#: The register's seed: the demo's (``service.demo.seed.seed_register``).
REGISTER_SEED = 7

#: The mix: each kind's weight (a client draws the next request's kind by these).
WEIGHTS: dict[str, int] = {
    "exposure": 28,
    "task update": 22,
    "welfare reply": 22,
    "console page": 14,
    "CAP push": 4,
    "export CSV": 4,
    "/healthz": 6,
}
#: 95th percentiles the benches of one kind aim at (ms): tasks.py, welfare.py, console.py and
#: alert_to_tasks.py, each at its own concurrency and alone on the machine.
P95_TARGETS: dict[str, float] = {
    "task update": 100,
    "welfare reply": 100,
    "console page": 400,
    "CAP push": 2000,
}
#: Resident memory growth of an API process from the mix's start to its end.
GROWTH = 0.10

#: The crisis: the demo's flood over the Klang Valley.
KLANG_VALLEY = [
    (101.40, 2.98),
    (101.55, 2.95),
    (101.70, 3.02),
    (101.74, 3.12),
    (101.66, 3.22),
    (101.52, 3.20),
    (101.42, 3.10),
    (101.40, 2.98),
]
#: Where exposure zones are drawn: cities the synthetic corridors place people in (lon, lat).
CITIES = [
    (101.69, 3.14),  # Kuala Lumpur
    (55.30, 25.20),  # Dubai
    (46.71, 24.71),  # Riyadh
    (103.82, 1.35),  # Singapore
    (100.50, 13.76),  # Bangkok
    (114.17, 22.32),  # Hong Kong
    (51.53, 25.29),  # Doha
    (47.98, 29.37),  # Kuwait City
    (121.56, 25.03),  # Taipei
    (39.19, 21.49),  # Jeddah
]
#: Where the CAP alerts of the day are: a small box around each (lon, lat, half a side in °).
CAP_PLACES = [
    ("Shah Alam", 101.52, 3.07, 0.08),
    ("Klang", 101.45, 3.04, 0.06),
    ("Johor Bahru", 103.76, 1.49, 0.10),
    ("Dubai Creek", 55.32, 25.25, 0.05),
    ("Sharjah", 55.40, 25.34, 0.06),
    ("Bangkok Noi", 100.47, 13.77, 0.08),
]
#: Replies as the recipients send them (welfare.py's, and a few that wait for a person).
REPLIES = ["1", "1", "1", "LIGTAS po", "AMAN", "SAFE", "1", "2 banjir", "selamat", "ok kami"]
#: The console's pages a coordinator opens during the day ({crisis} filled in).
PAGES = [
    "/console/",
    "/console/crises",
    "/console/crises/{crisis}",
    "/console/tasks",
    "/console/alerts",
]
#: The status each task status moves to (never ``done``: a done task hands off and leaves the
#: board, and the day's tasks would run out).
NEXT_STATUS = {
    "open": "acknowledged",
    "acknowledged": "in_progress",
    "in_progress": "blocked",
    "blocked": "in_progress",
}


def settings_env() -> dict[str, str]:
    """The service's settings, for the API processes and for this one (the same keys: the
    phone hashes of the import are those the replies are matched by)."""
    return {
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_LOG_LEVEL": "WARNING",
        # The relay is the gateway the replies come by; nothing sends in this bench (no
        # ``lifeline worker``), so its address is never called.
        "LIFELINE_MESSAGES_GATEWAY": "relay",
        "LIFELINE_MESSAGES_BASE_URL": "http://127.0.0.1:9",
        "LIFELINE_MESSAGES_SECRET": SECRET,
        **NO_REQUEST_LIMITS,
        # The lists of people are limited per person (1 a second, bursts of 30): a client
        # here exports far more often than anyone does.
        "LIFELINE_PEOPLE_LIST_RATE": "1000",
        "LIFELINE_PEOPLE_LIST_BURST": "1000",
    }


# --- seeding -------------------------------------------------------------------------------


@dataclass
class Credentials:
    coordinator: str
    integration: str
    #: The Malaysian Red Crescent's responder: the people of the zone who agreed to
    #: humanitarian sharing, whom the society's welfare check calls and its exports list.
    responder: str
    email: str


@dataclass
class Seeded:
    credentials: list[Credentials]
    phones: list[str]


async def fresh_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()


async def drop_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.close()


def zone_phones(content: bytes) -> list[str]:
    """The phones (E.164) of the register's people inside the Klang Valley zone."""
    import numpy as np
    import shapely

    from integrations.messaging.phones import normalise

    rows = list(csv.DictReader(io.StringIO(content.decode())))
    lon = np.array([float(r["lon"] or "nan") for r in rows])
    lat = np.array([float(r["lat"] or "nan") for r in rows])
    inside = shapely.contains_xy(shapely.Polygon(KLANG_VALLEY), lon, lat)
    phones = [normalise(rows[i]["phone"]) for i in np.flatnonzero(inside)]
    return [p for p in phones if p]


async def seed(workers: int, clients: int) -> Seeded:
    from service.auth.permissions import Role
    from service.auth.principal import Principal
    from service.auth.service import create_token
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.demo.seed import seed_directory
    from service.demo.synthetic import synthetic_csv
    from service.directory.service import get_organization
    from service.migrate import upgrade
    from service.registry.bulk import import_workers
    from service.registry.locate import default_locator
    from service.registry.protect import Protector
    from service.settings import get_settings
    from service.users.service import create_user

    actor = Principal.system("cli")
    await fresh_database()
    engine = make_engine(URL)
    try:
        await upgrade(engine)
        maker = make_sessionmaker(engine)
        t = time.perf_counter()
        content = synthetic_csv(workers, seed=REGISTER_SEED)
        phones = zone_phones(content)
        print(
            f"  register: {workers:,} people made in {time.perf_counter() - t:.0f} s, "
            f"{len(phones):,} phones in the crisis's zone"
        )
        t = time.perf_counter()
        async with session_scope(maker) as session:
            await seed_directory(session, actor=actor)
            report = await import_workers(
                session,
                actor=actor,
                protector=Protector.from_settings(get_settings()),
                locator=default_locator(),
                content=content,
                filename="synthetic-register.csv",
            )
        print(
            f"  register: {report.created:,} imported in {time.perf_counter() - t:.0f} s "
            f"({report.rejected:,} rejected)"
        )
        credentials = []
        async with session_scope(maker) as session:
            coordination = await get_organization(session, ref="lifeline-coordination")
            society = await get_organization(session, ref="mys-red-crescent")
            for n in range(clients):
                tokens = [
                    await create_token(
                        session,
                        actor=actor,
                        organization=organization,
                        role=role,
                        name=f"load client {n} {role.value}",
                    )
                    for organization, role in (
                        (coordination, Role.COORDINATOR),
                        (coordination, Role.INTEGRATION),
                        (society, Role.SOCIETY_RESPONDER),
                    )
                ]
                email = f"coordinator{n}@bench-load.example"
                await create_user(
                    session,
                    actor=actor,
                    organization=coordination,
                    role=Role.COORDINATOR,
                    email=email,
                    display_name=f"Load coordinator {n}",
                    password=PASSWORD,
                    one_time=False,
                )
                credentials.append(Credentials(*(token.secret for token in tokens), email=email))
    finally:
        await engine.dispose()
    return Seeded(credentials, phones)


async def add_tasks(crisis_id: str, total: int, batch: int = 500) -> int:
    """Tasks made by the tasks domain (each with its timeline entry) in the crisis, up to
    ``total``, held in turn by the organisations its playbooks gave tasks to."""
    from sqlmodel import select

    from service.auth.principal import Principal
    from service.crises.models import Crisis
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.tasks.models import Task
    from service.tasks.service import create_task

    actor = Principal.system("cli")
    engine = make_engine(URL)
    maker = make_sessionmaker(engine)
    try:
        async with session_scope(maker) as session:
            rows = (await session.exec(select(Task).where(Task.crisis_id == crisis_id))).all()
            holders = sorted({t.assignee_org for t in rows if t.assignee_org})
        missing = max(0, total - len(rows))
        for start in range(0, missing, batch):
            async with session_scope(maker) as session:
                crisis = await session.get(Crisis, crisis_id)
                assert crisis is not None
                for n in range(start, min(missing, start + batch)):
                    await create_task(
                        session,
                        crisis=crisis,
                        actor=actor,
                        values={
                            "key": f"bench.load.{n}",
                            "title": f"Check on the workers of site {n}",
                            "assignee_org": holders[n % len(holders)] if holders else None,
                        },
                    )
    finally:
        await engine.dispose()
    return missing


# --- the API processes ---------------------------------------------------------------------


def start_api(port: int) -> subprocess.Popen[bytes]:
    command = ["-m", "service.cli", "serve", "--port", str(port), "--processes", "1"]
    return subprocess.Popen(
        [sys.executable, *command], env={**os.environ, **settings_env()}, cwd=ROOT
    )


#: Tables whose rows the mix adds, counted at its start and its end: what the day writes to the
#: primary (docs/decisions/0025-scale-out.md weighs it against the reads a replica could take).
WRITTEN = (
    "audit_events",
    "task_changes",
    "crisis_events",
    "messages_in",
    "messages_out",
    "welfare_events",
    "alert_versions",
    "crises",
    "tasks",
)


async def row_counts() -> dict[str, int]:
    conn = await asyncpg.connect(f"{PG}/{DB}")
    try:
        counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in WRITTEN}
        counts["database MB"] = int(await conn.fetchval("SELECT pg_database_size($1)", DB)) >> 20
        counts["workers MB"] = (
            int(await conn.fetchval("SELECT pg_total_relation_size('workers')")) >> 20
        )
        return counts
    finally:
        await conn.close()


def rss_mb(pid: int) -> float:
    """``VmRSS`` of one process (MB); NaN once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Results:
    """Every answer: its kind, its status (or the transport failure), its time (ms)."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    export_rows: list[int] = field(default_factory=list)
    #: The first answer of each kind and status that is not 2xx (what it said, cut short).
    samples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, status: str, ms: float, answer: httpx.Response | None = None) -> None:
        self.times[kind].append(ms)
        self.statuses[kind][status] += 1
        if answer is not None and not answer.is_success:
            key = f"{kind} {status}"
            if key not in self.samples:
                try:
                    self.samples[key] = answer.text[:300]
                except httpx.ResponseNotRead:
                    self.samples[key] = "(a stream)"


@dataclass
class Client:
    """One client of the day: its API process, its tokens, its console session."""

    n: int
    port: int
    credentials: Credentials
    crisis: str
    tasks: list[str]
    phones: list[str]
    rng: random.Random
    api: httpx.AsyncClient = field(init=False)
    bare: httpx.AsyncClient = field(init=False)
    console: httpx.AsyncClient = field(init=False)
    pushes: int = 0
    replies: int = 0

    def __post_init__(self) -> None:
        base = f"http://127.0.0.1:{self.port}"
        self.api = httpx.AsyncClient(
            base_url=base,
            timeout=120,
            headers={"Authorization": f"Bearer {self.credentials.coordinator}"},
        )
        self.bare = httpx.AsyncClient(base_url=base, timeout=120)
        self.console = httpx.AsyncClient(base_url=base, timeout=120)

    async def close(self) -> None:
        for client in (self.api, self.bare, self.console):
            await client.aclose()


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    if not found:
        raise SystemExit(f"no {name} field in the page")
    return found.group(1)


async def sign_in(client: Client) -> None:
    """Password, then the second factor computed from the secret the enrolment page shows, as
    an authenticator app would (``bench/console.py``'s way)."""
    from service.users import totp

    console = client.console
    form = await console.get("/console/sign-in")
    answer = await console.post(
        "/console/sign-in",
        data={
            "email": client.credentials.email,
            "password": PASSWORD,
            "csrf_token": hidden(form.text, "csrf_token"),
        },
    )
    if answer.status_code != 303:
        raise SystemExit(f"sign-in refused: {answer.status_code}")
    page = await console.get("/console/sign-in/second-factor")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    if not secret:
        raise SystemExit("the second-factor page shows no secret to enrol")
    done = await console.post(
        "/console/sign-in/second-factor",
        data={
            "code": totp.code_at(secret.group(1), totp.step_of(time.time())),
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )
    if done.status_code != 200:
        raise SystemExit(f"second factor refused: {done.status_code}")


def drawn_zone(rng: random.Random) -> dict[str, Any]:
    """A zone as someone draws one around a city: a circle, or a polygon of 5-9 vertices."""
    import math

    lon, lat = rng.choice(CITIES)
    lon, lat = lon + rng.uniform(-0.3, 0.3), lat + rng.uniform(-0.3, 0.3)
    if rng.random() < 0.5:
        return {"circle": {"lat": lat, "lon": lon, "radius_m": rng.uniform(2_000, 150_000)}}
    size = rng.uniform(0.05, 1.2)
    vertices = rng.randint(5, 9)
    ring = []
    for k in range(vertices):
        angle = 2 * math.pi * k / vertices + rng.uniform(-0.2, 0.2)
        r = size * rng.uniform(0.6, 1.0)
        ring.append([round(lon + r * math.cos(angle), 5), round(lat + r * math.sin(angle), 5)])
    return {"geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}


def cap_message(identifier: str, rng: random.Random) -> bytes:
    place, lon, lat, half = rng.choice(CAP_PLACES)
    corners = [
        (lon - half, lat - half),
        (lon + half, lat - half),
        (lon + half, lat + half),
        (lon - half, lat + half),
        (lon - half, lat - half),
    ]
    ring = " ".join(f"{y:.4f},{x:.4f}" for x, y in corners)  # CAP writes latitude first
    sent = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>bench.load.lifeline</sender>
  <sent>{sent}</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>en</language>
    <category>Met</category>
    <event>Flood</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Flash floods in {place}</headline>
    <area><areaDesc>{place}</areaDesc><polygon>{ring}</polygon></area>
  </info>
</alert>""".encode()


async def exposure(c: Client, results: Results) -> None:
    started = time.perf_counter()
    answer = await c.api.post("/api/v1/exposure", json=drawn_zone(c.rng))
    results.add("exposure", str(answer.status_code), (time.perf_counter() - started) * 1000, answer)


async def task_update(c: Client, results: Results) -> None:
    task = c.rng.choice(c.tasks)
    started = time.perf_counter()
    read = await c.api.get(f"/api/v1/tasks/{task}")
    results.add("task read", str(read.status_code), (time.perf_counter() - started) * 1000, read)
    if read.status_code != 200:
        return
    status = NEXT_STATUS.get(read.json()["status"])
    if status is None:
        return
    started = time.perf_counter()
    answer = await c.api.patch(
        f"/api/v1/tasks/{task}",
        json={"status": status},
        headers={"If-Match": read.headers["etag"]},
    )
    results.add(
        "task update", str(answer.status_code), (time.perf_counter() - started) * 1000, answer
    )


async def cap_push(c: Client, results: Results) -> None:
    c.pushes += 1
    body = cap_message(f"LOAD-{c.n}-{c.pushes}", c.rng)
    started = time.perf_counter()
    answer = await c.bare.post(
        "/api/v1/alerts/cap",
        content=body,
        headers={
            "Authorization": f"Bearer {c.credentials.integration}",
            "Content-Type": "application/cap+xml",
        },
    )
    results.add("CAP push", str(answer.status_code), (time.perf_counter() - started) * 1000, answer)


async def welfare_reply(c: Client, results: Results) -> None:
    from integrations.messaging.drill import SIGNATURE_HEADER, sign

    c.replies += 1
    body = json.dumps(
        {
            "id": f"load-reply-{c.n}-{c.replies}",
            "from": c.rng.choice(c.phones),
            "to": "Lifeline",
            "text": c.rng.choice(REPLIES),
        }
    ).encode()
    started = time.perf_counter()
    answer = await c.bare.post(
        "/api/v1/messages/inbound/relay",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(SECRET, body)},
    )
    results.add(
        "welfare reply", str(answer.status_code), (time.perf_counter() - started) * 1000, answer
    )


async def console_page(c: Client, results: Results) -> None:
    path = c.rng.choice(PAGES).format(crisis=c.crisis)
    started = time.perf_counter()
    answer = await c.console.get(path)
    results.add(
        "console page", str(answer.status_code), (time.perf_counter() - started) * 1000, answer
    )


async def export_csv(c: Client, results: Results) -> None:
    lines = 0
    started = time.perf_counter()
    async with c.api.stream(
        "GET",
        f"/api/v1/crises/{c.crisis}/workers",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {c.credentials.responder}"},
    ) as answer:
        async for chunk in answer.aiter_bytes():
            lines += chunk.count(b"\n")
    results.add(
        "export CSV", str(answer.status_code), (time.perf_counter() - started) * 1000, answer
    )
    if answer.status_code == 200:
        results.export_rows.append(max(0, lines - 1))


async def healthz(c: Client, results: Results) -> None:
    started = time.perf_counter()
    answer = await c.bare.get("/healthz")
    results.add("/healthz", str(answer.status_code), (time.perf_counter() - started) * 1000, answer)


KINDS: dict[str, Callable[[Client, Results], Awaitable[None]]] = {
    "exposure": exposure,
    "task update": task_update,
    "welfare reply": welfare_reply,
    "console page": console_page,
    "CAP push": cap_push,
    "export CSV": export_csv,
    "/healthz": healthz,
}


async def client_loop(
    c: Client, results: Results, until: float, kinds: list[str], weights: list[int]
) -> None:
    while time.monotonic() < until:
        kind = c.rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            await KINDS[kind](c, results)
        except httpx.HTTPError as exc:
            results.add(kind, type(exc).__name__, (time.perf_counter() - started) * 1000)


@dataclass
class Memory:
    """Each API process's resident memory, sampled every ``every`` seconds during the mix."""

    pids: list[int]
    every: float = 5.0
    samples: list[tuple[float, list[float]]] = field(default_factory=list)

    async def follow(self, until: float) -> None:
        while time.monotonic() < until:
            self.samples.append((time.monotonic(), [rss_mb(p) for p in self.pids]))
            await asyncio.sleep(self.every)


async def day(
    clients: list[Client], seconds: float, baseline_s: float, memory: Memory
) -> tuple[Results, Results, float]:
    """The baseline, then the mix: their results, and the mix's duration."""
    baseline = Results()
    until = time.monotonic() + baseline_s
    await asyncio.gather(*(client_loop(c, baseline, until, ["/healthz"], [1]) for c in clients))
    mix = Results()
    start = time.monotonic()
    until = start + seconds
    memory.samples.append((start, [rss_mb(p) for p in memory.pids]))
    follower = asyncio.create_task(memory.follow(until))
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    await asyncio.gather(*(client_loop(c, mix, until, kinds, weights) for c in clients))
    elapsed = time.monotonic() - start
    await follower
    memory.samples.append((time.monotonic(), [rss_mb(p) for p in memory.pids]))
    return baseline, mix, elapsed


# --- the figures ---------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def is_error(kind: str, status: str) -> bool:
    """Not 2xx, and not the client's own doing: a task update's 412 (the version it read was
    changed by another client before its PATCH) is the precondition working."""
    if status.isdigit() and 200 <= int(status) < 300:
        return False
    return not (kind == "task update" and status == "412")


def report(
    baseline: Results,
    mix: Results,
    baseline_s: float,
    seconds: float,
    memory: Memory,
    servers: list[subprocess.Popen[bytes]],
    table: Table,
) -> None:
    health = baseline.times["/healthz"]
    base_p50 = statistics.median(health)
    print(
        f"\n## Baseline: /healthz, every client at once for {baseline_s:.0f} s: "
        f"{len(health) / baseline_s:,.0f}/s, p50 {base_p50:.1f} ms, p95 {pct(health, 95):.1f} ms, "
        f"p99 {pct(health, 99):.1f} ms"
    )
    table.target(
        "/healthz alone (baseline): rate, p50 / p95",
        "",
        f"{len(health) / baseline_s:,.0f}/s, {base_p50:.1f} / {pct(health, 95):.1f} ms",
        True,
    )
    total = sum(len(v) for v in mix.times.values())
    print(f"\n## The mix, {seconds:.0f} s: {total:,} requests, {total / seconds:,.1f}/s")
    print(
        f"  {'kind':<15} {'weight':>6} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'p50 × base':>10} {'time':>6}"
    )
    # Each kind's share of the time requests were open (the sum of its latencies over all
    # kinds'): where the clients waited, a rough stand-in for where the servers worked.
    open_ms = sum(sum(v) for v in mix.times.values()) or 1.0
    for kind in [*WEIGHTS, "task read"]:
        times = mix.times.get(kind, [])
        weight = f"{WEIGHTS[kind]}" if kind in WEIGHTS else "(in update)"
        if not times:
            print(f"  {kind:<15} {weight:>6} {0:>9}")
            continue
        p50, p95, p99 = statistics.median(times), pct(times, 95), pct(times, 99)
        print(
            f"  {kind:<15} {weight:>6} {len(times):>9,} {len(times) / seconds:>7,.1f} {p50:>8.1f} "
            f"{p95:>8.1f} {p99:>8.1f} {p50 / base_p50:>9.1f}× {sum(times) / open_ms:>6.1%}"
        )
        target = P95_TARGETS.get(kind)
        table.target(
            f"{kind}: rate, p50 / p95 / p99",
            f"p95 < {target:,.0f} ms" if target else "",
            f"{len(times) / seconds:,.1f}/s, {p50:,.0f} / {p95:,.0f} / {p99:,.0f} ms",
            target is None or p95 < target,
        )
    print(f"  {'total':<15} {sum(WEIGHTS.values()):>6} {total:>9,} {total / seconds:>7,.1f}")
    table.target("all kinds: requests a second", "", f"{total / seconds:,.1f}/s", True)

    print("\n## Answers by kind and status (errors: not 2xx and not a task update's 412)")
    errors: Counter[str] = Counter()
    for kind in [*WEIGHTS, "task read"]:
        statuses = mix.statuses.get(kind, Counter())
        if not statuses:
            continue
        shown = ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items()))
        print(f"  {kind:<15} {shown}")
        for status, n in statuses.items():
            if is_error(kind, status):
                errors[f"{kind} {status}"] += n
    for key, text in {**baseline.samples, **mix.samples}.items():
        print(f"    first {key}: {text}")
    for kind in ["/healthz"]:
        for status, n in baseline.statuses.get(kind, Counter()).items():
            if is_error(kind, status):
                errors[f"baseline {kind} {status}"] += n
    stale = mix.statuses.get("task update", Counter()).get("412", 0)
    updates = sum(mix.statuses.get("task update", Counter()).values())
    print(
        f"  task updates refused 412 (stale version, the client's doing; not errors): "
        f"{stale:,} of {updates:,}"
    )
    rows = Counter(mix.export_rows)
    if len(rows) > 1:
        errors["export CSV rows differ"] += sum(rows.values()) - max(rows.values())
    print(f"  export CSV rows: {dict(rows)}")
    table.target(
        "errors (not 2xx, 412s of task updates apart)",
        "0",
        ", ".join(f"{k}: {n:,}" for k, n in errors.items()) or "0",
        not errors,
    )

    print("\n## API processes' resident memory (VmRSS, MB)")
    first_at, first = memory.samples[0]
    last = memory.samples[-1][1]
    minute = next((s for at, s in memory.samples if at - first_at >= 60), last)
    for i, server in enumerate(servers):
        peak = max(s[i] for _, s in memory.samples)
        growth = last[i] / first[i] - 1
        print(
            f"  process {i + 1} (pid {server.pid}, port {PORTS[i]}): at the mix's start "
            f"{first[i]:,.0f}, after its first minute {minute[i]:,.0f}, peak {peak:,.0f}, "
            f"at its end {last[i]:,.0f}: {growth:+.1%} from the start, "
            f"{last[i] / minute[i] - 1:+.1%} from the first minute"
        )
        table.target(
            f"API process {i + 1}: resident memory, start -> end",
            f"growth <= {GROWTH:.0%}",
            f"{first[i]:,.0f} -> {last[i]:,.0f} MB ({growth:+.1%}; peak {peak:,.0f}; "
            f"{last[i] / minute[i] - 1:+.1%} after the first minute)",
            growth <= GROWTH,
        )


async def measure(args: argparse.Namespace, seeded: Seeded, table: Table) -> bool:
    """Start the servers, set the day up through them, run it. False if a server died."""
    servers = [start_api(port) for port in PORTS]
    clients: list[Client] = []
    try:
        t = time.perf_counter()
        for port in PORTS:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as probe:
                wait_until_ready(probe, seconds=900, every=0.5)
        ready = [rss_mb(s.pid) for s in servers]
        print(
            f"  two API processes ready in {time.perf_counter() - t:.0f} s, resident "
            + " and ".join(f"{m:,.0f} MB" for m in ready)
        )
        first = seeded.credentials[0]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORTS[0]}",
            timeout=300,
            headers={"Authorization": f"Bearer {first.coordinator}"},
        ) as api:
            declared = await api.post(
                "/api/v1/crises",
                json={
                    "title": "Flash floods, Klang Valley",
                    "hazard": "flood",
                    "severity": "severe",
                    "exercise": False,
                    "zones": {"type": "Polygon", "coordinates": [KLANG_VALLEY]},
                },
            )
            if declared.status_code != 201:
                raise SystemExit(f"crisis: {declared.status_code} {declared.text[:500]}")
            crisis = declared.json()["id"]
            added = await add_tasks(crisis, args.tasks)
            tasks: list[str] = []
            cursor: str | None = None
            while True:
                page = await api.get(
                    f"/api/v1/crises/{crisis}/tasks",
                    params={"limit": 200, **({"cursor": cursor} if cursor else {})},
                )
                page.raise_for_status()
                tasks += [item["id"] for item in page.json()["items"]]
                cursor = page.json().get("next_cursor")
                if not cursor:
                    break
            print(f"  crisis declared: {len(tasks):,} tasks ({added:,} of them added)")
            t = time.perf_counter()
            check = await api.post(
                f"/api/v1/crises/{crisis}/welfare-checks",
                json={},
                headers={"Authorization": f"Bearer {first.responder}"},
            )
            if check.status_code != 201:
                raise SystemExit(f"welfare check: {check.status_code} {check.text[:500]}")
            print(
                f"  welfare check started: {check.json().get('recipients', '?'):,} recipients "
                f"in {time.perf_counter() - t:.1f} s (their messages wait in the outbox)"
            )
        clients = [
            Client(
                n=n,
                port=PORTS[n % len(PORTS)],
                credentials=seeded.credentials[n],
                crisis=crisis,
                tasks=tasks,
                phones=seeded.phones,
                rng=random.Random(SEED * 1000 + n),
            )
            for n in range(args.clients)
        ]
        for c in clients:
            await sign_in(c)
        print(f"  {len(clients)} clients signed in to the console, {len(clients) // 2} a process")
        memory = Memory([s.pid for s in servers])
        seconds = args.minutes * 60
        baseline_s = max(5.0, seconds / 10)
        load = os.getloadavg()
        print(
            f"  machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / "
            f"{load[2]:.1f} before the run"
        )
        before = await row_counts()
        baseline, mix, elapsed = await day(clients, seconds, baseline_s, memory)
        after = await row_counts()
        load = os.getloadavg()
        print(
            f"  machine: load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} after the run"
        )
        dead = [i + 1 for i, s in enumerate(servers) if s.poll() is not None]
        report(baseline, mix, baseline_s, elapsed, memory, servers, table)
        print("\n## Rows the day added (baseline and mix), and the database's size")
        for name, n in after.items():
            if name.endswith("MB"):
                print(f"  {name}: {before[name]:,} -> {n:,}")
            else:
                added = n - before[name]
                print(f"  {name:<15} +{added:>9,} ({added / elapsed:,.1f} a second of the mix)")
        if dead:
            print(f"\n  API process(es) {dead} exited during the run")
            return False
        return True
    finally:
        for c in clients:
            await c.close()
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="1 minute, 50,000 workers")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=[k for k in WEIGHTS if k != "/healthz"],
        help="leave a kind out of the mix (again for another): where the time goes",
    )
    args = parser.parse_args()
    for kind in args.without:
        del WEIGHTS[kind]
    if args.quick:
        args.minutes, args.workers, args.tasks = 1.0, 50_000, 500
    if args.clients < 2:
        parser.error("--clients: at least 2, one a process")
    # This process seeds with the keys the API processes use (the phone hashes, the seals).
    os.environ.update(settings_env())
    print(
        f"# A crisis day: {args.workers:,} workers, {args.tasks:,} tasks, {args.clients} clients "
        f"over two API processes, {args.minutes:g} minutes on PostgreSQL"
    )
    print("  weights: " + ", ".join(f"{k} {w}" for k, w in WEIGHTS.items()))
    table = Table()
    alive = False
    try:
        seeded = asyncio.run(seed(args.workers, args.clients))
        if not seeded.phones:
            raise SystemExit("nobody with a phone in the crisis's zone: a larger register")
        alive = asyncio.run(measure(args, seeded, table))
    finally:
        if not args.keep:
            asyncio.run(drop_database())
    table.print()
    if not alive:
        raise SystemExit("an API process died during the run")


if __name__ == "__main__":
    main()
