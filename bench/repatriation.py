"""Repatriation under load, through the real API on PostgreSQL (two API processes).

    python bench/repatriation.py --seats 2000 --cases 10000 --clients 32 --manifest 5000 --rate 200
    python bench/repatriation.py --quick         # about a tenth of that

A synthetic register of ``--cases`` + ``--manifest`` workers is imported in this process (the
demo's synthetic rows, ``import_workers``, registered by the bench's coordination organisation,
whose coordinator token the clients use); a crisis at alert level 3. Each worker gets a
repatriation case, eligible, consent given: ``--api-cases`` of them through the API
(``POST /crises/{id}/repatriation-cases`` then ``.../consent``, timed), the others written
directly in SQL (the same rows and history the API writes, without the timeline entries) so
that seeding does not dominate the run.

1. Seats under contention: a movement of two legs, the first of ``--seats`` + 25 % places, the
   second of ``--seats`` (the one that runs out, so that every refusal must also give back the
   first leg's place). ``--cases`` ``POST /movements/{id}/seats`` by ``--clients`` clients at
   once (``httpx.AsyncClient``, each its own pool): assigned, refused (409), other answers;
   overbooking checked in SQL (``booked`` against ``capacity`` and against the seats' rows);
   latency percentiles and throughput; baseline: ``/healthz`` by the same clients, same count.
2. Boarding: a second movement of one leg and ``--manifest`` seats (assigned through the API);
   one ``POST /movements/{id}/legs/1/boarding`` per person, open loop: request ``i`` is due at
   ``t0 + i / --rate`` whatever the answers before it; latency from the due time and from the
   send; the rate achieved.
3. Reconciliation of that manifest after every boarding: ``GET /movements/{id}/reconciliation``
   ``--reconciliations`` times, one at a time; baseline ``/healthz`` the same way.

Correctness is asserted (exact counts); times are printed against their targets, never
asserted. ``--keep`` leaves the database for a look; otherwise it is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, Table, wait_until_ready  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_repatriation"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
PORT = 8781
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "ll_bench-repatriation-token"
ORG = "bench-repatriation-org"
#: The organisation's slug: how the history names its token's changes.
SLUG = "bench-repatriation"
SEED = 5


# --- seeding -------------------------------------------------------------------------------


@dataclass
class Seeded:
    crisis_id: str
    #: Case ids: those of the contention part, then those of the manifest.
    contended: list[str]
    manifest: list[str]


async def fresh_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()


async def drop_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.close()


async def seed_register(workers: int) -> tuple[str, list[str]]:
    """The schema, the organisation and its coordinator token, ``workers`` people registered by
    it, a crisis at alert level 3: the crisis id and the workers' ids."""
    from service.auth.permissions import Role
    from service.auth.principal import Principal
    from service.auth.service import hash_token
    from service.crises.service import open_crisis
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.demo.synthetic import synthetic_csv
    from service.migrate import upgrade
    from service.registry.bulk import import_workers
    from service.registry.locate import default_locator
    from service.registry.protect import Protector
    from service.settings import Settings

    await fresh_database()
    engine = make_engine(URL)
    await upgrade(engine)
    conn = await asyncpg.connect(f"{PG}/{DB}")
    await conn.execute(
        "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, "
        "created_at, updated_at, version) VALUES ($1, 'bench-repatriation', 'Bench coordination', "
        "'international_org', 'MYS', '[]', '[]', now(), now(), 1)",
        ORG,
    )
    await conn.execute(
        "INSERT INTO api_tokens (id, organization_id, role, name, token_hash, prefix, created_at) "
        "VALUES ($1, $2, 'coordinator', 'bench', $3, 'll_bench', now())",
        "bench-repatriation-token",
        ORG,
        hash_token(TOKEN),
    )
    await conn.close()
    maker = make_sessionmaker(engine)
    settings = Settings(database_url=URL)
    actor = Principal(organization_id=ORG, role=Role.COORDINATOR, channel="cli")
    # A few more rows than needed: the synthetic register holds a few the import refuses.
    content = synthetic_csv(int(workers * 1.05) + 100, seed=SEED)
    t = time.perf_counter()
    async with session_scope(maker) as session:
        report = await import_workers(
            session,
            actor=actor,
            protector=Protector.from_settings(settings),
            locator=default_locator(),
            content=content,
            filename="register.csv",
        )
        crisis = await open_crisis(
            session,
            actor=actor,
            title="Bench evacuation",
            hazard="conflict",
            severity="severe",
            exercise=True,
            countries=["MYS"],
            opened_by="bench",
            alert_level=3,
        )
        crisis_id = crisis.id
    print(
        f"  register: {report.created:,} workers imported in {time.perf_counter() - t:.1f} s; "
        f"crisis at alert level 3"
    )
    async with engine.connect() as connection:
        from sqlalchemy import text

        ids = [
            row[0]
            for row in (
                await connection.execute(
                    text(
                        "SELECT id FROM workers WHERE registered_by = :org AND erased_at IS NULL "
                        "ORDER BY id LIMIT :n"
                    ),
                    {"org": ORG, "n": workers},
                )
            ).all()
        ]
    await engine.dispose()
    if len(ids) < workers:
        raise SystemExit(f"only {len(ids):,} workers imported, {workers:,} needed")
    return crisis_id, ids


