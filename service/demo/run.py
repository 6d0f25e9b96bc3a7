"""Running the demo: the directory, the register and the index set up, the scenarios counted,
the drill run, and what they show printed with the tokens to try the API with and, in
development, the people to sign in to the console as."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from service import migrate as migrations
from service.auth.principal import Principal
from service.crises.service import get_crisis
from service.db import make_engine, make_sessionmaker, session_scope, utcnow
from service.demo.scenarios import SCENARIOS, DrillSummary, run_drill
from service.demo.seed import (
    DemoPerson,
    DemoToken,
    issue_demo_tokens,
    seed_demo_people,
    seed_directory,
    seed_register,
)
from service.exposure.index import RegisterIndex
from service.exposure.schemas import Exposure, ZoneQuery
from service.exposure.service import exposure, zone_of
from service.flows import sitrep
from service.geowork import default_workers
from service.registry.protect import Protector
from service.settings import Environment, get_settings

console = Console()
CLI = Principal.system("cli")


def run_demo(*, people: int, host: str, port: int) -> None:
    """Set up the demo on the configured database and print what it shows; ``host`` and
    ``port``: where the API will listen, for the example request."""
    asyncio.run(_run(people=people, host=host, port=port))


async def _run(*, people: int, host: str, port: int) -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        await migrations.upgrade(engine)
        maker = make_sessionmaker(engine)
        async with session_scope(maker) as session:
            created, existing = await seed_directory(session, actor=CLI)
        with console.status(f"registering {people:,} synthetic workers (encrypted at rest)..."):
            async with session_scope(maker) as session:
                register = await seed_register(session, actor=CLI, workers=people)
        index = RegisterIndex(engine)
        await index.build()
        results: list[tuple[str, Exposure]] = []
        async with session_scope(maker) as session:
            for title, query in SCENARIOS:
                budget = default_workers().budget()
                zone = await zone_of(ZoneQuery.model_validate(query), budget)
                counted = await exposure(
                    session, actor=CLI, index=index, zone=zone, threshold=5, budget=budget
                )
                results.append((title, counted))
            tokens = await issue_demo_tokens(session, actor=CLI)
        # Passwords and TOTP secrets anyone can print again: for a developer's machine only.
        signing_in: list[DemoPerson] | None = None
        if settings.env is Environment.DEVELOPMENT:
            async with session_scope(maker) as session:
                signing_in = await seed_demo_people(
                    session,
                    actor=CLI,
                    sealer=Protector.from_settings(settings).sealer,
                    key=settings.blind_index_key,
                )
        drill = await run_drill(maker, index, actor=CLI)
        folder = beside_database(settings.database_url)
        sitrep_at = (
            await write_sitrep(
                maker,
                crisis_id=drill.crisis_id,
                directory=folder,
                threshold=settings.suppress_below,
            )
            if drill.crisis_id and folder is not None
            else None
        )
    finally:
        await engine.dispose()
    console.rule("[bold]Lifeline demo")
    console.print(f"directory: {created} organisations created, {existing} already there")
    console.print(
        f"register: {register['created']:,} workers registered, "
        f"{register['unchanged']:,} already there, {register['rejected']:,} rejected; "
        f"index of {len(index.index):,} located workers built in {index.built_in_s or 0:.2f} s"
    )
    for title, result in results:
        _print_exposure(title, result)
    _print_drill(drill)
    if sitrep_at is not None:
        console.print(
            f"the drill's situation report (PDF, EXERCISE on every page): {sitrep_at}",
            soft_wrap=True,
        )
    elif drill.crisis_id:
        console.print(
            f"the drill's situation report: GET /api/v1/crises/{drill.crisis_id}/sitrep?format=pdf",
            soft_wrap=True,
        )
    _print_people(signing_in, env=settings.env, host=host, port=port)
    _print_tokens(tokens, host=host, port=port)


def beside_database(database_url: str) -> Path | None:
    """The folder of the embedded database's file; None for a database server (or one in
    memory), which has no folder to write beside."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and database_url != prefix + ":memory:":
        return Path(database_url.removeprefix(prefix)).parent
    return None


async def write_sitrep(
    maker: async_sessionmaker[AsyncSession], *, crisis_id: str, directory: Path, threshold: int
) -> Path:
    """The crisis's situation report of today as the command line sees it, written as a PDF in
    ``directory``: where it is."""
    today = utcnow().date()
    async with session_scope(maker) as session:
        crisis = await get_crisis(session, crisis_id)
        report = await sitrep.gather(
            session, actor=CLI, crisis=crisis, day=today, threshold=threshold
        )
    pdf = await asyncio.to_thread(
        sitrep.render_pdf, report, created_at=utcnow().replace(microsecond=0)
    )
    where = directory / f"sitrep-{crisis_id}-{today.isoformat()}.pdf"
    await asyncio.to_thread(where.write_bytes, pdf)
    return where


