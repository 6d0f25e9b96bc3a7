"""What the worker fault tests share: a fresh PostgreSQL database migrated by the project's own
command, real ``lifeline worker`` processes on it (started, killed with SIGKILL, stopped with
SIGTERM), the API in the test's process to seed it through the service's own routes, a slow
webhook receiver on the loopback that counts deliveries by event id, and looks at the database
that say what a worker is doing right now (a job's advisory lock held, a table being written in
a transaction not yet committed), so that a kill lands mid-job without sleeping blindly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.auth.permissions import Role
from service.directory.models import OrgKind
from service.locks import advisory_key
from service.settings import Environment, Settings
from tests.conftest import (
    BACKENDS,
    POSTGRES_URL,
    bearer,
    make_org_in,
    make_token_in,
    settings_for,
)

ROOT = Path(__file__).resolve().parents[2]
#: The marks of every worker fault test: PostgreSQL only (its advisory locks and ``pg_locks``
#: are what the tests watch), left out when the run leaves PostgreSQL out.
FAULTS = [
    pytest.mark.faults,
    pytest.mark.skipif(
        "postgresql" not in BACKENDS, reason="the worker fault tests run on PostgreSQL"
    ),
]
KUALA_LUMPUR = (3.139, 101.6869)
CAP_XML = {"Content-Type": "application/cap+xml"}


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class World:
    """A database of the test's own and the settings every process on it shares."""

    url: str
    tmp: Path
    settings: Settings
    drill_file: Path

    @property
    def dsn(self) -> str:
        return _dsn(self.url)

    def env(self, **more: str) -> dict[str, str]:
        """The environment of a ``lifeline`` process on this database: the same keys as the
        test's own app, no feeds, the loopback allowed as a webhook receiver."""
        s = self.settings
        values = {
            "LIFELINE_DATABASE_URL": self.url,
            "LIFELINE_ENV": s.env.value,
            "LIFELINE_ENCRYPTION_KEYS": s.encryption_keys,
            "LIFELINE_BLIND_INDEX_KEY": s.blind_index_key,
            "LIFELINE_FEEDS_FILE": str(self.tmp / "feeds.json"),
            "LIFELINE_WEBHOOK_ALLOW_HOSTS": s.webhook_allow_hosts,
            "LIFELINE_MESSAGES_DRILL_FILE": str(self.drill_file),
            "LIFELINE_MESSAGES_DRILL_SECRET": s.messages_drill_secret,
            "LIFELINE_MESSAGES_IN_API": "false",
            "LIFELINE_CRISIS_PASS_INLINE": "false",
            "LIFELINE_LOG_JSON": "true",
        }
        environ = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
        return {**environ, **values, **more}

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def value(self, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    def drilled(self) -> Counter[str]:
        """The drill gateway's messages, counted by their key (the outbox row's id)."""
        if not self.drill_file.exists():
            return Counter()
        lines = self.drill_file.read_text(encoding="utf-8").splitlines()
        return Counter(json.loads(line)["id"] for line in lines if line.strip())


@asynccontextmanager
async def fresh_database(tmp: Path, **settings: Any) -> AsyncIterator[World]:
    """``faults_<random>`` on the local server, migrated by ``lifeline migrate``, dropped at the
    end whoever is still connected."""
    name = f"faults_{uuid.uuid4().hex[:12]}"
    server = _dsn(POSTGRES_URL)
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    values = {"env": Environment.DEVELOPMENT, "webhook_allow_hosts": "127.0.0.1", **settings}
    world = World(
        url=url,
        tmp=tmp,
        settings=settings_for(url).model_copy(update=values),
        drill_file=tmp / "drill.jsonl",
    )
    (tmp / "feeds.json").write_text("[]", encoding="utf-8")
    try:
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service.cli",
            "migrate",
            env=world.env(),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await migrate.communicate()
        assert migrate.returncode == 0, out.decode()
        yield world
    finally:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


class WorkerProcess:
    """One ``lifeline worker`` (``python -m service.cli worker``), its log in a file."""

    def __init__(self, world: World, name: str, **env: str) -> None:
        self.world, self.name, self.extra = world, name, env
        self.log = world.tmp / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        out = self.log.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.cli",
                "worker",
                env=self.world.env(**self.extra),
                cwd=ROOT,
                stdout=out,
                stderr=out,
            )
        finally:
            out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, a crash as the operating system makes it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, within: float) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), within)

    async def stop(self) -> None:
        """The end of a test: whatever state it is in, gone."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    def lines(self) -> list[dict[str, Any]]:
        """Its JSON log lines."""
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def outcomes(self, job: str) -> list[str]:
        """What each run of ``job`` came to, as its log says."""
        return [
            str(line.get("outcome"))
            for line in self.lines()
            if line.get("msg") == "job ran" and line.get("job") == job
        ]


@asynccontextmanager
async def workers(world: World, *names: str, **env: str) -> AsyncIterator[list[WorkerProcess]]:
    """Worker processes started side by side, killed at the end if still running."""
    started: list[WorkerProcess] = []
    try:
        for name in names:  # one at a time: a start that fails stops those already started
            started.append(await WorkerProcess(world, name, **env).start())
        yield started
    finally:
        for process in started:
            await process.stop()


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    within: float,
    interval: float = 0.05,
    what: str = "the condition",
) -> float:
    """Poll ``check`` until it holds; the seconds it took. Fails the test past ``timeout``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what} did not hold within {within} s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