async def seed_cases_sql(crisis_id: str, worker_ids: list[str]) -> list[str]:
    """Eligible repatriation cases with consent given, as the API leaves them after
    ``POST .../repatriation-cases`` and ``.../consent`` (their history rows included; not the
    crisis timeline's entries): the case ids, in the order of ``worker_ids``."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from service.crises.models import Crisis
    from service.db import make_engine, make_sessionmaker, new_id, utcnow
    from service.registry.models import Worker
    from service.repatriation.models import CaseEvent, CaseKind, RepatriationCase
    from service.repatriation.service import decide, default_rules, priority_of

    engine = make_engine(URL)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        crisis = await session.get(Crisis, crisis_id)
        assert crisis is not None
        # The crisis has no rules of its own: the deployment's defaults decide, as they do in
        # the API.
        rules = default_rules({})
        of = {
            w.id: w
            for w in (await session.exec(select(Worker).where(col(Worker.id).in_(worker_ids))))
        }
        now = utcnow()
        cases, events = [], []
        for worker_id in worker_ids:
            worker = of[worker_id]
            state, rule = decide(rules, crisis, CaseKind.REPATRIATION, worker)
            case_id = new_id()
            cases.append(
                {
                    "id": case_id,
                    "crisis_id": crisis_id,
                    "worker_id": worker_id,
                    "nationality": worker.nationality,
                    "kind": CaseKind.REPATRIATION.value,
                    "state": state.value,
                    "rule": rule,
                    "priority": priority_of(worker, rules),
                    "consent": "given",
                    "consent_at": now,
                    "consent_by": SLUG,
                    "passport": "held",
                    "family": 0,
                    "needs": [],
                    "note_sealed": None,
                    "movement_id": None,
                    "source": "officer",
                    "reply_id": None,
                    "tell_family": False,
                    "family_phone_sealed": None,
                    "exercise": crisis.exercise,
                    "opened_by": SLUG,
                    "version": 2,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            events.append(
                {
                    "id": new_id(),
                    "case_id": case_id,
                    "at": now,
                    "actor": SLUG,
                    "previous": "requested",
                    "state": state.value,
                    "detail": {"rule": rule},
                }
            )
            events.append(
                {
                    "id": new_id(),
                    "case_id": case_id,
                    "at": now,
                    "actor": SLUG,
                    "previous": state.value,
                    "state": state.value,
                    "detail": {"consent": "given"},
                }
            )
        connection = await session.connection()
        for table, values in ((RepatriationCase, cases), (CaseEvent, events)):
            for start in range(0, len(values), 2000):
                await connection.execute(insert(table), values[start : start + 2000])
        await session.commit()
    await engine.dispose()
    return [c["id"] for c in cases]


async def seed_cases_api(crisis_id: str, worker_ids: list[str], clients: int) -> list[str]:
    """The same cases through the API: open, then consent; the case ids."""
    out: dict[str, str] = {}

    async def one(client: httpx.AsyncClient, worker_id: str) -> None:
        made = await client.post(
            f"/api/v1/crises/{crisis_id}/repatriation-cases",
            json={"worker_id": worker_id, "kind": "repatriation", "passport": "held"},
        )
        if made.status_code != 201 or made.json()["state"] != "eligible":
            raise SystemExit(f"case not opened: {made.status_code} {made.text}")
        case_id = made.json()["id"]
        consent = await client.post(
            f"/api/v1/repatriation-cases/{case_id}/consent", json={"given": True}
        )
        if consent.status_code != 200:
            raise SystemExit(f"consent not recorded: {consent.status_code} {consent.text}")
        out[worker_id] = case_id

    t = time.perf_counter()
    await run_closed(worker_ids, clients, one)
    seconds = time.perf_counter() - t
    print(
        f"  {len(worker_ids):,} cases through the API (open + consent, {clients} clients): "
        f"{seconds:.1f} s, {len(worker_ids) / seconds:,.0f} cases/s"
    )
    return [out[w] for w in worker_ids]


# --- load ----------------------------------------------------------------------------------


def api_client(connections: int = 1) -> httpx.AsyncClient:
    """A client of its own pool. Its idle connections close after 2 s, before the server's
    keep-alive of 5 s would: the same expiry on both sides races (a request sent on a
    connection the server is closing fails with ``ReadError``)."""
    return httpx.AsyncClient(
        base_url=BASE,
        timeout=60,
        headers={"Authorization": f"Bearer {TOKEN}"},
        limits=httpx.Limits(max_connections=connections, keepalive_expiry=2.0),
    )


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            out += _tree(int(child))
    return out


class Cpu:
    """CPU seconds spent, between two readings: by the whole machine (both cores, any
    process), by the API's processes, by this one (the clients)."""

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self, server: int) -> None:
        self.server = server
        self.start = self._read()

    def _read(self) -> tuple[float, float, float]:
        busy = sum(int(x) for i, x in enumerate(Path("/proc/stat").read_text().split()[1:9])
                   if i not in (3, 4))  # fmt: skip
        api = sum(_ticks(p) for p in _tree(self.server))
        return busy / self.HZ, api / self.HZ, time.process_time()

    def per_request(self, n: int) -> str:
        now = self._read()
        machine, api, client = (1000 * (b - a) / n for a, b in zip(self.start, now, strict=True))
        return (
            f"CPU a request: API processes {api:.1f} ms, clients {client:.1f} ms, the rest "
            f"(PostgreSQL, other work on the machine) {machine - api - client:.1f} ms"
        )


