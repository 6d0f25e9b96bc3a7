"""Task coordination under load, through the real API on PostgreSQL.

    python bench/tasks.py --tasks 5000 --updates 3000 --events 10000

1. A crisis with ``--tasks`` tasks; ``--updates`` status updates sent through HTTP (If-Match, by
   16 concurrent clients): updates per second and latency percentiles.
2. ``--events`` webhook events fanned out to a local receiver by the delivery loop: seconds
   until every one is acknowledged. The receiver is a minimal HTTP/1.1 server in a process of its
   own (it checks each signature and answers 204), so that the figure measures Lifeline's
   deliveries, not a receiver sharing their process and their interpreter lock.

``--part updates`` or ``--part webhooks`` runs one of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, wait_until_ready  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_tasks"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
TOKEN = "ll_bench-tasks-token"


async def prepare(tasks: int) -> tuple[str, list[str]]:
    from service.auth.service import hash_token
    from service.db import make_engine
    from service.migrate import upgrade

    admin = await asyncpg.connect(PG + "/postgres")
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    engine = make_engine(URL)
    await upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(f"{PG}/{DB}")
    org = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO organizations (id, slug, name, kind, country, jurisdiction, acts_for, created_at, updated_at, version) "
        "VALUES ($1, 'coordination', 'Coordination', 'international_org', 'MYS', '[]', '[]', now(), now(), 1)",
        org,
    )
    await conn.execute(
        "INSERT INTO api_tokens (id, organization_id, role, name, token_hash, prefix, created_at) "
        "VALUES ($1, $2, 'coordinator', 'bench', $3, 'll_bench', now())",
        str(uuid.uuid4()),
        org,
        hash_token(TOKEN),
    )
    crisis = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO crises (id, title, hazard, severity, phase, alert_level, exercise, stood_down, countries, opened_by, created_at, updated_at, version) "
        "VALUES ($1, 'Bench floods', 'flood', 'severe', 'response', 1, true, false, '[\"MYS\"]', 'bench', now(), now(), 1)",
        crisis,
    )
    ids = [str(uuid.uuid4()) for _ in range(tasks)]
    await conn.copy_records_to_table(
        "tasks",
        columns=[
            "id",
            "crisis_id",
            "key",
            "title",
            "description",
            "assignee_org",
            "coverage_gap",
            "status",
            "after",
            "basis",
            "exercise",
            "needs_review",
            "version",
            "created_at",
            "updated_at",
        ],
        records=[
            (
                i,
                crisis,
                f"bench.{n}",
                f"Task {n}",
                "",
                org,
                False,
                "open",
                "[]",
                "[]",
                True,
                False,
                1,
                __import__("datetime").datetime.now(__import__("datetime").UTC),
                __import__("datetime").datetime.now(__import__("datetime").UTC),
            )
            for n, i in enumerate(ids)
        ],
    )
    await conn.close()
    return crisis, ids


async def update_load(ids: list[str], updates: int, concurrency: int = 16) -> list[float]:
    latencies: list[float] = []
    # A task's updates all go through one client, in order, so none is sent before the one
    # it follows has been answered.
    queue: list[list[tuple[str, int]]] = [[] for _ in range(concurrency)]
    for n in range(updates):
        queue[n % len(ids) % concurrency].append((ids[n % len(ids)], n // len(ids)))
    # acknowledged, in_progress, then blocked and in_progress in turn: every update is a valid
    # transition however many rounds the run makes over the tasks.
    statuses = ["acknowledged", "in_progress", "blocked"]

    def status(step: int) -> str:
        return statuses[step] if step < 2 else statuses[2 - step % 2]

    async def client_loop(worker: int) -> None:
        async with httpx.AsyncClient(
            base_url="http://127.0.0.1:8767",
            timeout=30,
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client:
            for task_id, step in queue[worker]:
                started = time.perf_counter()
                response = await client.patch(
                    f"/api/v1/tasks/{task_id}",
                    json={"status": status(step)},
                    headers={"If-Match": str(step + 1)},
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"update failed: {response.status_code} {response.text}")

    await asyncio.gather(*(client_loop(w) for w in range(concurrency)))
    return latencies


WRK_SCRIPT = """
local threads = {}
local statuses = {"acknowledged", "in_progress", "blocked"}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  mine = {}
  local n = 0
  for line in io.lines(os.getenv("TASK_IDS")) do
    if n % tonumber(os.getenv("THREADS")) == tid then table.insert(mine, line) end
    n = n + 1
  end
  k = 0
  -- wrk calls request() once on its first thread to check the script, and never sends that
  -- request: without this, one task of that thread would miss its first update.
  if tid == 0 then k = -1 end