class Watcher:
    """One connection of the test's own, looking at what other backends hold: a job's advisory
    lock (``lifeline:<job>``), or a table written by a transaction not yet committed."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def job_running(self, job: str) -> bool:
        # A bigint key is held as two halves: classid the high 32 bits, objid the low.
        key = advisory_key(f"lifeline:{job}") & 0xFFFFFFFFFFFFFFFF
        held = await self.conn.fetchval(
            """SELECT count(*) FROM pg_locks
               WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND database = (
                   SELECT oid FROM pg_database WHERE datname = current_database())
               AND classid::bigint = $1 AND objid::bigint = $2""",
            key >> 32,
            key & 0xFFFFFFFF,
        )
        return bool(held)

    async def writing(self, table: str) -> bool:
        """Whether another backend holds a write lock on ``table`` (rows written in a
        transaction still open)."""
        held = await self.conn.fetchval(
            """SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
               WHERE c.relname = $1 AND l.mode = 'RowExclusiveLock' AND l.granted
               AND l.pid <> pg_backend_pid()""",
            table,
        )
        return bool(held)


@asynccontextmanager
async def watcher(world: World) -> AsyncIterator[Watcher]:
    conn = await asyncpg.connect(world.dsn)
    try:
        yield Watcher(conn)
    finally:
        await conn.close()


@dataclass
class Receiver:
    """A webhook receiver on the loopback, as a subscriber would run it: slow (``delay_s`` a
    request), answering 200, counting each delivery by its ``Lifeline-Event-Id``."""

    delay_s: float = 0.0
    received: Counter[str] = field(default_factory=Counter)
    url: str = ""

    @property
    def events(self) -> int:
        """Events received, each counted once however often it came (the receiver's dedupe)."""
        return len(self.received)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        # Counted as it arrives: a receiver acts on what it was sent even when the sender hangs
        # up before the answer (the sender then sends it again).
        self.received[headers.get(b"lifeline-event-id", b"").decode()] += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def receiving(delay_s: float = 0.0) -> AsyncIterator[Receiver]:
    receiver = Receiver(delay_s=delay_s)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    server = uvicorn.Server(
        uvicorn.Config(receiver, lifespan="off", log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn says it listens by a flag only)
            await asyncio.sleep(0.01)
        yield receiver
    finally:
        server.should_exit = True
        await serving
        sock.close()


@asynccontextmanager
async def api(world: World) -> AsyncIterator[FastAPI]:
    """The API in the test's process, on the world's database, to seed it with."""
    app = create_app(world.settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        yield app


def cap(identifier: str, centre: tuple[float, float] = KUALA_LUMPUR, half: float = 0.15) -> bytes:
    """A CAP exercise: a severe flood observed over a square around ``centre``."""
    lat, lon = centre
    ring = " ".join(
        f"{y},{x}"
        for y, x in [
            (lat - half, lon - half),
            (lat - half, lon + half),
            (lat + half, lon + half),
            (lat + half, lon - half),
            (lat - half, lon - half),
        ]
    )
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>met.test</sender><sent>2026-12-01T08:00:00+08:00</sent><status>Exercise</status>
<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Flood</event>
<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
<headline>Flash floods {identifier}</headline>
<area><areaDesc>{identifier}</areaDesc><polygon>{ring}</polygon></area></info></alert>""".encode()


#: Cities far enough apart that their alerts open crises of their own.
CITIES = {
    "kuala-lumpur": KUALA_LUMPUR,
    "penang": (5.4141, 100.3288),
    "johor-bahru": (1.4927, 103.7414),
}


@dataclass(frozen=True)
class Seeded:
    admin: str
    #: nationality → the consular officer's token of its embassy.
    officers: Mapping[str, str]
    #: The workers registered in each city.
    workers: Mapping[str, list[str]]


async def seed(
    app: FastAPI,
    *,
    cities: Mapping[str, tuple[float, float]] = CITIES,
    per_city: int = 12,
    nationalities: tuple[str, ...] = ("PHL", "IDN", "NPL"),
) -> Seeded:
    """The directory the playbooks ask for (each nationality's embassy and labour ministry, the
    host and origin national societies, a coordinating agency), and workers with phones in each
    city, registered through the API by their embassies."""
    admin = await make_token_in(app, Role.ADMIN, await make_org_in(app))
    await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS")
    officers = {}
    for nationality in nationalities:
        embassy = await make_org_in(app, OrgKind.EMBASSY, "MYS", represents=nationality)
        officers[nationality] = await make_token_in(app, Role.CONSULAR_OFFICER, embassy)
        await make_org_in(app, OrgKind.LABOUR_MINISTRY, nationality, represents=nationality)
        await make_org_in(app, OrgKind.NATIONAL_SOCIETY, nationality)
    registered: dict[str, list[str]] = {}
    n = 0
    async with client(app) as http:
        for city, (lat, lon) in cities.items():
            for i in range(per_city):
                nationality = nationalities[i % len(nationalities)]
                n += 1
                made = await http.post(
                    "/api/v1/workers",
                    json={
                        "nationality": nationality,
                        "given_name": f"Worker {n}",
                        "document_number": f"F{uuid.uuid4().hex[:10].upper()}",
                        "phone": f"+60 12 {n // 10000:03d} {n % 10000:04d}",
                        "location": {"lat": lat + i / 1000, "lon": lon},
                        "source": "embassy_registration",
                        "consent": {"share_with_embassy": True},
                    },
                    headers=bearer(officers[nationality]),
                )
                assert made.status_code == 201, made.text
                registered.setdefault(city, []).append(made.json()["id"])
    return Seeded(admin=admin, officers=officers, workers=registered)


@asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as http:
        yield http


async def push_alerts(app: FastAPI, token: str, cities: Mapping[str, tuple[float, float]]) -> None:
    """One CAP exercise over each city, stored and left pending for the worker's crisis pass."""
    async with client(app) as http:
        for city, centre in cities.items():
            pushed = await http.post(
                "/api/v1/alerts/cap",
                content=cap(f"{city}-{uuid.uuid4().hex[:6]}", centre),
                headers={**CAP_XML, **bearer(token)},
            )
            assert pushed.status_code in (200, 201), pushed.text


async def subscribe(app: FastAPI, token: str, url: str) -> str:
    """A subscription to every event type, for ``url``; its id."""
    from service.webhooks.service import EVENT_TYPES

    async with client(app) as http:
        made = await http.post(
            "/api/v1/webhooks",
            json={"url": url, "events": list(EVENT_TYPES)},
            headers=bearer(token),
        )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def duplicates(world: World) -> dict[str, list[asyncpg.Record]]:
    """Everything that should exist once and exists more often, by what makes it one."""
    queries = {
        "tasks": "SELECT crisis_id, key, count(*) FROM tasks GROUP BY 1, 2 HAVING count(*) > 1",
        "crises": "SELECT opened_by, count(*) FROM crises GROUP BY 1 HAVING count(*) > 1",
        "escalations": """SELECT task_id, count(*) FROM task_changes
            WHERE changes::jsonb ? 'escalated_to' GROUP BY 1 HAVING count(*) > 1""",
        "escalation events": """SELECT detail::jsonb ->> 'task_id', count(*) FROM crisis_events
            WHERE kind = 'task_escalated' GROUP BY 1 HAVING count(*) > 1""",
        "deliveries": """SELECT event_id, subscription_id, count(*) FROM webhook_deliveries
            GROUP BY 1, 2 HAVING count(*) > 1""",
        "messages": """SELECT check_id, worker_id, step, count(*) FROM messages_out
            WHERE check_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1""",
        "contacted": """SELECT s.crisis_id, s.worker_id, count(*) FROM welfare_events e
            JOIN welfare_statuses s ON s.id = e.status_id
            WHERE e.status = 'contacted' GROUP BY 1, 2 HAVING count(*) > 1""",
        "kept sitreps": """SELECT crisis_id, day, language, count(*) FROM sitreps
            GROUP BY 1, 2, 3 HAVING count(*) > 1""",
        "audit chain links": """SELECT event_id, count(*) FROM audit_chain
            GROUP BY 1 HAVING count(*) > 1""",
    }
    found = {}
    for name, query in queries.items():
        rows = await world.fetch(query)
        if rows:
            found[name] = rows
    return found


def square(centre: tuple[float, float], half: float = 0.15) -> dict[str, Any]:
    lat, lon = centre
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


async def declare(app: FastAPI, token: str, centre: tuple[float, float] = KUALA_LUMPUR) -> str:
    """A flood drill declared by hand over ``centre`` (its playbooks run in the request); its id."""
    async with client(app) as http:
        made = await http.post(
            "/api/v1/crises",
            json={
                "title": f"Flood drill {uuid.uuid4().hex[:6]}",
                "hazard": "flood",
                "severity": "severe",
                "exercise": True,
                "zones": square(centre),
            },
            headers=bearer(token),
        )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def start_check(app: FastAPI, crisis_id: str, token: str) -> str:
    """A welfare check of the crisis by the token's embassy (its outbox planned, nothing sent:
    the API does not send here); its id."""
    async with client(app) as http:
        made = await http.post(
            f"/api/v1/crises/{crisis_id}/welfare-checks", json={}, headers=bearer(token)
        )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def overdue_tasks(app: FastAPI, crisis_id: str, n: int) -> list[str]:
    """``n`` tasks of the crisis for its first organisation, made by the service's own
    ``create_task``, each to be escalated after an hour, made two hours ago (the clock moved
    on: the creation time set back in the database). Their ids."""
    from sqlmodel import select as select_model

    from service.auth.principal import WORKER
    from service.crises.models import Crisis
    from service.db import session_scope
    from service.directory.models import Organization
    from service.tasks.service import create_task

    ids = []
    async with session_scope(app.state.sessionmaker) as session:
        crisis = await session.get(Crisis, crisis_id)
        assert crisis is not None
        org = (await session.exec(select_model(Organization).limit(1))).one()
        for i in range(n):
            task = await create_task(
                session,
                crisis=crisis,
                actor=WORKER,
                values={
                    "key": f"faults:overdue:{i}",
                    "title": f"Overdue task {i}",
                    "assignee_org": org.id,
                    "escalate_after_s": 3600,
                },
            )
            ids.append(task.id)
    conn = await asyncpg.connect(_dsn(app.state.settings.database_url))
    try:
        await conn.execute(
            "UPDATE tasks SET created_at = created_at - interval '2 hours' WHERE id = ANY($1)", ids
        )
    finally:
        await conn.close()
    return ids