def _print_people(
    people: list[DemoPerson] | None, *, env: Environment, host: str, port: int
) -> None:
    console.rule("[bold]Console sign-ins (development only)")
    if people is None:
        console.print(
            f"none: LIFELINE_ENV is {env.value}, and demo accounts with printed passwords are "
            "for development only; make people with `lifeline user create`",
            soft_wrap=True,
        )
        return
    # Plain print: Rich would fold a secret or a URI at the terminal's width.
    print(f"Sign in at http://{host}:{port}/console/sign-in with an e-mail, its password and")
    print("a code of its TOTP secret (an authenticator app takes the secret or the otpauth URI;")
    print("without one: lifeline user totp EMAIL prints the code of now, in development).")
    rows = [("role", "organisation", "e-mail", "password", "TOTP secret")]
    changed = "(changed by its holder)"
    rows += [
        (p.role.value, p.organization, p.email, p.password or changed, p.totp_secret)
        for p in people
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join([*(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)), row[4]]))
        if i:
            print(f"  {people[i - 1].otpauth_uri}")


def _print_tokens(tokens: list[DemoToken], *, host: str, port: int) -> None:
    console.rule("[bold]API tokens (shown once, stored hashed)")
    for t in tokens:
        console.print(f"{t.role.value:<18} {t.organization:<22} {t.secret}", soft_wrap=True)
    console.print("(each run revokes the tokens the previous run printed)")
    # Plain print, not Rich: Rich would fold a line at the terminal's width, inside the token.
    # Every line is shorter than 80 columns, so a copy takes each whole.
    print("Try:")
    print(f"TOKEN={tokens[0].secret}")
    print('curl -s -H "Authorization: Bearer $TOKEN" \\')
    print('  -H "Content-Type: application/json" \\')
    print("""  -d '{"circle": {"lat": 3.139, "lon": 101.687, "radius_m": 50000}}' \\""")
    print(f"  http://{host}:{port}/api/v1/exposure")
    print(f"The console: http://{host}:{port}/console/ (docs/console.md)")


def _print_drill(drill: DrillSummary) -> None:
    console.rule("[bold]Drill: a CAP flood warning over the Klang Valley, through the playbooks")
    console.print(
        f"crisis: {drill.title} ({drill.crisis_id}); {len(drill.tasks)} tasks, exercise only"
    )
    console.print(
        "a drill (exercise: true): GET /api/v1/crises lists it, marked, with the real crises "
        f"(?exercises=only: drills alone); its tasks: GET /api/v1/crises/{drill.crisis_id}/tasks",
        soft_wrap=True,
    )
    by_org: dict[str, int] = {}
    for org, _, _, _ in drill.tasks:
        by_org[org] = by_org.get(org, 0) + 1
    table = Table("organisation", "tasks")
    for org, count in sorted(by_org.items(), key=lambda kv: -kv[1]):
        table.add_row(org, str(count))
    console.print(table)
    console.print(
        f"coverage gaps (nobody in the directory fills the role): {len(drill.gaps)}, "
        f"in {sum(g.tasks for g in drill.gaps)} tasks left to the coordinators",
        soft_wrap=True,
    )
    for gap in drill.gaps:
        console.print(f"  {gap}", soft_wrap=True, markup=False)


def _print_exposure(title: str, result: Exposure) -> None:
    console.rule(f"[bold]{title}")
    console.print(
        f"{result.workers or 0:,} registered workers in the zone, with "
        f"{result.accompanying_family or 0:,} accompanying family members; "
        f"{result.vulnerable or 0:,} vulnerable. Countries: {', '.join(result.countries) or '-'}."
    )
    table = Table("nationality", "workers")
    for nationality, count in sorted(result.by_nationality.items(), key=lambda kv: -kv[1])[:8]:
        table.add_row(nationality, f"{count:,}")
    console.print(table)
    top = sorted(result.by_sector.items(), key=lambda kv: -kv[1])[:4]
    console.print("sectors: " + ", ".join(f"{k} {v:,}" for k, v in top))
    console.print(f"women {result.by_sex.get('F', 0):,}, men {result.by_sex.get('M', 0):,}")
