"""Welfare checks on PostgreSQL: planning a check, handing its messages to a relay, a sender
killed midway, and the replies coming back.

    python bench/welfare.py                      # 1,000,000 workers, 100,000 exposed
    python bench/welfare.py --quick              # 100,000 workers, 10,000 exposed

1. A synthetic register imported into a fresh database (``import_workers``, the same keys as the
   API's), a crisis whose zone is a circle over the register's densest area (Dubai, where the
   synthetic corridors put the most people) with a radius chosen so that ``--exposed`` people
   are inside. ``start`` of a check by an administrator (in this process, with the exposure
   index built over the register): seconds; baseline, ``plan`` alone (the recipients, nothing
   written) in the same run.
2. A relay stub in a process of its own (``POST /messages`` with ``Idempotency-Key``, counts at
   ``GET /stats``) and the sender in another (``send_due`` until nothing is due, the relay
   gateway, a rate limit of 10,000/s so that it is not what is measured): messages/s; baseline,
   the stub's ceiling (an httpx loop with the sender's concurrency and no database).
3. A second crisis with the same zone and its check (quiet hours 0, so that the same people are
   reached again): its sender killed with SIGKILL once about 40 % of it is at the stub, a new
   sender started, the lease shortened to ``--lease`` seconds in both senders (the service's is
   60 s). At the stub: messages lost, requests repeated under a key already received, people
   reached under two keys; in the database, the check's messages by state.
4. The API (``lifeline serve``) on the same database: ``--replies`` signed replies from the
   recipients' phones (``POST /api/v1/messages/inbound/relay``) by ``--concurrency`` keep-alive
   connections of a minimal HTTP/1.1 client (so that the client's cost is small next to the
   server's): replies/s, median and 95th percentile; baseline, ``/healthz`` by the same client at
   the same concurrency.

``--keep`` leaves the database for a look; otherwise it is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import NO_REQUEST_LIMITS  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_welfare"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
STUB_PORT = 8771
API_PORT = 8772
STUB = f"http://127.0.0.1:{STUB_PORT}"
SECRET = "bench-relay-secret-0123456789"
#: The register's densest place in the synthetic corridors (Dubai).
CENTRE = (55.30, 25.20)
SEED = 3
#: The sender's requests in flight at once (``service.flows.sending.CONCURRENCY``).
CONCURRENCY = 64


# --- the relay stub (a process of its own) -------------------------------------------------


class _Relay(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, just enough for the relay API: ``POST /messages`` counts the
    request and its ``Idempotency-Key`` (the same key again is the same message, answered as
    the first time), ``GET /stats`` the counts, ``GET /keys`` the keys, ``POST /reset``."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _answer(self, status: str, body: bytes) -> None:
        self.transport.write(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].split(b"\r\n")
            headers = dict(line.lower().split(b": ", 1) for line in head[1:] if b": " in line)
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            method, path = head[0].split(b" ")[:2]
            state = self.state
            if method == b"POST" and path == b"/messages":
                key = headers.get(b"idempotency-key", b"").decode()
                state["requests"] += 1
                seen = state["keys"]
                if key in seen:
                    state["repeats"] += 1
                else:
                    seen[key] = state["requests"]
                    now = time.time()
                    state["first"] = state["first"] or now
                    state["last"] = now
                self._answer("202 Accepted", b'{"id": "relay-' + key.encode() + b'"}')
            elif path == b"/stats":
                stats = {k: v for k, v in state.items() if k != "keys"}
                stats["unique"] = len(state["keys"])
                self._answer("200 OK", json.dumps(stats).encode())
            elif path == b"/keys":
                self._answer("200 OK", json.dumps(list(state["keys"])).encode())
            elif path == b"/reset":
                state.update(_fresh())
                self._answer("200 OK", b"{}")
            else:
                self._answer("404 Not Found", b"{}")


def _fresh() -> dict[str, Any]:
    return {"requests": 0, "repeats": 0, "keys": {}, "first": 0.0, "last": 0.0}


def relay_stub(port: int, ready: Synchronized[int]) -> None:
    """The stub's process."""

    async def serve() -> None:
        state = _fresh()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Relay(state), "127.0.0.1", port, backlog=1024)
        ready.value = 1
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