async def run_closed(
    items: list[Any],
    clients: int,
    fn: Callable[[httpx.AsyncClient, Any], Awaitable[None]],
) -> None:
    """Each item once, by ``clients`` clients at once (each its own connection pool), each
    taking the next item as soon as its previous answer is in."""
    queue: Iterator[Any] = iter(items)

    async def loop() -> None:
        async with api_client() as client:
            for item in queue:
                await fn(client, item)

    await asyncio.gather(*(loop() for _ in range(clients)))


@dataclass
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    by_status: dict[int, list[float]] = field(default_factory=dict)

    def add(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.by_status.setdefault(status, []).append(seconds)

    def pct(self, p: float, status: int | None = None) -> float:
        """The ``p``-th percentile in ms (nearest rank), of the answers ``status`` or all."""
        ordered = sorted(self.latencies if status is None else self.by_status.get(status, [0.0]))
        return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * p / 100 + 0.5) - 1))] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def line(self, name: str) -> str:
        return (
            f"  {name}: {len(self.latencies):,} in {self.seconds:.2f} s, {self.rate:,.0f}/s; "
            f"p50 {self.pct(50):.1f} ms, p95 {self.pct(95):.1f} ms, p99 {self.pct(99):.1f} ms"
        )


async def closed_load(
    n: int, clients: int, send: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
) -> Run:
    run = Run()

    async def one(client: httpx.AsyncClient, i: int) -> None:
        t = time.perf_counter()
        try:
            status = (await send(client, i)).status_code
        except httpx.TransportError:
            status = 0  # counted among the other answers
        run.add(status, time.perf_counter() - t)

    t = time.perf_counter()
    await run_closed(list(range(n)), clients, one)
    run.seconds = time.perf_counter() - t
    return run


