"""The API under faults, as real processes: PostgreSQL restarted under load, an API process
killed (``kill -9``) in the middle of writes, and stopped (SIGTERM) with requests in flight.

Each API is ``lifeline serve`` on a free port, on a database of a private cluster
(``tests/faults/cluster.py``) that the tests stop and start; the shared server is never touched.
docs/decisions/0027-database-outages.md says what each test proves."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from service.auth.permissions import Role
from service.db import make_engine, make_sessionmaker
from service.directory.models import OrgKind
from tests.conftest import BACKENDS, bearer, make_org_in, make_token_in, settings_for, unique
from tests.faults.cluster import Cluster, cluster_fixture  # noqa: F401 (the fixture)
from tests.live import KL_ZONE

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        "postgresql" not in BACKENDS, reason="the API fault tests run on PostgreSQL"
    ),
]

REPO = Path(__file__).resolve().parents[2]
#: What the database deadlines are set to for the APIs here (service/db.py): a connection is
#: made within this many seconds or the request answers 503.
CONNECT_TIMEOUT_S = 3.0
#: The longest any answer may take while the database is away: the connect deadline and 2 s.
ANSWER_BOUND_S = CONNECT_TIMEOUT_S + 2.0
#: ``LIFELINE_DB_STATEMENT_TIMEOUT_S`` of the API restarted under: short, to meet it.
STATEMENT_TIMEOUT_S = 2.0
#: Once PostgreSQL is back, requests succeed again within this many seconds.
RECOVERY_S = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(database_url: str, workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a service process: the tests' settings, on ``database_url``, with the
    worktree's code first on the path."""
    base = settings_for(database_url)
    feeds = workdir / "feeds.json"
    feeds.write_text("[]")  # no feed polled: the worker makes no outbound call
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LIFELINE_DATABASE_URL": database_url,
        "LIFELINE_ENV": "test",
        "LIFELINE_ENCRYPTION_KEYS": base.encryption_keys,
        "LIFELINE_BLIND_INDEX_KEY": base.blind_index_key,
        "LIFELINE_MESSAGES_IN_API": "false",
        "LIFELINE_CRISIS_PASS_INLINE": "false",
        "LIFELINE_MESSAGES_DRILL_FILE": str(workdir / "drill.jsonl"),
        "LIFELINE_FEEDS_FILE": str(feeds),
        "LIFELINE_TOKEN_REQUESTS_PER_MINUTE": "0",
        "LIFELINE_ADDRESS_REQUESTS_PER_MINUTE": "0",
        "LIFELINE_AUTH_FAILURES_PER_MINUTE": "0",
        "LIFELINE_LOG_LEVEL": "INFO",
        "LIFELINE_DB_CONNECT_TIMEOUT_S": str(CONNECT_TIMEOUT_S),
    }
    env.update({f"LIFELINE_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Process:
    """A service process (``lifeline serve`` or ``lifeline worker``) and its log."""

    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def records(self) -> list[dict[str, Any]]:
        """The process's JSON log records (lines that are not JSON left out)."""
        found = []
        for line in self.lines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def kill(self) -> None:
        """``kill -9``: nothing runs after it, not even a ``finally``."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def end(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def start_api(database_url: str, workdir: Path, **settings: str) -> Process:
    """``lifeline serve`` on a free port, once it answers ``/readyz`` with 200."""
    port = free_port()
    log = workdir / f"api-{port}.log"
    popen = spawn(
        ["serve", "--port", str(port)], service_env(database_url, workdir, **settings), log
    )
    api = Process(popen, log, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    try:
        async with httpx.AsyncClient(base_url=api.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if popen.poll() is not None:
                    raise AssertionError(
                        f"the API exited with {popen.returncode}:\n{log.read_text()}"
                    )
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return api
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"the API was not ready within 60 s:\n{log.read_text()}")
    except BaseException:
        api.end()  # never left running by a start that failed or was cancelled
        raise


@contextmanager
def running(process: Process) -> Iterator[Process]:
    try:
        yield process
    finally:
        process.end()


@dataclass
class Seed:
    database_url: str
    organization_id: str
    token: str


async def seed(
    database_url: str,
    kind: OrgKind = OrgKind.INTERNATIONAL_ORG,
    role: Role = Role.ADMIN,
) -> Seed:
    """An organisation of ``kind`` and a token of ``role``, written straight into the database."""
    engine = make_engine(database_url)
    try:
        holder = SimpleNamespace(state=SimpleNamespace(sessionmaker=make_sessionmaker(engine)))
        org = await make_org_in(holder, kind)  # type: ignore[arg-type]
        token = await make_token_in(holder, role, org)  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    return Seed(database_url=database_url, organization_id=org, token=token)


def dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn(database_url))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query, *args)
        return rows
    finally:
        await conn.close()


async def sessions_gone(database_url: str, *, within_s: float = 10.0) -> None:
    """Wait until the server has ended every session of ``database_url`` but ours: a killed
    client's transaction is rolled back when its backend sees the socket closed."""
    name = database_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        left = await fetch(
            database_url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        if left[0][0] == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"sessions of {name} still open {within_s} s after the kill")


# --- 1. PostgreSQL restarted under load -------------------------------------------------------


@dataclass
class Answer:
    started: float
    took: float
    what: str
    status: int | None = None
    content_type: str = ""
    retry_after: str | None = None
    body: Any = None


@dataclass
class Load:
    """A few clients reading and writing with one token, each answer recorded."""

    url: str
    token: str
    answers: list[Answer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self, n: int) -> None:
        timeout = httpx.Timeout(ANSWER_BOUND_S + 10)
        async with httpx.AsyncClient(
            base_url=self.url, headers=bearer(self.token), timeout=timeout
        ) as http:
            i = 0
            while not self.stop.is_set():
                i += 1
                if i % 3 == 0:
                    what, call = (
                        "write",
                        http.post(
                            "/api/v1/organizations",
                            # Read first by the idempotency store, outside the routes.
                            headers={"Idempotency-Key": unique("key")},
                            json={
                                "slug": unique("outage"),
                                "name": f"Client {n} organisation {i}",
                                "kind": "ngo",
                                "country": "MYS",
                            },
                        ),
                    )
                elif i % 3 == 1:
                    what, call = "read", http.get("/api/v1/organizations", params={"limit": 5})
                else:
                    what, call = "read", http.get("/api/v1/tasks", params={"limit": 5})
                started = time.monotonic()
                try:
                    response = await call
                except httpx.TransportError as exc:
                    self.answers.append(
                        Answer(started, time.monotonic() - started, f"{what}: {exc!r}")
                    )
                    continue
                try:
                    body = response.json()
                except ValueError:
                    body = response.text[:500]
                self.answers.append(
                    Answer(
                        started,
                        time.monotonic() - started,
                        what,
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.headers.get("retry-after"),
                        body,
                    )
                )
                await asyncio.sleep(0.05)


async def readiness(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, timeout=ANSWER_BOUND_S + 10) as http:
        response = await http.get("/readyz")
        return response.status_code, response.json()


async def test_postgresql_restarted_under_load(cluster: Cluster, tmp_path: Path) -> None:
    """A statement waiting on a lock past its deadline answers 503. While PostgreSQL is down
    every answer is a 503 problem within the bound, never a 500 nor a hang; ``/readyz`` says the database is unreachable; once it is back the same API process
    answers again within seconds, and the worker process, still running, runs its jobs again.
    Twice: a clean stop (``-m fast``) and a crash (``-m immediate``)."""
    cluster.ensure_running()
    database_url = await cluster.create_database()
    seeded = await seed(database_url)
    api = await start_api(database_url, tmp_path, db_statement_timeout_s=str(STATEMENT_TIMEOUT_S))
    with running(api):
        # A statement that waits on a lock past its deadline is cancelled: a 503, not a hang.
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            # The process's first request prepares what it caches; not what is measured.
            warm = await http.get("/api/v1/tasks", headers=bearer(seeded.token))
            assert warm.status_code == 200, warm.text
        conn = await asyncpg.connect(dsn(database_url))
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
                async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
                    started = time.monotonic()
                    waited = await http.get("/api/v1/tasks", headers=bearer(seeded.token))
                    took = time.monotonic() - started
        finally:
            await conn.close()
        assert waited.status_code == 503, waited.text
        assert waited.json()["type"].endswith("/database-unavailable")
        # Bounded, generously for a busy machine: the deadline, not a hang.
        assert STATEMENT_TIMEOUT_S <= took < STATEMENT_TIMEOUT_S + 5, took
        print(f"\na statement past its deadline of {STATEMENT_TIMEOUT_S} s: 503 in {took:.2f} s")
        load = Load(api.url, seeded.token)
        clients = [asyncio.create_task(load.client(n)) for n in range(4)]
        outages: list[tuple[str, float, float]] = []
        readyz_down: list[tuple[int, dict[str, Any]]] = []
        try:
            for mode in ("fast", "immediate"):
                await asyncio.sleep(2)
                went = time.monotonic()
                await asyncio.to_thread(cluster.stop, mode)
                await asyncio.sleep(1)
                readyz_down.append(await readiness(api.url))
                await asyncio.sleep(2)
                await asyncio.to_thread(cluster.start)
                back = time.monotonic()
                outages.append((mode, went, back))
                await asyncio.sleep(RECOVERY_S + 2)
        finally:
            load.stop.set()
            await asyncio.gather(*clients)

        answers = load.answers
        assert answers, "the clients made no request"
        # Never a hang: every answer within the bound, never a transport error.
        slow = [a for a in answers if a.took > ANSWER_BOUND_S or a.status is None]
        assert not slow, slow[:5]
        # Never a 500, never a trace: every failure is a 503 problem that says what and when.
        failed = [a for a in answers if a.status is not None and a.status >= 300]
        assert failed, "no request met the outage"
        for a in failed:
            assert a.status == 503, a
            assert a.content_type == "application/problem+json", a
            assert a.body["type"].endswith("/database-unavailable"), a
            assert a.body["title"] == "The database is unreachable", a
            assert a.retry_after is not None and a.retry_after.isdigit(), a
            assert "Traceback" not in json.dumps(a.body), a
        for status, body in readyz_down:
            assert status == 503, body
            assert body["checks"]["database"].startswith("unreachable"), body
        # Recovery without a restart of the API: after each outage, everything sent once the
        # recovery time has passed succeeded, and the first success came soon after the start.
        ends = [went for _, went, _ in outages[1:]] + [max(a.started for a in answers) + 1]
        for (mode, _, back), end in zip(outages, ends, strict=True):
            after = [a for a in answers if back + RECOVERY_S <= a.started < end - 0.5]
            assert after, mode
            assert all(a.status is not None and a.status < 300 for a in after), (
                mode,
                [a for a in after if a.status is None or a.status >= 300][:3],
            )
            first = min(
                a.started + a.took
                for a in answers
                if a.started >= back and a.status is not None and a.status < 300
            )
            assert first - back < RECOVERY_S, (mode, first - back)
        print(
            f"\n{len(answers)} answers, {len(failed)} of them 503; slowest "
            f"{max(a.took for a in answers):.2f} s, slowest 503 {max(a.took for a in failed):.2f} s; "
            + ", ".join(
                f"{mode}: first success {min(a.started + a.took for a in answers if a.started >= back and a.status is not None and a.status < 300) - back:.2f} s after the start"
                for mode, _, back in outages
            )
        )
        assert api.popen.poll() is None


async def test_the_worker_lives_through_a_database_restart(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A worker process keeps running while PostgreSQL restarts, and runs its jobs (and takes
    their advisory locks) again once it is back."""
    cluster.ensure_running()
    database_url = await cluster.create_database()
    log = tmp_path / "worker.log"
    env = service_env(
        database_url, tmp_path, housekeeping_interval_s="1", audit_chain_interval_s="1"
    )
    worker = Process(spawn(["worker"], env, log), log)
    with running(worker):
        # Its jobs under way first (the process takes seconds to start on a busy machine).
        deadline = time.monotonic() + 60
        while not any(r.get("msg") == "job ran" for r in worker.records()):
            assert worker.popen.poll() is None, worker.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker ran no job within 60 s"
            await asyncio.sleep(0.2)
        await asyncio.to_thread(cluster.restart, "fast", down_s=3)
        back = time.monotonic()
        await asyncio.sleep(RECOVERY_S + 1)
        assert worker.popen.poll() is None, worker.log.read_text()[-3000:]
        ran_after = [
            r
            for r in worker.records()
            if r.get("msg") == "job ran"
            and r.get("job") == "audit-chain"
            and not str(r.get("outcome", "")).startswith(("failed", "skipped"))
            and _when(r) > back
        ]
        assert ran_after, worker.log.read_text()[-3000:]


def _when(record: dict[str, Any]) -> float:
    """A log record's time, on the monotonic clock of this process."""
    from datetime import datetime

    at = datetime.fromisoformat(str(record["ts"])).timestamp()
    return time.monotonic() - (time.time() - at)


# --- 2. kill -9 in the middle of writes -------------------------------------------------------

IMPORT_HEADER = (
    "nationality,given_name,family_name,sex,birth_date,document_number,lat,lon,legal_basis"
)
#: Rows of the large file: a few MB, several batches of the import's 4,000 rows.
IMPORT_ROWS = 20_000


def large_csv(prefix: str, rows: int = IMPORT_ROWS) -> bytes:
    lines = [IMPORT_HEADER]
    for i in range(rows):
        lat = 3.05 + (i % 200) / 1000
        lon = 101.6 + (i // 200 % 200) / 1000
        lines.append(
            f"PHL,Given{i},Family{i % 97},F,1990-01-{1 + i % 28:02d},{prefix}{i:07d},"
            f"{lat:.4f},{lon:.4f},vital_interest"
        )
    return ("\n".join(lines) + "\n").encode()


async def make_tasks(api: Process, seeded: Seed, count: int) -> list[str]:
    async with httpx.AsyncClient(
        base_url=api.url, headers=bearer(seeded.token), timeout=30
    ) as http:
        crisis = await http.post(
            "/api/v1/crises",
            json={
                "title": "Kill drill",
                "hazard": "flood",
                "severity": "severe",
                "exercise": True,
                "zones": KL_ZONE,
            },
        )
        assert crisis.status_code == 201, crisis.text
        ids = []
        for n in range(count):
            task = await http.post(
                "/api/v1/tasks",
                json={
                    "crisis_id": crisis.json()["id"],
                    "title": f"Task {n}",
                    "assignee_org": seeded.organization_id,
                },
            )
            assert task.status_code == 201, task.text
            ids.append(task.json()["id"])
        return ids


async def task_records(database_url: str, task_ids: list[str]) -> dict[str, tuple[int, ...]]:
    """Per task: its version, and how many history entries, timeline entries, audit events (the
    route's, of each change allowed) and outbox events its updates wrote."""
    rows = await fetch(
        database_url,
        """
        SELECT t.id, t.version,
          (SELECT count(*) FROM task_changes c WHERE c.task_id = t.id),
          (SELECT count(*) FROM crisis_events e
            WHERE e.kind = 'task_updated' AND e.detail->>'task_id' = t.id),
          (SELECT count(*) FROM audit_events a
            WHERE a.subject_id = t.id AND a.detail->>'method' = 'PATCH'),
          (SELECT count(*) FROM outbox_events o
            WHERE o.subject = 'task:' || t.id AND o.data->>'kind' = 'task_updated')
        FROM tasks t WHERE t.id = ANY($1::text[])
        """,
        task_ids,
    )
    return {r[0]: tuple(r[1:]) for r in rows}


async def keep_updating(
    url: str, token: str, task_id: str, acknowledged: dict[str, int], stop: asyncio.Event
) -> None:
    """Change the task's due date again and again, each time at the version last answered."""
    async with httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=30) as http:
        version = int((await http.get(f"/api/v1/tasks/{task_id}")).headers["etag"].strip('"'))
        n = 0
        while not stop.is_set():
            n += 1
            try:
                response = await http.patch(
                    f"/api/v1/tasks/{task_id}",
                    json={"due_at": f"2031-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z"},
                    headers={"If-Match": f'"{version}"'},
                )
            except httpx.TransportError:
                return  # the process died under the request
            assert response.status_code == 200, response.text
            version = int(response.headers["etag"].strip('"'))
            acknowledged[task_id] = version


async def test_kill_9_during_an_import_and_task_updates(cluster: Cluster, tmp_path: Path) -> None:
    """An API process killed (SIGKILL: no clean-up of any kind) while it writes a large import
    and task updates leaves nothing half written: none of the import's rows (it is one
    transaction), and each task's version, history, timeline, audit and outbox in agreement,
    at least at the version last acknowledged. The same file sent again to a new process
    creates each row once, and a third time nothing."""
    cluster.ensure_running()
    database_url = await cluster.create_database()
    coordinator = await seed(database_url)
    officer = await seed(database_url, OrgKind.EMBASSY, Role.CONSULAR_OFFICER)
    content = large_csv(unique("K9-"))
    api = await start_api(database_url, tmp_path)
    with running(api):
        task_ids = await make_tasks(api, coordinator, 6)
        before = await task_records(database_url, task_ids)
        acknowledged: dict[str, int] = {}
        stop = asyncio.Event()
        updaters = [
            asyncio.create_task(keep_updating(api.url, coordinator.token, t, acknowledged, stop))
            for t in task_ids
        ]
        async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
            upload = asyncio.create_task(
                http.post(
                    "/api/v1/workers/import",
                    files={"file": ("large.csv", content, "text/csv")},
                    headers=bearer(officer.token),
                )
            )
            # Killed once the import has written some of its batches, not all.
            name = database_url.rsplit("/", 1)[1]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not upload.done():
                copying = await fetch(
                    database_url,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                    "AND query LIKE 'COPY%' AND state <> 'idle'",
                    name,
                )
                if copying[0][0]:
                    break
                await asyncio.sleep(0.02)
            assert not upload.done(), "the import ended before it could be killed"
            await asyncio.sleep(0.3)
            api.kill()
            with pytest.raises(httpx.TransportError):
                await upload
        stop.set()
        await asyncio.gather(*updaters)
    assert len(acknowledged) == len(task_ids), "some task was never updated before the kill"
    await sessions_gone(database_url)

    # Nothing of the import, and no record of it.
    workers = await fetch(database_url, "SELECT count(*) FROM workers")
    assert workers[0][0] == 0
    imports = await fetch(
        database_url, "SELECT count(*) FROM audit_events WHERE action = 'worker.import'"
    )
    assert imports[0][0] == 0
    # Each task as one of its updates left it, whole.
    after = await task_records(database_url, task_ids)
    for task_id in task_ids:
        version, *written = (a - b for a, b in zip(after[task_id], before[task_id], strict=True))
        assert written == [version] * 4, (task_id, version, written)
        assert after[task_id][0] >= acknowledged[task_id], task_id
    print(
        f"\nkilled with the import under way; task updates acknowledged: "
        f"{sum(acknowledged[t] - before[t][0] for t in task_ids)}, "
        f"written: {sum(after[t][0] - before[t][0] for t in task_ids)}"
    )

    # A new process: the same file creates each row once, then nothing.
    api = await start_api(database_url, tmp_path)
    with running(api):
        async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
            for created, unchanged in ((IMPORT_ROWS, 0), (0, IMPORT_ROWS)):
                again = await http.post(
                    "/api/v1/workers/import",
                    files={"file": ("large.csv", content, "text/csv")},
                    headers=bearer(officer.token),
                )
                assert again.status_code == 200, again.text
                report = again.json()
                assert (report["created"], report["unchanged"], report["rejected"]) == (
                    created,
                    unchanged,
                    0,
                ), report
            # And the tasks take changes again at the version they are at.
            for task_id in task_ids:
                changed = await http.patch(
                    f"/api/v1/tasks/{task_id}",
                    json={"due_at": "2032-01-01T00:00:00Z"},
                    headers={**bearer(coordinator.token), "If-Match": f'"{after[task_id][0]}"'},
                )
                assert changed.status_code == 200, changed.text
    workers = await fetch(database_url, "SELECT count(*) FROM workers")
    assert workers[0][0] == IMPORT_ROWS


# --- 3. SIGTERM with requests in flight --------------------------------------------------------

#: ``LIFELINE_SHUTDOWN_GRACE_S`` of the API stopped here.
GRACE_S = 4
#: What the process takes past the grace period to end: the app's shut-down (the pool closed,
#: the geometry threads stopped) and the interpreter's (measured: 1 to 4 s on two busy cores).
TEARDOWN_S = 6


async def held_request(url: str, token: str, body: bytes) -> tuple[asyncio.StreamReader, Any]:
    """A request whose headers and first half of the body are sent, the rest held back."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        "POST /api/v1/organizations HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_sigterm_lets_requests_in_flight_finish(cluster: Cluster, tmp_path: Path) -> None:
    """SIGTERM to ``lifeline serve`` with a request in flight (its body half sent): new
    connections are refused at once, the request completes and is written, and the process
    exits 0. A request held open past the grace period does not keep it: it exits 0 within
    ``LIFELINE_SHUTDOWN_GRACE_S`` and the time its teardown takes."""
    cluster.ensure_running()
    database_url = await cluster.create_database()
    seeded = await seed(database_url)
    slug = unique("sigterm")
    body = json.dumps(
        {"slug": slug, "name": "Written during shut-down", "kind": "ngo", "country": "MYS"}
    ).encode()
    for finish in (True, False):
        api = await start_api(database_url, tmp_path, shutdown_grace_s=str(GRACE_S))
        with running(api):
            reader, writer = await held_request(api.url, seeded.token, body)
            await asyncio.sleep(0.5)  # the request reached the route, reading its body
            signalled = time.monotonic()
            api.popen.send_signal(signal.SIGTERM)
            deadline = signalled + 5
            while not await refused(api.url):
                assert time.monotonic() < deadline, "still taking connections 5 s after SIGTERM"
                await asyncio.sleep(0.05)
            if finish:
                await asyncio.sleep(1)
                writer.write(body[len(body) // 2 :])
                await writer.drain()
                status_line = await asyncio.wait_for(reader.readline(), GRACE_S)
                assert status_line.startswith(b"HTTP/1.1 201"), status_line
            code = await asyncio.to_thread(api.popen.wait, GRACE_S + 5)
            took = time.monotonic() - signalled
            writer.close()
            assert code == 0, api.log.read_text()[-3000:]
            assert took < GRACE_S + TEARDOWN_S, took
            print(f"\nSIGTERM, request {'completed' if finish else 'held'}: exit 0 in {took:.2f} s")
        if finish:
            written = await fetch(
                database_url, "SELECT count(*) FROM organizations WHERE slug = $1", slug
            )
            assert written[0][0] == 1


# --- What counts as the database away ----------------------------------------------------------


def test_only_errors_of_reaching_the_database_are_unavailability() -> None:
    """The errors a restart, a crash or a deadline raise are the 503; a wrong statement, a
    broken constraint or SQLite's own errors stay what they were (a 500, a 409)."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from service.db import database_unavailable

    def wrapped(kind: type[Exception], orig: Exception) -> Exception:
        return kind("SELECT 1", {}, orig)  # type: ignore[call-arg]

    away = [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        socket.gaierror(-2, "Name or service not known"),
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CrashShutdownError("terminating connection"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.InterfaceError("connection is closed"),
        wrapped(OperationalError, asyncpg.exceptions.AdminShutdownError("terminating")),
    ]
    for exc in away:
        assert database_unavailable(exc), exc
    # Raised by the database layer from one of them, as a session's flush raises it.
    from sqlalchemy.exc import InvalidRequestError

    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as cause:
            raise InvalidRequestError("flush failed") from cause
    except InvalidRequestError as chained:
        assert database_unavailable(chained)
    # Not the database's: an HTTP exchange's deadline raised from a builtin TimeoutError, and a
    # bug met while handling a refused connection (only its context, not its cause).
    try:
        try:
            raise TimeoutError
        except TimeoutError as cause:
            raise RuntimeError("the receiver did not answer in time") from cause
    except RuntimeError as elsewhere:
        assert not database_unavailable(elsewhere)
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError:
            {}["missing"]
    except KeyError as bug:
        assert not database_unavailable(bug)

    present = [
        wrapped(IntegrityError, asyncpg.exceptions.UniqueViolationError("duplicate key")),
        wrapped(ProgrammingError, asyncpg.exceptions.UndefinedTableError("no such table")),
        asyncpg.exceptions.InterfaceError("cannot perform operation: another is in progress"),
        wrapped(OperationalError, Exception("database is locked")),  # SQLite, busy
        ValueError("not a database error"),
        FileNotFoundError("a file, not a connection"),
    ]
    for exc in present:
        assert not database_unavailable(exc), exc