async def stub(method: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=STUB, timeout=60) as client:
        return (await client.request(method, path)).json()


async def stats() -> dict[str, Any]:
    return await stub("GET", "/stats")


async def reset_stub() -> None:
    await stub("POST", "/reset")


# --- the sender (a process of its own) -----------------------------------------------------


def settings_env() -> dict[str, str]:
    """The service's settings for the sender and the API: the relay, this stub, no rate limit
    worth the name; the development keys the import used (the same phone hashes)."""
    return {
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_MESSAGES_GATEWAY": "relay",
        "LIFELINE_MESSAGES_BASE_URL": STUB,
        "LIFELINE_MESSAGES_SECRET": SECRET,
        "LIFELINE_MESSAGES_RATE_PER_S": "10000",
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }


async def sender_main(lease_s: float | None) -> None:
    """``send_due`` until no message of the outbox is pending (those a killed sender held come
    back with their lease); prints the seconds and the counts as JSON."""
    from sqlalchemy import text

    from service.db import make_engine, make_sessionmaker
    from service.flows.sending import Sender, send_due
    from service.registry.protect import Protector
    from service.settings import Settings

    settings = Settings()
    if lease_s is not None:
        settings = settings.model_copy(update={"messages_lease_s": lease_s})
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    sender = Sender(settings, Protector.from_settings(settings))
    total: dict[str, int] = {}
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
        while True:
            counts = await send_due(engine, maker, client, sender)
            for name, n in counts.items():
                total[name] = total.get(name, 0) + n
            if counts:
                continue
            async with engine.connect() as connection:
                pending = (
                    await connection.execute(
                        text("SELECT count(*) FROM messages_out WHERE state = 'pending'")
                    )
                ).scalar_one()
            if not pending:
                break
            await asyncio.sleep(0.2)  # held by another sender's lease: wait for it
    seconds = time.perf_counter() - started
    await engine.dispose()
    print(json.dumps({"seconds": seconds, "counts": total}), flush=True)