async def healthz(n: int, clients: int) -> Run:
    return await closed_load(n, clients, lambda client, _: client.get("/healthz"))


class Waits:
    """PostgreSQL's active backends of the bench's database, sampled every 50 ms while a part
    runs: how many were waiting on a lock, on I/O or on nothing (running or ready to), and how
    many backends were seen (more than the pools' size: connections opened and closed)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.pids: set[int] = set()
        self.samples = 0

    async def __aenter__(self) -> Waits:
        self.conn = await asyncpg.connect(f"{PG}/{DB}")
        self.task = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        while True:
            found = await self.conn.fetch(
                "SELECT pid, state, coalesce(wait_event_type, 'none') AS wait FROM "
                "pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                DB,
            )
            self.samples += 1
            for row in found:
                self.pids.add(row["pid"])
                if row["state"] == "active":
                    self.counts[row["wait"]] = self.counts.get(row["wait"], 0) + 1
            await asyncio.sleep(0.05)

    async def __aexit__(self, *_: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.conn.close()

    def line(self) -> str:
        waits = ", ".join(
            f"{name} {n / self.samples:.1f}" for name, n in sorted(self.counts.items())
        )
        return (
            f"PostgreSQL's active backends on average, by wait: {waits or 'none'}; "
            f"{len(self.pids)} backends seen"
        )


async def scalar(sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(f"{PG}/{DB}")
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def rows(sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(f"{PG}/{DB}")
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def movement(crisis_id: str, title: str, capacities: list[int]) -> str:
    legs = [
        {"mode": mode, "origin": a, "destination": b, "capacity": c}
        for (mode, a, b), c in zip(
            [("bus", "Kuala Lumpur", "Port Klang"), ("ship", "Port Klang", "Belawan")],
            capacities,
            strict=False,
        )
    ]
    async with api_client() as client:
        made = await client.post(
            f"/api/v1/crises/{crisis_id}/movements", json={"title": title, "legs": legs}
        )
    if made.status_code != 201:
        raise SystemExit(f"movement not created: {made.status_code} {made.text}")
    return str(made.json()["id"])


# --- the figures ---------------------------------------------------------------------------


async def contention(args: argparse.Namespace, seeded: Seeded, table: Table) -> None:
    print(
        f"## 1. Seats under contention: {len(seeded.contended):,} cases, {args.seats:,} places, "
        f"{args.clients} clients"
    )
    first = args.seats + args.seats // 4
    movement_id = await movement(seeded.crisis_id, "Bench contention", [first, args.seats])
    await healthz(min(2000, len(seeded.contended)), args.clients)  # warm up
    cpu = Cpu(args.server_pid)
    base = await healthz(len(seeded.contended), args.clients)
    print(base.line(f"/healthz, {args.clients} clients (baseline)"))
    print(f"    {cpu.per_request(len(seeded.contended))}")
    cases = seeded.contended
    cpu = Cpu(args.server_pid)
    async with Waits() as waits:
        run = await closed_load(
            len(cases),
            args.clients,
            lambda client, i: client.post(
                f"/api/v1/movements/{movement_id}/seats", json={"case_id": cases[i]}
            ),
        )
    print(run.line(f"POST /seats, {args.clients} clients"))
    print(f"    {cpu.per_request(len(cases))}\n    {waits.line()}")
    assigned = run.statuses.get(200, 0)
    refused = run.statuses.get(409, 0)
    other = len(cases) - assigned - refused
    print(
        f"    assigned (200) {assigned:,}, refused (409) {refused:,}, other {other:,} "
        f"{ {k: v for k, v in run.statuses.items() if k not in (200, 409)} or '' }; "
        f"p95 {run.pct(95) / base.pct(95):.1f} × /healthz's p95, "
        f"{run.rate / base.rate:.2f} × its rate"
    )
    for status in sorted(run.by_status):
        print(
            f"    answered {status}: p50 {run.pct(50, status):.1f} ms, "
            f"p95 {run.pct(95, status):.1f} ms, p99 {run.pct(99, status):.1f} ms"
        )
    legs = await rows(
        "SELECT l.seq, l.capacity, l.booked, count(s.id) AS seats, coalesce(sum(s.places), 0) "
        "AS places FROM movement_legs l LEFT JOIN movement_seats s ON s.leg_id = l.id "
        "WHERE l.movement_id = $1 GROUP BY l.id ORDER BY l.seq",
        movement_id,
    )
    overbooked = 0
    for leg in legs:
        over = max(0, leg["booked"] - leg["capacity"], leg["places"] - leg["capacity"])
        overbooked += over
        print(
            f"    leg {leg['seq']}: capacity {leg['capacity']:,}, booked {leg['booked']:,}, "
            f"seats {leg['seats']:,} ({leg['places']:,} places)"
        )
    in_state = await scalar(
        "SELECT count(*) FROM repatriation_cases WHERE movement_id = $1 AND state = 'assigned'",
        movement_id,
    )
    table.correct("seats: assigned (200)", args.seats, assigned)
    table.correct("seats: cases assigned in SQL", args.seats, in_state)
    table.correct("seats: refused (409)", len(cases) - args.seats, refused)
    table.correct("seats: other answers", 0, other)
    table.correct("seats: places overbooked", 0, overbooked)
    for leg in legs:
        table.correct(f"seats: leg {leg['seq']} booked", args.seats, leg["booked"])
        table.correct(f"seats: leg {leg['seq']} seat rows", args.seats, leg["seats"])
    table.target(
        "seats: p95",
        "< 100 ms",
        f"{run.pct(95):.1f} ms ({run.pct(95) / base.pct(95):.1f} × /healthz {base.pct(95):.1f})",
        run.pct(95) < 100,
    )
    table.target("seats: p50 / p99", "", f"{run.pct(50):.1f} / {run.pct(99):.1f} ms", True)
    table.target("seats: throughput", "", f"{run.rate:,.0f}/s (/healthz {base.rate:,.0f}/s)", True)


async def boarding(args: argparse.Namespace, seeded: Seeded, table: Table) -> None:
    cases = seeded.manifest
    print(f"## 2. Boarding: a manifest of {len(cases):,}, check-ins due at {args.rate:g}/s")
    movement_id = await movement(seeded.crisis_id, "Bench boarding", [len(cases)])
    cpu = Cpu(args.server_pid)
    setup = await closed_load(
        len(cases),
        args.clients,
        lambda client, i: client.post(
            f"/api/v1/movements/{movement_id}/seats", json={"case_id": cases[i]}
        ),
    )
    # Every one is given, but each still queues on the leg's row behind the one before it.
    print(setup.line(f"the manifest's seats (all given), {args.clients} clients"))
    print(f"    {cpu.per_request(len(cases))}")
    if setup.statuses != {200: len(cases)}:
        raise SystemExit(f"the manifest's seats: {setup.statuses}")
    # Open loop: request i is due at t0 + i / rate, sent then whatever the answers before it,
    # over a pool of clients (each opens the connections its requests in flight need).
    pool = [api_client(connections=100) for _ in range(8)]
    due = [0.0] * len(cases)
    sent = [0.0] * len(cases)
    done = [0.0] * len(cases)
    answers: list[tuple[int, dict[str, Any]]] = [(0, {})] * len(cases)
    for client in pool:  # connections opened before the clock starts
        await asyncio.gather(*(client.get("/healthz") for _ in range(8)))

    async def one(i: int, t0: float) -> None:
        due[i] = t0 + i / args.rate
        wait = due[i] - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        sent[i] = time.perf_counter()
        try:
            response = await pool[i % len(pool)].post(
                f"/api/v1/movements/{movement_id}/legs/1/boarding", json={"case_id": cases[i]}
            )
            answers[i] = (response.status_code, response.json())
        except httpx.TransportError:
            answers[i] = (0, {})
        done[i] = time.perf_counter()

    cpu = Cpu(args.server_pid)
    t0 = time.perf_counter() + 0.2
    async with Waits() as waits:
        await asyncio.gather(*(one(i, t0) for i in range(len(cases))))
    for client in pool:
        await client.aclose()
    from_due = Run(seconds=max(done) - t0)
    from_send = Run(seconds=max(done) - t0)
    for i, (status, _) in enumerate(answers):
        from_due.add(status, done[i] - due[i])
        from_send.add(status, done[i] - sent[i])
    late = sorted(sent[i] - due[i] for i in range(len(cases)))
    achieved = len(cases) / (max(done) - t0)
    print(
        f"  {len(cases):,} check-ins in {max(done) - t0:.2f} s: {achieved:,.1f}/s achieved "
        f"(due {args.rate:g}/s); sent late by p50 {statistics.median(late) * 1000:.1f} ms, "
        f"max {late[-1] * 1000:.1f} ms"
    )
    print(f"    {cpu.per_request(len(cases))}\n    {waits.line()}")
    print(
        f"    latency from the due time: p50 {from_due.pct(50):.1f} ms, p95 {from_due.pct(95):.1f} "
        f"ms, p99 {from_due.pct(99):.1f} ms\n"
        f"    latency from the send:     p50 {from_send.pct(50):.1f} ms, p95 "
        f"{from_send.pct(95):.1f} ms, p99 {from_send.pct(99):.1f} ms"
    )
    boarded_answers = sum(
        1
        for status, body in answers
        if status == 200 and body.get("changed") and body.get("case_state") == "boarded"
    )
    boarded = await scalar(
        "SELECT count(*) FROM movement_seats s JOIN movement_legs l ON l.id = s.leg_id "
        "WHERE l.movement_id = $1 AND s.state = 'boarded'",
        movement_id,
    )
    cases_boarded = await scalar(
        "SELECT count(*) FROM repatriation_cases WHERE movement_id = $1 AND state = 'boarded'",
        movement_id,
    )
    print(f"    answers {from_due.statuses}; seats boarded in SQL {boarded:,}")
    table.correct("boarding: answered 200, boarded", len(cases), boarded_answers)
    table.correct("boarding: seats boarded in SQL", len(cases), boarded)
    table.correct("boarding: cases boarded in SQL", len(cases), cases_boarded)
    table.target(
        "boarding: rate sustained",
        f">= {args.rate:g}/s",
        f"{achieved:,.1f}/s",
        achieved >= args.rate * 0.98,
    )
    table.target(
        "boarding: p95 from the due time",
        "< 50 ms",
        f"{from_due.pct(95):.1f} ms (p50 {from_due.pct(50):.1f})",
        from_due.pct(95) < 50,
    )
    table.target(
        "boarding: p95 from the send",
        "< 50 ms",
        f"{from_send.pct(95):.1f} ms (p50 {from_send.pct(50):.1f})",
        from_send.pct(95) < 50,
    )
    await reconciliation(args, movement_id, len(cases), table)


async def reconciliation(
    args: argparse.Namespace, movement_id: str, manifest: int, table: Table
) -> None:
    print(f"## 3. Reconciliation of the {manifest:,}-person manifest, {args.reconciliations} times")
    body: dict[str, Any] = {}
    size = 0

    async def get(client: httpx.AsyncClient, _: int) -> httpx.Response:
        nonlocal body, size
        response = await client.get(f"/api/v1/movements/{movement_id}/reconciliation")
        body, size = response.json(), len(response.content)
        return response

    await healthz(20, 1)
    base = await healthz(args.reconciliations, 1)
    print(base.line("/healthz, one at a time (baseline)"))
    await closed_load(2, 1, get)  # warm up
    cpu = Cpu(args.server_pid)
    run = await closed_load(args.reconciliations, 1, get)
    print(run.line(f"GET /reconciliation, one at a time ({size / 1000:,.0f} kB)"))
    print(f"    {cpu.per_request(args.reconciliations)}")
    leg = body["legs"][0]
    print(
        f"    {run.statuses}; leg 1: booked {leg['booked']:,}, boarded {leg['boarded']:,}, "
        f"not boarded {len(leg['not_boarded']):,}"
    )
    table.correct("reconciliation: booked", manifest, leg["booked"])
    table.correct("reconciliation: boarded", manifest, leg["boarded"])
    table.correct("reconciliation: not boarded", 0, len(leg["not_boarded"]))
    table.target(
        "reconciliation: p95",
        "< 200 ms",
        f"{run.pct(95):.1f} ms (p50 {run.pct(50):.1f}; {run.pct(95) / base.pct(95):.0f} × "
        f"/healthz {base.pct(95):.1f})",
        run.pct(95) < 200,
    )


def start_api(processes: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    command = ["-m", "service.cli", "serve", "--port", str(PORT), "--processes", str(processes)]
    return subprocess.Popen(
        [sys.executable, *command],
        env=env,
        cwd=ROOT,
    )


async def bench(args: argparse.Namespace) -> None:
    print(
        f"# Repatriation on PostgreSQL: {args.cases:,} cases for {args.seats:,} places, "
        f"{args.clients} clients; a manifest of {args.manifest:,} boarded at {args.rate:g}/s"
    )
    table = Table()
    crisis_id, workers = await seed_register(args.cases + args.manifest)
    through_api = min(args.api_cases, len(workers))
    t = time.perf_counter()
    by_sql = await seed_cases_sql(crisis_id, workers[through_api:])
    print(
        f"  {len(by_sql):,} cases written in SQL (eligible, consent given) in "
        f"{time.perf_counter() - t:.1f} s"
    )
    server = start_api(args.api_processes)
    args.server_pid = server.pid
    try:
        with httpx.Client(base_url=BASE, timeout=30) as client:
            wait_until_ready(client, seconds=120, every=0.5)
        by_api = await seed_cases_api(crisis_id, workers[:through_api], args.clients)
        every = by_api + by_sql
        # The API's cases spread over both parts: half of them in each.
        half = len(by_api) // 2
        contended = by_api[:half] + by_sql[: args.cases - half]
        manifest = by_api[half:] + by_sql[args.cases - half :]
        assert len(contended) == args.cases and len(manifest) == args.manifest
        assert len(set(contended) | set(manifest)) == len(every)
        seeded = Seeded(crisis_id, contended, manifest)
        await contention(args, seeded, table)
        await boarding(args, seeded, table)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if not args.keep:
            await drop_database()
    table.print()
    if table.failures:
        raise SystemExit("incorrect: " + "; ".join(table.failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seats", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--manifest", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0, help="boarding check-ins due a second")
    parser.add_argument("--reconciliations", type=int, default=20)
    parser.add_argument(
        "--api-cases", type=int, default=400, help="cases opened through the API (the rest in SQL)"
    )
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="about a tenth of the scale")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.quick:
        args.seats, args.cases, args.manifest, args.api_cases = 200, 1000, 500, 100
    if args.seats >= args.cases:
        parser.error("--seats must be fewer than --cases (the contention is the point)")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
