"""The console under a national register, through HTTP on PostgreSQL.

    python bench/console.py                    # 1,000,000 people
    python bench/console.py --people 100000    # a quicker run

1. A database of its own (created, and dropped at the end unless ``--keep``): the demo's
   directory and register of ``--people`` people (``service.demo``'s own seeding, sealing
   included), the demo's drill (its CAP alert over Kuala Lumpur, the crisis it opens, the tasks
   its playbooks make), tasks up to ``--tasks`` in that crisis, and two console accounts: an
   administrator of the coordination and a consular officer of the Philippine embassy.
2. The server (``lifeline serve``, two processes); each account signs in through the sign-in
   pages: its password, then a TOTP code made with ``service.users.totp`` from the secret the
   enrolment page shows.
3. Every GET page of the console's registry (``service.console.site.SECTIONS``), ``--requests``
   times after two warm-up requests, by the officer when its role may open the page and by the
   administrator otherwise: median and 95th percentile, each against ``/healthz`` measured the
   same way in the same run. The times are taken by the client on the loopback, one request at
   a time on a kept-alive connection: the server's time and the loopback's, which ``/healthz``
   shows.
4. The crisis page's transfer: its HTML and every static file it references (scripts,
   stylesheets, their images), bytes as served (and uncompressed), and the map layers its script
   fetches besides.
5. A task change made in the console (the administrator's form) reaching the officer's task
   board stream (server-sent events): seconds from the form's submission to the ``refresh``,
   ``--changes`` times; the server's two processes each poll the database, so the change and
   the stream are often in different processes.

No timed assertion: the figures are printed against the targets (a page's median < 150 ms and
95th percentile < 400 ms, the crisis page < 500 KB, a board's update < 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from fastapi.routing import APIRoute  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402
from sqlmodel import select  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from bench.common import NO_REQUEST_LIMITS, wait_until_ready  # noqa: E402
from service import migrate  # noqa: E402
from service.auth.dependencies import route_permission  # noqa: E402
from service.auth.permissions import Role, allowed  # noqa: E402
from service.auth.principal import Principal  # noqa: E402
from service.console.site import SECTIONS  # noqa: E402
from service.crises.models import Crisis  # noqa: E402
from service.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from service.demo.scenarios import run_drill  # noqa: E402
from service.demo.seed import seed_directory, seed_register  # noqa: E402
from service.directory.service import get_organization  # noqa: E402
from service.exposure.index import RegisterIndex  # noqa: E402
from service.tasks.models import Task  # noqa: E402
from service.tasks.service import create_task  # noqa: E402
from service.users import totp  # noqa: E402
from service.users.service import create_user  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DB = "bench_console"
URL = f"postgresql+asyncpg://{PG.split('://', 1)[1]}/{DB}"
PORT = 8771
BASE = f"http://127.0.0.1:{PORT}"
CLI = Principal.system("cli")
PASSWORD = "bench console passphrase"
#: The tasks added to the drill's crisis go to these organisations in turn.
HOLDERS = ("phl-embassy-kl", "mys-red-crescent", "phl-dmw", "iom-malaysia")
#: Targets, in milliseconds and bytes.
MEDIAN_MS, P95_MS, CRISIS_BYTES, UPDATE_S = 150, 400, 500_000, 2.0


@dataclass(frozen=True)
class Account:
    email: str
    role: Role


ADMIN = Account("admin@bench-console.example", Role.ADMIN)
OFFICER = Account("officer@bench-console.example", Role.CONSULAR_OFFICER)


async def prepare(people: int, tasks: int) -> str:
    """The database, seeded; the crisis's id."""
    server = await asyncpg.connect(PG + "/postgres")
    await server.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await server.execute(f"CREATE DATABASE {DB}")
    await server.close()
    engine = make_engine(URL)
    try:
        await migrate.upgrade(engine)
        maker = make_sessionmaker(engine)
        started = time.perf_counter()
        async with session_scope(maker) as session:
            await seed_directory(session, actor=CLI)
            register = await seed_register(session, actor=CLI, workers=people)
        print(
            f"  register: {register['created']:,} people seeded in "
            f"{time.perf_counter() - started:.0f} s ({register['rejected']:,} rejected)"
        )
        index = RegisterIndex(engine)
        await index.build()
        drill = await run_drill(maker, index, actor=CLI)
        if drill.crisis_id is None:
            raise SystemExit(f"the drill opened no crisis: {drill.title}")
        made = await add_tasks(maker, drill.crisis_id, tasks)
        print(f"  crisis: the drill's, {len(drill.tasks):,} tasks from its playbooks + {made:,}")
        async with session_scope(maker) as session:
            for account, slug in ((ADMIN, "lifeline-coordination"), (OFFICER, "phl-embassy-kl")):
                await create_user(
                    session,
                    actor=CLI,
                    organization=await get_organization(session, ref=slug),
                    role=account.role,
                    email=account.email,
                    display_name=f"Bench {account.role.value}",
                    password=PASSWORD,
                    one_time=False,
                )
    finally:
        await engine.dispose()
    return drill.crisis_id