def start_sender(lease_s: float | None) -> subprocess.Popen[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--sender"]
    if lease_s is not None:
        command += ["--lease", str(lease_s)]
    return subprocess.Popen(
        command,
        env={**os.environ, **settings_env()},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def sender_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise SystemExit(f"sender failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


# --- the register, the crisis, the check ---------------------------------------------------


def register(workers: int, exposed: int) -> tuple[bytes, float, list[str]]:
    """The synthetic CSV, the radius (degrees) around ``CENTRE`` that holds ``exposed`` of its
    people, and the phones (E.164) of those well inside it, nearest first."""
    import numpy as np

    from integrations.messaging.phones import normalise

    content = synthetic_csv_cached(workers)
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    lon = np.array([float(r["lon"] or "nan") for r in rows])
    lat = np.array([float(r["lat"] or "nan") for r in rows])
    distance = np.hypot(lon - CENTRE[0], lat - CENTRE[1])
    distance[np.isnan(distance)] = np.inf
    order = np.argsort(distance)
    radius = float(distance[order[exposed - 1]]) * 1.001
    phones = []
    for i in order[: int(exposed * 0.98)]:
        phone = normalise(rows[i]["phone"])
        if phone:
            phones.append(phone)
    return content, radius, phones


def synthetic_csv_cached(workers: int) -> bytes:
    from service.demo.synthetic import synthetic_csv

    return synthetic_csv(workers, seed=SEED)


async def fresh_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()


async def drop_database() -> None:
    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.close()


class Service:
    """The service in this process: the engine, the exposure index, the geometry threads."""

    async def open(self, content: bytes) -> None:
        from service.auth.principal import Principal
        from service.db import make_engine, make_sessionmaker, session_scope
        from service.exposure.index import RegisterIndex
        from service.geowork import default_workers
        from service.migrate import upgrade
        from service.registry.bulk import import_workers
        from service.registry.locate import default_locator
        from service.registry.protect import Protector
        from service.settings import Settings

        self.settings = Settings(**_settings_kwargs())
        self.actor = Principal.system("cli")
        self.engine = make_engine(URL)
        await upgrade(self.engine)
        self.maker = make_sessionmaker(self.engine)
        self.protector = Protector.from_settings(self.settings)
        locator = default_locator()
        locator.locate(lon=0.0, lat=0.0)
        t = time.perf_counter()
        async with session_scope(self.maker) as session:
            report = await import_workers(
                session,
                actor=self.actor,
                protector=self.protector,
                locator=locator,
                content=content,
                filename="register.csv",
            )
        seconds = time.perf_counter() - t
        print(
            f"  register: {report.created:,} imported in {seconds:.0f} s "
            f"({report.created / seconds:,.0f} rows/s, sealing included)"
        )
        self.index = RegisterIndex(self.engine, cell_deg=self.settings.index_cell_deg)
        t = time.perf_counter()
        await self.index.build()
        print(f"  exposure index built in {time.perf_counter() - t:.1f} s")
        self.geometry = default_workers()

    async def crisis(self, title: str, radius: float) -> str:
        from shapely.geometry import Point, mapping

        from service.crises.service import add_zone, open_crisis
        from service.db import session_scope

        zone = dict(mapping(Point(*CENTRE).buffer(radius, quad_segs=32)))
        zone = json.loads(json.dumps(zone))  # plain lists, as a request gives them
        async with session_scope(self.maker) as session:
            crisis = await open_crisis(
                session,
                actor=self.actor,
                title=title,
                hazard="flood",
                severity="severe",
                exercise=False,
                countries=["ARE"],
                opened_by="bench",
            )
            await add_zone(
                session,
                crisis,
                zone,
                source="bench",
                actor=self.actor,
                budget=self.geometry.budget(),
            )
            return crisis.id

    async def plan(self, crisis_id: str) -> tuple[float, int]:
        """``plan`` alone, rolled back: seconds, recipients."""
        from service.crises.models import Crisis
        from service.flows.welfare_checks import plan
        from service.welfare.schemas import WelfareCheckCreate

        async with self.maker() as session:
            crisis = await session.get(Crisis, crisis_id)
            assert crisis is not None
            t = time.perf_counter()
            found = await plan(
                session,
                actor=self.actor,
                crisis=crisis,
                data=WelfareCheckCreate(),
                index=self.index,
                budget=self.geometry.budget(),
                quiet_hours=self.settings.messages_quiet_hours,
            )
            seconds = time.perf_counter() - t
            await session.rollback()
        return seconds, len(found.recipients)

    async def start(self, crisis_id: str, *, quiet_hours: float | None = None) -> tuple[float, Any]:
        """``start`` of a check, committed: seconds, the check."""
        from service.crises.models import Crisis
        from service.db import session_scope
        from service.flows.welfare_checks import start
        from service.settings import Settings
        from service.welfare.schemas import WelfareCheckCreate

        settings = self.settings
        if quiet_hours is not None:
            settings = Settings(**{**_settings_kwargs(), "messages_quiet_hours": quiet_hours})
        t = time.perf_counter()
        async with session_scope(self.maker) as session:
            crisis = await session.get(Crisis, crisis_id)
            assert crisis is not None
            check = await start(
                session,
                actor=self.actor,
                crisis=crisis,
                data=WelfareCheckCreate(),
                index=self.index,
                budget=self.geometry.budget(),
                settings=settings,
                protector=self.protector,
            )
        return time.perf_counter() - t, check

    async def states(self, check_id: str) -> dict[str, int]:
        from sqlalchemy import text

        async with self.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT state, count(*) FROM messages_out WHERE check_id = :c GROUP BY state"),
                {"c": check_id},
            )
            return {state: int(n) for state, n in rows.all()}

    async def reached_twice(self, check_id: str, keys: list[str]) -> tuple[int, int]:
        """Of the keys the stub received: how many are not this check's messages, and how many
        of the check's people were reached under more than one key (step ``check``)."""
        from sqlalchemy import text

        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT worker_id, count(*) FROM messages_out "
                        "WHERE check_id = :c AND id = ANY(:keys) GROUP BY worker_id"
                    ),
                    {"c": check_id, "keys": keys},
                )
            ).all()
        ours = sum(int(n) for _, n in rows)
        return len(keys) - ours, sum(1 for _, n in rows if n > 1)

    async def close(self) -> None:
        await self.engine.dispose()
        self.geometry.shutdown()