end
function request()
  if k < 0 then
    k = 0
    return wrk.format("GET", "/readyz")
  end
  local id = mine[(k % #mine) + 1]
  local round = math.floor(k / #mine)
  k = k + 1
  local status = statuses[round + 1]
  if round >= 2 then status = statuses[3 - round % 2] end
  return wrk.format("PATCH", "/api/v1/tasks/" .. id,
    {["Authorization"] = "Bearer " .. os.getenv("TOKEN"), ["If-Match"] = tostring(round + 1),
     ["Content-Type"] = "application/json"}, '{"status": "' .. status .. '"}')
end
function done(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %.1f %.1f\\n", summary.requests, summary.errors.status,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


WRK_CONNECTIONS = 16


def update_load_wrk(
    ids: list[str], seconds: int = 8, threads: int = 2, connections: int = WRK_CONNECTIONS
) -> None:
    """The same updates, sent by wrk (a C load generator): the server's rate, not the client's."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "ids").write_text("\n".join(ids) + "\n")
        Path(tmp, "load.lua").write_text(WRK_SCRIPT)
        env = {**os.environ, "TASK_IDS": f"{tmp}/ids", "THREADS": str(threads), "TOKEN": TOKEN}
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "-s",
                f"{tmp}/load.lua",
                "http://127.0.0.1:8767",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    requests, non_2xx, duration_us, p50, p95 = line.split()[1:]
    ok = int(requests) - int(non_2xx)
    print(
        f"  wrk, {connections} connections: {ok / (int(duration_us) / 1e6):,.0f} updates/s (target >= 500; "
        f"{non_2xx} not 2xx), median {float(p50):.0f} ms, 95th percentile {float(p95):.0f} ms (target < 100)"
    )


class _Receiver(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, just enough for the deliveries: check the signature, count the
    distinct event ids, answer 204 (401 to a bad signature, which the deliverer retries)."""

    def __init__(self, secret: bytes, seen: set[str], count: Synchronized[int]) -> None:
        self.secret, self.seen, self.count = secret, seen, count
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            headers = dict(
                line.split(b": ", 1) for line in self.buffer[:end].lower().split(b"\r\n")[1:]
            )
            length = int(headers[b"content-length"])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            mac = hmac.new(
                self.secret, headers[b"lifeline-timestamp"] + b"." + body, hashlib.sha256
            )
            if headers[b"lifeline-signature"] != b"sha256=" + mac.hexdigest().encode():
                self.transport.write(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n")
                continue
            self.seen.add(json.loads(body)["id"])
            self.count.value = len(self.seen)
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")


def receive(port: int, secret: str, count: Synchronized[int]) -> None:
    """The receiver's process."""

    async def serve() -> None:
        seen: set[str] = set()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Receiver(secret.encode(), seen, count), "127.0.0.1", port
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


async def fan_out(events: int) -> float:
    from integrations.safe_url import Policy
    from integrations.webhooks import delivery_client
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.registry.protect import Protector
    from service.settings import Settings
    from service.webhooks.models import OutboxEvent, WebhookSubscription
    from service.webhooks.service import deliver_due

    secret = "bench-secret-0123456789"
    spawn = multiprocessing.get_context("spawn")
    count: Synchronized[int] = spawn.Value("i", 0)  # type: ignore[assignment]
    receiver = spawn.Process(target=receive, args=(8768, secret, count), daemon=True)
    receiver.start()
    for _ in range(100):
        try:
            (await asyncio.open_connection("127.0.0.1", 8768))[1].close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    engine = make_engine(URL)
    maker = make_sessionmaker(engine)
    protector = Protector.from_settings(Settings())
    async with session_scope(maker) as session:
        subscription = WebhookSubscription(
            organization_id="bench",
            url="http://127.0.0.1:8768/hook",
            events=["alert.received"],
            secret_sealed="",
            sees_all=True,
        )
        subscription.secret_sealed = (
            protector.sealer.seal(secret, record_id=subscription.id, field="webhook_secret") or ""
        )
        session.add(subscription)
        for n in range(events):
            session.add(
                OutboxEvent(type="alert.received", subject=f"alert:{n % 500}", data={"n": n})
            )
    started = time.perf_counter()
    # The worker's client and concurrency; the local receiver allowed as a deployment would.
    local = Policy.parse(["127.0.0.1"], require_https=False)
    async with delivery_client(local) as client:
        while count.value < events:
            await deliver_due(engine, maker, client, protector, limit=1000)
            if time.perf_counter() - started > 300:
                break
    seconds = time.perf_counter() - started
    receiver.terminate()
    await engine.dispose()
    print(
        f"  webhook fan-out: {count.value:,} of {events:,} events delivered in {seconds:.1f} s (target < 30 s)"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--part", choices=["all", "updates", "webhooks"], default="all")
    args = parser.parse_args()
    print(
        f"# Tasks: a crisis of {args.tasks:,} tasks, {args.updates:,} status updates through HTTP"
    )
    _, ids = asyncio.run(prepare(args.tasks))
    if args.part != "webhooks":
        update_figures(args, ids)
    if args.part != "updates":
        asyncio.run(fan_out(args.events))


def update_figures(args: argparse.Namespace, ids: list[str]) -> None:
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", "8767", "--processes", "2"],
        env=env,
        cwd=ROOT,
    )
    try:
        with httpx.Client(base_url="http://127.0.0.1:8767", timeout=30) as client:
            wait_until_ready(client, seconds=60, every=0.5)
        started = time.perf_counter()
        latencies = sorted(asyncio.run(update_load(ids, args.updates)))
        seconds = time.perf_counter() - started
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"  httpx, 16 clients: {len(latencies) / seconds:,.0f} updates/s; median {statistics.median(latencies) * 1000:.0f} ms, "
            f"95th percentile {p95 * 1000:.0f} ms (the Python client shares the two cores with the server)"
        )
        if len(ids) - args.updates < 100 * WRK_CONNECTIONS:
            # Each wrk connection must be far behind the next round of its thread's tasks, or
            # two updates of one task overlap and the second rightly gets 412.
            print(
                f"  (wrk needs {100 * WRK_CONNECTIONS:,} tasks the httpx run has not touched: "
                "--tasks - --updates)"
            )
        elif shutil.which("wrk"):
            update_load_wrk(ids[args.updates :])  # tasks the httpx run has not touched
        else:
            print(
                "  (wrk not installed: apt-get install wrk to measure without the Python client's cost)"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