async def add_tasks(
    maker: async_sessionmaker[AsyncSession], crisis_id: str, total: int, batch: int = 500
) -> int:
    """Tasks made by the tasks domain (each with its timeline entry), up to ``total``."""
    async with session_scope(maker) as session:
        crisis = await session.get(Crisis, crisis_id)
        assert crisis is not None
        existing = len(
            (await session.exec(select(Task.id).where(Task.crisis_id == crisis_id))).all()
        )
        holders = [(await get_organization(session, ref=slug)).id for slug in HOLDERS]
    missing = max(0, total - existing)
    for start in range(0, missing, batch):
        async with session_scope(maker) as session:
            crisis = await session.get(Crisis, crisis_id)
            assert crisis is not None
            for n in range(start, min(missing, start + batch)):
                await create_task(
                    session,
                    crisis=crisis,
                    actor=CLI,
                    values={
                        "key": f"bench.console.{n}",
                        "title": f"Check on the workers of site {n}",
                        "assignee_org": holders[n % len(holders)],
                    },
                )
    return missing


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    if not found:
        raise SystemExit(f"no {name} field in the page")
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, account: Account) -> None:
    """Password, then the second factor: the enrolment page shows the secret, and the code of
    now is computed from it as an authenticator app would."""
    form = await client.get("/console/sign-in")
    answer = await client.post(
        "/console/sign-in",
        data={
            "email": account.email,
            "password": PASSWORD,
            "csrf_token": hidden(form.text, "csrf_token"),
        },
    )
    if answer.status_code != 303:
        raise SystemExit(f"sign-in refused: {answer.status_code}")
    page = await client.get("/console/sign-in/second-factor")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    if not secret:
        raise SystemExit("the second-factor page shows no secret to enrol")
    code = totp.code_at(secret.group(1), totp.step_of(time.time()))
    done = await client.post(
        "/console/sign-in/second-factor",
        data={"code": code, "csrf_token": hidden(page.text, "csrf_token")},
    )
    if done.status_code != 200:
        raise SystemExit(f"second factor refused: {done.status_code}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


async def timed(
    call: Callable[[], Awaitable[httpx.Response]], requests: int
) -> tuple[float, float, httpx.Response]:
    """Median and 95th percentile in ms of ``requests`` calls after two warm-up calls, and the
    last answer."""
    for _ in range(2):
        await call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 0.95), answer


def console_pages() -> list[APIRoute]:
    """Every GET route of the console's registry, in its order."""
    return [
        route
        for section in SECTIONS
        for route in section.router.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    ]


async def page_figures(
    clients: dict[Role, httpx.AsyncClient], crisis: str, task: str, requests: int
) -> None:
    officer = clients[Role.CONSULAR_OFFICER]
    listed = await officer.get("/console/register")
    record = re.search(r'href="/console/register/([0-9a-f-]{36})"', listed.text)
    ids = {"/console/crises/{id}": crisis, "/console/tasks/{id}": task}
    if record:
        ids["/console/register/{id}"] = record.group(1)
    base_median, base_p95, _ = await timed(lambda: officer.get("/healthz"), requests)
    print(f"  {'page':<44} {'who':<8} {'median':>8} {'p95':>8} {'× /healthz':>11} {'size':>9}")
    print(
        f"  {'/healthz (baseline)':<44} {'':<8} {base_median:>6.1f}ms {base_p95:>6.1f}ms {1:>10.1f}×"
    )
    worst_median = worst_p95 = 0.0
    slowest = ""
    for route in console_pages():
        path = route.path
        if path == "/console/tasks/events":
            print(f"  {path:<44} {'officer':<8} {'(a stream: its update time below)':>30}")
            continue
        url = path
        for prefix, value in ids.items():
            url = url.replace(prefix, prefix.replace("{id}", value))
        permission = route_permission(route)
        assert permission is not None
        role = Role.CONSULAR_OFFICER if allowed(Role.CONSULAR_OFFICER, permission) else Role.ADMIN
        client = clients[role]

        def call(client: httpx.AsyncClient = client, url: str = url) -> Awaitable[httpx.Response]:
            return client.get(url)

        median, p95, answer = await timed(call, requests)
        if median > worst_median:
            worst_median, slowest = median, path
        worst_p95 = max(worst_p95, p95)
        who = "officer" if role is Role.CONSULAR_OFFICER else "admin"
        note = "" if answer.status_code == 200 else f"  (HTTP {answer.status_code})"
        print(
            f"  {path:<44} {who:<8} {median:>6.1f}ms {p95:>6.1f}ms "
            f"{median / base_median:>10.1f}× {len(answer.content) / 1000:>7,.1f}KB{note}"
        )
    print(
        f"  slowest page: {slowest}, median {worst_median:.0f} ms (target < {MEDIAN_MS}); "
        f"highest 95th percentile {worst_p95:.0f} ms (target < {P95_MS})"
    )