def _settings_kwargs() -> dict[str, Any]:
    return {
        "database_url": URL,
        "messages_gateway": "relay",
        "messages_base_url": STUB,
        "messages_secret": SECRET,
        "messages_rate_per_s": 10000,
    }


# --- the figures ---------------------------------------------------------------------------


async def planning(service: Service, crisis_id: str) -> Any:
    base, planned = await service.plan(crisis_id)
    seconds, check = await service.start(crisis_id)
    print(
        f"  plan alone (baseline): {planned:,} recipients in {base:.2f} s\n"
        f"  start (planned and queued, committed): {check.recipients:,} recipients, "
        f"{check.unreachable:,} unreachable, in {seconds:.2f} s (target < 10 s), "
        f"{seconds / base:.2f} × plan; {check.recipients / seconds:,.0f} recipients/s"
    )
    if planned != check.recipients:
        raise SystemExit(f"plan and start disagree: {planned} and {check.recipients}")
    return check


async def stub_ceiling(requests: int, concurrency: int) -> float:
    """The stub's rate through httpx, the sender's client and concurrency, no database."""
    body = {"to": "+971501234567", "from": "Lifeline", "text": "x" * 120, "channel": "sms"}
    await reset_stub()
    queue = iter(range(requests))

    async def one(client: httpx.AsyncClient) -> None:
        for n in queue:
            await client.post(
                f"{STUB}/messages",
                json={**body, "id": f"ceiling-{n}"},
                headers={"Idempotency-Key": f"ceiling-{n}"},
            )

    async with httpx.AsyncClient(timeout=10) as client:
        t = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - t
    rate = requests / seconds
    got = await stats()
    await reset_stub()
    print(
        f"  stub's ceiling (baseline): {got['unique']:,} requests in {seconds:.1f} s, "
        f"{rate:,.0f}/s (httpx, {concurrency} at once, no database)"
    )
    return rate


async def sending(recipients: int, ceiling: float, lease: float) -> None:
    await reset_stub()
    result = sender_result(start_sender(lease))
    got = await stats()
    rate = recipients / result["seconds"]
    print(
        f"  sender: {got['unique']:,} messages handed over ({got['requests']:,} requests) in "
        f"{result['seconds']:.1f} s: {rate:,.0f} messages/s (target >= 2,000), "
        f"{rate / ceiling:.2f} × the stub's ceiling; counts {result['counts']}"
    )
    if got["unique"] != recipients:
        raise SystemExit(f"{recipients - got['unique']} messages lost")