async def crisis_transfer(client: httpx.AsyncClient, crisis: str) -> None:
    """The crisis page and every static file it references, as a browser without a cache
    fetches them; what the stylesheets reference too (an upper bound: a browser fetches an
    image only when a rule using it applies)."""
    page_url = f"/console/crises/{crisis}"
    page = await client.get(page_url)
    wire, plain = page.num_bytes_downloaded, len(page.content)
    pending = re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page.text)
    seen: set[str] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = await client.get(url)
        wire, plain = wire + answer.num_bytes_downloaded, plain + len(answer.content)
        if url.endswith(".css"):
            for ref in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", answer.text):
                if not ref.startswith("data:"):
                    pending.append(urljoin(url, ref))
    layers = await client.get(f"{page_url}/map.json")
    print(
        f"  crisis page: {wire / 1000:,.0f} KB as served ({plain / 1000:,.0f} KB uncompressed), "
        f"HTML and {len(seen)} static files (target < {CRISIS_BYTES // 1000} KB); its map "
        f"layers {layers.num_bytes_downloaded / 1000:,.0f} KB besides"
    )


async def board_updates(
    admin: httpx.AsyncClient, officer: httpx.AsyncClient, tasks: list[str], changes: int
) -> None:
    """The administrator acknowledges tasks of the embassy in the console, one at a time; each
    time, how long until the embassy's board stream says ``refresh``."""
    delays = []
    async with officer.stream("GET", "/console/tasks/events", timeout=None) as stream:
        lines = stream.aiter_lines()
        first = await anext(lines)
        if not first.startswith("retry:"):
            raise SystemExit(f"not an event stream: {first!r}")
        await asyncio.sleep(1.5)  # each process's watch has read where it starts
        for task in tasks[:changes]:
            page = await admin.get(f"/console/tasks/{task}")
            started = time.perf_counter()
            answer = await admin.post(
                f"/console/tasks/{task}/status",
                data={
                    "status": "acknowledged",
                    "version": hidden(page.text, "version"),
                    "csrf_token": hidden(page.text, "csrf_token"),
                },
            )
            if answer.status_code != 303:
                raise SystemExit(
                    f"the change was refused: {answer.status_code} {answer.text[-600:]}"
                )
            async with asyncio.timeout(15):
                async for line in lines:
                    if line == "event: refresh":
                        break
            delays.append(time.perf_counter() - started)
            await asyncio.sleep(0.3)
    print(
        f"  board update, {len(delays)} changes: median {statistics.median(delays):.2f} s, "
        f"slowest {max(delays):.2f} s (target < {UPDATE_S:.0f} s; the watch polls once a second)"
    )


async def measure(crisis: str, requests: int, changes: int) -> None:
    clients: dict[Role, httpx.AsyncClient] = {}
    try:
        for account in (ADMIN, OFFICER):
            client = httpx.AsyncClient(base_url=BASE, timeout=120)
            clients[account.role] = client
            await sign_in(client, account)
        admin, officer = clients[Role.ADMIN], clients[Role.CONSULAR_OFFICER]
        board = await officer.get("/console/tasks")
        tasks = re.findall(r'href="/console/tasks/([0-9a-f-]{36})"', board.text)
        if len(tasks) < changes + 1:
            raise SystemExit("the embassy's board holds too few tasks")
        await page_figures(clients, crisis, tasks[-1], requests)
        await crisis_transfer(officer, crisis)
        await board_updates(admin, officer, tasks, changes)
    finally:
        for client in clients.values():
            await client.aclose()


async def drop() -> None:
    server = await asyncpg.connect(PG + "/postgres")
    await server.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=30, help="requests a page")
    parser.add_argument("--changes", type=int, default=10, help="task changes to follow")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    print(
        f"# Console: {args.people:,} people, a crisis of {args.tasks:,} tasks, "
        f"{args.requests} requests a page"
    )
    crisis = asyncio.run(prepare(args.people, args.tasks))
    env = {
        **os.environ,
        "LIFELINE_DATABASE_URL": URL,
        "LIFELINE_LOG_LEVEL": "WARNING",
        **NO_REQUEST_LIMITS,
        # The lists of people are rate-limited per person (1 a second, bursts of 30): the
        # bench asks for them faster than anyone reads them.
        "LIFELINE_PEOPLE_LIST_RATE": "1000",
        "LIFELINE_PEOPLE_LIST_BURST": "1000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(PORT), "--processes", "2"],
        env=env,
        cwd=ROOT,
    )
    try:
        with httpx.Client(base_url=BASE, timeout=30) as client:
            started = time.perf_counter()
            wait_until_ready(client, seconds=900, every=0.5)
            print(
                f"  server ready (its register index built) in {time.perf_counter() - started:.0f} s"
            )
        asyncio.run(measure(crisis, args.requests, args.changes))
    finally:
        server.terminate()
        server.wait(timeout=60)
        if not args.keep:
            asyncio.run(drop())


if __name__ == "__main__":
    main()