async def killed(service: Service, check: Any, lease: float) -> None:
    await reset_stub()
    first = start_sender(lease)
    target = int(check.recipients * 0.4)
    while True:
        at = (await stats())["unique"]
        if at >= target or first.poll() is not None:
            break
        await asyncio.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    at_kill = await stats()
    states_at_kill = await service.states(check.id)
    print(
        f"  first sender killed (SIGKILL) at {at_kill['unique']:,} of {check.recipients:,} "
        f"handed over ({at:,} when the kill was decided); the outbox then: {states_at_kill}"
    )
    t = time.perf_counter()
    result = sender_result(start_sender(lease))
    got = await stats()
    keys = await stub("GET", "/keys")
    foreign, twice = await service.reached_twice(check.id, keys)
    states = await service.states(check.id)
    print(
        f"  second sender: done in {time.perf_counter() - t:.1f} s (its own {result['seconds']:.1f} s, "
        f"the lease of {lease:g} s included); counts {result['counts']}\n"
        f"  at the stub: {got['requests']:,} requests, {got['unique']:,} distinct keys\n"
        f"    lost (recipients − distinct keys): {check.recipients - got['unique']:,}\n"
        f"    repeated with a key already received (absorbed by the key): {got['repeats']:,}\n"
        f"    people reached under two keys (sent twice as distinct messages): {twice:,}"
        f"{f'; {foreign:,} keys not of this check' if foreign else ''}\n"
        f"  the check's messages in the database: {states}"
    )
    if got["unique"] != check.recipients or twice or states != {"sent": check.recipients}:
        raise SystemExit("the killed sender lost or doubled messages")


# --- inbound -------------------------------------------------------------------------------


async def _load(
    requests: list[bytes], concurrency: int, port: int
) -> tuple[float, list[float], list[bytes]]:
    """Send each request once over ``concurrency`` keep-alive connections: seconds, the
    latencies and the bodies of the answers."""
    latencies: list[float] = []
    answers: list[bytes] = []
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            t = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t)
            status = head[9:12]
            answers.append(status + b" " + body)
        writer.close()

    t = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - t, latencies, answers


def _figure(name: str, seconds: float, latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000
    rate = len(ordered) / seconds
    print(f"  {name}: {rate:,.0f}/s, median {p50:.1f} ms, 95th percentile {p95:.1f} ms")
    return rate, p50, p95


def reply_requests(phones: list[str], replies: int) -> list[bytes]:
    from integrations.messaging.drill import sign

    texts = ["1", "1", "1", "LIGTAS po", "AMAN", "SAFE", "1", "1", "2 banjir", "1"]
    out = []
    for n, phone in enumerate(phones[:replies]):
        body = json.dumps(
            {"id": f"bench-reply-{n}", "from": phone, "to": "Lifeline", "text": texts[n % 10]}
        ).encode()
        out.append(
            (
                "POST /api/v1/messages/inbound/relay HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                f"content-type: application/json\r\nx-lifeline-signature: {sign(SECRET, body)}\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    return out


def start_api(processes: int) -> subprocess.Popen[bytes]:
    command = ["-m", "service.cli", "serve", "--port", str(API_PORT)]
    return subprocess.Popen(
        [sys.executable, *command, "--processes", str(processes)],
        env={**os.environ, **settings_env()},
        cwd=ROOT,
    )


async def inbound(
    service: Service, phones: list[str], replies: int, concurrency: int, processes: int
) -> None:
    from sqlalchemy import text

    server = start_api(processes)
    try:
        from bench.common import wait_until_ready

        with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", timeout=30) as client:
            wait_until_ready(client, seconds=300, every=0.5)
        requests = reply_requests(phones, replies)
        if len(requests) < replies:
            print(f"  (only {len(requests):,} phones of recipients: {len(requests):,} replies)")
        health = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
        await _load([health] * 2000, concurrency, API_PORT)  # warm up
        seconds, latencies, _ = await _load([health] * len(requests), concurrency, API_PORT)
        base_rate, base_p50, _ = _figure(
            f"/healthz, {concurrency} at once (baseline)", seconds, latencies
        )
        seconds, latencies, answers = await _load(requests, concurrency, API_PORT)
        rate, p50, _ = _figure(
            f"replies, {concurrency} at once (targets 1,000/s, 95th percentile < 100 ms)",
            seconds,
            latencies,
        )
        print(
            f"    {rate / base_rate:.3f} × /healthz's rate, median {p50 / base_p50:.1f} × its median"
        )
        statuses: dict[str, int] = {}
        taken: dict[str, int] = {}
        for answer in answers:
            status, body = answer[:3].decode(), answer[4:]
            statuses[status] = statuses.get(status, 0) + 1
            if status == "200":
                for name, n in json.loads(body).items():
                    taken[name] = taken.get(name, 0) + n
        async with service.engine.connect() as connection:
            stored = dict(
                (
                    await connection.execute(
                        text("SELECT state, count(*) FROM messages_in GROUP BY state")
                    )
                ).all()
            )
            welfare = dict(
                (
                    await connection.execute(
                        text("SELECT status, count(*) FROM welfare_statuses GROUP BY status")
                    )
                ).all()
            )
        print(
            f"    answers {statuses}; taken {taken}\n"
            f"    messages_in by state {stored}; welfare statuses {welfare}"
        )
        if statuses != {"200": len(requests)} or taken.get("understood") != len(requests):
            print("    NOT every reply was understood and recorded (see above)")
    finally:
        server.terminate()
        server.wait(timeout=60)


async def bench(args: argparse.Namespace) -> None:
    t = time.perf_counter()
    content, radius, phones = register(args.workers, args.exposed)
    print(
        f"# Welfare checks: {args.workers:,} workers ({len(content) / 1e6:.0f} MB of CSV, made in "
        f"{time.perf_counter() - t:.0f} s), a circle of {radius:.3f}° around {CENTRE} "
        f"holding {args.exposed:,} of them"
    )
    await fresh_database()
    service = Service()
    await service.open(content)
    spawn = multiprocessing.get_context("spawn")
    ready: Synchronized[int] = spawn.Value("i", 0)  # type: ignore[assignment]
    stub = spawn.Process(target=relay_stub, args=(STUB_PORT, ready), daemon=True)
    stub.start()
    try:
        while True:
            if ready.value:
                break
            await asyncio.sleep(0.05)
        print("## 1. Planning and queueing a check (in this process)")
        crisis_id = await service.crisis("Bench floods, Dubai", radius)
        check = await planning(service, crisis_id)
        print(
            "## 2. Handing the messages to the relay stub (sender and stub in processes of their own)"
        )
        size = min(20_000, max(5_000, check.recipients // 5))
        await stub_ceiling(size, concurrency=8)
        ceiling = await stub_ceiling(size, concurrency=CONCURRENCY)
        await sending(check.recipients, ceiling, None)
        print(
            f"## 3. A sender killed midway (lease shortened to {args.lease:g} s in the senders; "
            "the service's is 60 s)"
        )
        second_id = await service.crisis("Bench floods again, Dubai", radius)
        seconds, second = await service.start(second_id, quiet_hours=0)
        print(f"  second check started: {second.recipients:,} recipients in {seconds:.2f} s")
        await killed(service, second, args.lease)
        print(f"## 4. Replies through HTTP (API: {args.api_processes} processes)")
        await inbound(service, phones, args.replies, args.concurrency, args.api_processes)
    finally:
        stub.terminate()
        stub.join(timeout=10)
        await service.close()
        if not args.keep:
            await drop_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--exposed", type=int, default=100_000)
    parser.add_argument("--replies", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument(
        "--lease", type=float, default=None, help="seconds (default 5; the service: 60)"
    )
    parser.add_argument("--quick", action="store_true", help="100,000 workers, 10,000 exposed")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        asyncio.run(sender_main(args.lease))
        return
    args.lease = args.lease or 5.0
    if args.quick:
        args.workers, args.exposed, args.replies = 100_000, 10_000, 2_000
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
