"""The ``lifeline`` command: serve, migrate, the directory, tokens, imports, keys, playbooks, and
the demo (from ``service.demo``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from playbooks.loader import validate_yaml
from service import migrate as migrations
from service.audit.chain import ChainRefused, Verdict, chain_key, chain_pending, verify
from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.auth.service import acting_for, create_token, list_tokens, revoke_token
from service.crises.service import get_crisis
from service.crypto import new_key_spec
from service.db import is_unique_violation, make_engine, make_sessionmaker, session_scope
from service.demo.command import register as register_demo
from service.directory.models import OrgKind
from service.directory.schemas import OrganizationCreate, OrganizationPublic
from service.directory.service import create_organization, get_organization, list_organizations
from service.errors import LifelineError
from service.locks import singleton
from service.observability import configure_logging
from service.registry.bulk_files import is_workbook
from service.registry.models import Worker
from service.registry.protect import Protector
from service.settings import Environment, get_settings
from service.users import totp
from service.users.passwords import new_password
from service.users.service import (
    create_user,
    disable_user,
    list_users,
    totp_secret,
    user_by_email,
)
from service.welfare.service import counts as welfare_counts

T = TypeVar("T")

app = typer.Typer(
    name="lifeline",
    help="Lifeline: crisis response coordination for migrant workers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
org_app = typer.Typer(help="The directory of organisations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys of personal data.", no_args_is_help=True)
user_app = typer.Typer(
    help="People's accounts for the console (e-mail, password, TOTP).", no_args_is_help=True
)
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
playbooks_app = typer.Typer(help="The contingency playbooks.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(playbooks_app, name="playbooks")
welfare_app = typer.Typer(help="Welfare checks of a crisis.", no_args_is_help=True)
app.add_typer(welfare_app, name="welfare")
audit_app = typer.Typer(
    help="The audit log's hash chain: chain the events, verify the chain.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

console = Console()
err = Console(stderr=True)
CLI = Principal.system("cli")


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """``work`` on the configured database; a refusal is printed as an error (exit code 2)."""

    async def run() -> T:
        engine = make_engine(get_settings().database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except LifelineError as exc:
        raise _fail(exc.detail) from exc


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in a transaction of its own (see ``_with_engine``)."""

    async def run(engine: AsyncEngine) -> T:
        async with session_scope(make_sessionmaker(engine)) as session:
            return await work(session)

    return _with_engine(run)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Bring the database to the latest schema (or to REVISION)."""

    async def run(engine: AsyncEngine) -> None:
        await migrations.upgrade(engine, revision)
        console.print(f"database at revision {await migrations.current_revision(engine)}")

    _with_engine(run)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    processes: Annotated[int, typer.Option(help="API processes")] = 1,
) -> None:
    """Run the API (``lifeline worker`` runs the background work). SIGTERM stops it gracefully:
    no new connection, the requests in flight finish (``LIFELINE_SHUTDOWN_GRACE_S`` at most),
    then exit 0."""
    settings = get_settings()
    # uvicorn sends itself the SIGTERM it caught once it has shut down, and under the default
    # action the process would end as killed by it (143): a shut-down asked for and done is a
    # success, and the orchestrator should record it as one.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_config=None,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # On SIGTERM uvicorn stops listening at once and lets the requests in flight finish,
        # for this long at most: without it a download held open by a slow client would
        # keep the process until the orchestrator kills it.
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run every job once, then stop")] = False,
) -> None:
    """Run the background work (retention, housekeeping, the audit chain; feeds and playbooks as
    they come; each crisis's situation report of the day kept)."""
    # Here rather than at the top: the worker loads the feeds, the crisis pass and the exposure
    # engine (about 0.3 s), which no other command and no --help needs.
    from service.worker import (
        audit_jobs,
        crisis_jobs,
        feed_jobs,
        housekeeping_jobs,
        message_jobs,
        run_forever,
        run_once,
        sitrep_jobs,
    )

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)

    async def one_pass(engine: AsyncEngine) -> dict[str, str]:
        jobs = (
            housekeeping_jobs(settings)
            + audit_jobs(settings, engine)
            + feed_jobs(settings, engine)
            + crisis_jobs(engine)
            + sitrep_jobs(settings)
            + message_jobs(settings, engine)
        )
        return await run_once(engine, jobs)

    if once:
        console.print_json(data=_with_engine(one_pass))
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_forever(settings))


@org_app.command("create")
def org_create(
    slug: Annotated[str, typer.Option(help="Stable short name, e.g. phl-embassy-kl")],
    name: Annotated[str, typer.Option(help="Full name")],
    kind: Annotated[OrgKind, typer.Option(help="Kind of organisation")],
    country: Annotated[str, typer.Option(help="Where it sits (ISO 3166-1 alpha-3)")],
    represents: Annotated[str | None, typer.Option(help="Whose nationals it serves")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Countries it covers, a,b,c")] = None,
    acts_for: Annotated[str | None, typer.Option(help="Consular cooperation: a,b,c")] = None,
) -> None:
    """Add an organisation to the directory and print it as JSON."""
    try:
        data = OrganizationCreate(
            slug=slug,
            name=name,
            kind=kind,
            country=country,
            represents=represents,
            jurisdiction=_split(jurisdiction),
            acts_for=_split(acts_for),
        )
    except ValidationError as exc:
        raise _fail(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from exc

    async def work(session: AsyncSession) -> str:
        org, _ = await create_organization(session, actor=CLI, data=data)
        return OrganizationPublic.model_validate(org).model_dump_json(indent=2)

    print(_with_session(work))


@org_app.command("list")
def org_list() -> None:
    """List the directory."""

    async def work(session: AsyncSession) -> Table:
        table = Table("slug", "kind", "country", "represents", "id")
        for org in (await list_organizations(session, limit=10_000)).items:
            table.add_row(org.slug, org.kind, org.country, org.represents or "", org.id)
        return table

    console.print(_with_session(work))


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option(help="Organisation id or slug")],
    role: Annotated[Role, typer.Option(help="The token's role")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "",
) -> None:
    """Make a token and print it. It is shown this once: only its hash is kept.

    The operator's path: any role for any organisation (a new organisation's first
    administrator), audited as an issue for another organisation with the channel cli."""

    async def work(session: AsyncSession) -> str:
        organization = await get_organization(session, ref=org)
        issued = await create_token(
            session, actor=CLI, organization=organization, role=role, name=name
        )
        return issued.secret

    print(_with_session(work))


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id")]) -> None:
    """Revoke a token: the API refuses it within LIFELINE_TOKEN_CACHE_S (1 s by default)."""

    async def work(session: AsyncSession) -> str:
        token = await revoke_token(session, actor=CLI, token_id=token_id)
        return f"revoked {token.id} ({token.prefix}…)"

    console.print(_with_session(work))


@token_app.command("list")
def token_list(
    org: Annotated[
        str | None, typer.Option(help="Only this organisation's tokens (id or slug)")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include revoked tokens")] = False,
) -> None:
    """List tokens: id, organisation, role, name, prefix, creation and revocation.

    Never a secret nor its hash. The id is what ``token revoke`` takes."""

    async def work(session: AsyncSession) -> Table:
        only = (await get_organization(session, ref=org)).id if org else None
        slugs = {o.id: o.slug for o in (await list_organizations(session, limit=100_000)).items}
        table = Table("id", "organisation", "role", "name", "prefix", "created", "revoked")
        cursor: str | None = None
        while cursor != "":
            page = await list_tokens(session, limit=500, cursor=cursor, organization_id=only)
            cursor = page.next_cursor or ""
            for t in page.items:
                if t.revoked_at is not None and not show_all:
                    continue
                table.add_row(
                    t.id,
                    slugs.get(t.organization_id, t.organization_id),
                    t.role,
                    t.name,
                    f"{t.prefix}…",
                    f"{t.created_at:%Y-%m-%d %H:%M}",
                    f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
                )
        return table

    # As wide as the rows, so that an id is never cut or folded.
    Console(width=10_000).print(_with_session(work))


@user_app.command("create")
def user_create(
    org: Annotated[str, typer.Option(help="Organisation id or slug")],
    role: Annotated[Role, typer.Option(help="The person's role (not integration)")],
    email: Annotated[str, typer.Option(help="The e-mail they sign in with")],
    name: Annotated[str, typer.Option(help="Their name, as the console shows it")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Make a person's account and print a one-time password for them (or take one from stdin
    with --password-stdin). They set up their second factor at their first sign-in."""
    password = typer.get_text_stream("stdin").readline().rstrip("\r\n") if password_stdin else None

    async def work(session: AsyncSession) -> tuple[str, bool]:
        organization = await get_organization(session, ref=org)
        user, created = await create_user(
            session,
            actor=CLI,
            organization=organization,
            role=role,
            email=email,
            display_name=name,
            password=password or generated,
            one_time=password is None,
        )
        return user.id, created

    generated = new_password()
    user_id, created = _with_session(work)
    if not created:
        err.print(f"{user_id} exists already with this organisation and role: unchanged")
        return
    err.print(f"created user {user_id}")
    if password is None:
        print(generated)


@user_app.command("list")
def user_list(
    org: Annotated[str | None, typer.Option(help="Only this organisation's (id or slug)")] = None,
) -> None:
    """List people: id, organisation, role, e-mail, name, second factor, last sign-in, disabled."""

    async def work(session: AsyncSession) -> Table:
        only = (await get_organization(session, ref=org)).id if org else None
        slugs = {o.id: o.slug for o in (await list_organizations(session, limit=100_000)).items}
        table = Table(
            "id", "organisation", "role", "e-mail", "name", "2FA", "last sign-in", "disabled"
        )
        cursor: str | None = None
        while cursor != "":
            page = await list_users(session, limit=500, cursor=cursor, organization_id=only)
            cursor = page.next_cursor or ""
            for u in page.items:
                table.add_row(
                    u.id,
                    slugs.get(u.organization_id, u.organization_id),
                    u.role,
                    u.email,
                    u.display_name,
                    "yes" if u.totp_enrolled_at else "no",
                    f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "",
                    f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else "",
                )
        return table

    Console(width=10_000).print(_with_session(work))


@user_app.command("disable")
def user_disable(user_id: Annotated[str, typer.Argument(help="The user's id")]) -> None:
    """Disable an account: its sessions end at once and it signs in no more."""

    async def work(session: AsyncSession) -> str:
        user = await disable_user(session, actor=CLI, user_id=user_id)
        return f"disabled {user.id}"

    console.print(_with_session(work))


@user_app.command("totp")
def user_totp(email: Annotated[str, typer.Argument(help="The e-mail they sign in with")]) -> None:
    """Print a person's TOTP code of now and the seconds it has left: development only, so that
    the demo's people sign in without a phone."""
    settings = get_settings()
    if settings.env is not Environment.DEVELOPMENT:
        raise _fail(
            f"lifeline user totp is for development only (LIFELINE_ENV is {settings.env.value}): "
            "a person's code comes from their authenticator app"
        )

    async def work(session: AsyncSession) -> str | None:
        user = await user_by_email(session, email)
        if user is None or user.totp_enrolled_at is None:
            return None
        record(
            session,
            actor=CLI,
            action="user.totp_code_shown",
            subject_type="user",
            subject_id=user.id,
        )
        return totp_secret(user, Protector.from_settings(settings).sealer)

    secret = _with_session(work)
    if secret is None:
        raise _fail(f"no account of {email} with its second factor set up")
    code, left = totp.current(secret, unix_s=time.time())
    err.print(f"good for {left} s more, once (a code used already: wait for the next)")
    print(code)


@import_app.command("workers")
def import_workers(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file")],
    org: Annotated[
        str | None, typer.Option(help="Organisation the registrations are made for (id or slug)")
    ] = None,
) -> None:
    """Register workers from a CSV or XLSX file, with a progress bar. Safe to run twice.

    \b
    The first row names the columns, in any order.
    Required: nationality, lat, lon.
    Optional: source (ministry_import when absent or empty), given_name,
    family_name, sex, birth_date, document_number, phone, languages, sector,
    employer, recruitment_agency, country,
    accompanying_family, vulnerabilities, documentation_status,
    international_protection, share_with_embassy, share_with_humanitarian,
    legal_basis, verified, stay_registered, accept_flagged_location.
    Lists (languages, vulnerabilities) are separated by ";". Unknown
    columns are reported and ignored. A row for someone already registered
    changes only the columns the file has. The README describes each column.
    """
    # Here rather than at the top: the import loads the boundaries it locates people in
    # (about 0.5 s), which no other command and no --help needs.
    from service.registry.bulk import import_workers as run_import
    from service.registry.locate import default_locator

    content = file.read_bytes()
    # The bar's length: the lines (LF, or CR alone), less the header; a workbook's rows are
    # not known before it is read, so the bar then only counts.
    rows = (
        None
        if is_workbook(content, file.name)
        else max(content.count(b"\n"), content.count(b"\r"), 2) - 1
    )
    settings = get_settings()

    async def work(session: AsyncSession) -> dict[str, object]:
        actor = CLI
        if org:
            organization = await get_organization(session, ref=org)
            actor = acting_for(organization, role=Role.ADMIN, channel="cli")
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("importing", total=rows)
            report = await run_import(
                session,
                actor=actor,
                protector=Protector.from_settings(settings),
                locator=default_locator(),
                content=content,
                filename=file.name,
                progress=lambda n: progress.advance(task, n),
            )
        return {
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "errors": report.errors,
        }

    try:
        print(json.dumps(_with_session(work), indent=2))
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise _fail(
            "Another registration wrote one of these people first; nothing was imported. "
            "Run the import again"
        ) from exc


@keys_app.command("new")
def keys_new(key_id: Annotated[str, typer.Option(help="Id of the new key")] = "k1") -> None:
    """Print a fresh key entry for LIFELINE_ENCRYPTION_KEYS (put it first to make it primary)."""
    print(new_key_spec(key_id))


@keys_app.command("rotate")
def keys_rotate(batch: Annotated[int, typer.Option(help="Rows per transaction")] = 5000) -> None:
    """Re-seal every personal field sealed under an older key with the primary key."""
    protector = Protector.from_settings(get_settings())

    async def run(engine: AsyncEngine) -> int:
        resealed, last = 0, 0
        maker = make_sessionmaker(engine)
        while True:
            async with session_scope(maker) as session:
                query = select(Worker).where(col(Worker.pk) > last).order_by(col(Worker.pk))
                rows = (await session.exec(query.limit(batch))).all()
                if not rows:
                    return resealed
                for worker in rows:
                    if protector.reseal(worker):
                        session.add(worker)
                        resealed += 1
                last = rows[-1].pk or last
                record(session, actor=CLI, action="keys.rotate", detail={"up_to_pk": last})

    count = _with_engine(run)
    console.print(f"re-sealed {count} records under key {protector.sealer.primary_key_id}")


@playbooks_app.command("validate")
def playbooks_validate(
    folder: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=True, help="A playbook file or a folder of them"),
    ],
) -> None:
    """Check playbook YAML files; each problem is printed with its file and line."""
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else [folder]
    bad = 0
    for file in files:
        playbook, issues = validate_yaml(file.read_text(encoding="utf-8"), file.name)
        if playbook is None:
            bad += 1
            for issue in issues:
                err.print(f"{file}:{issue}")
        else:
            console.print(f"{file}: ok ({playbook.key}, {len(playbook.tasks)} tasks)")
    if bad:
        raise typer.Exit(code=1)


register_demo(app, serve=serve)


@welfare_app.command("counts")
def welfare_counts_command(
    crisis_id: Annotated[str, typer.Argument(help="The crisis's id")],
) -> None:
    """How many workers of the crisis have each welfare status (counts, no names)."""

    async def work(session: AsyncSession) -> Table:
        crisis = await get_crisis(session, crisis_id)
        found = await welfare_counts(session, actor=CLI, crisis=crisis, threshold=1)
        title = f"{crisis.title}{' (drill)' if crisis.exercise else ''}: {found['total']} recorded"
        table = Table("status", "workers", title=title)
        for status, n in sorted(found["by_status"].items()):
            table.add_row(status, str(n))
        return table

    console.print(_with_session(work))


#: The lock of the chaining pass: the worker's job "audit-chain" holds the same one.
_CHAIN_LOCK = "lifeline:audit-chain"


@audit_app.command("chain")
def audit_chain_command() -> None:
    """Chain every audit event not yet chained, now (the worker does it every minute)."""
    key = chain_key(get_settings())

    async def work(engine: AsyncEngine) -> str | None:
        async with singleton(engine, _CHAIN_LOCK) as mine:
            if not mine:
                return None
            run = await chain_pending(engine, key)
            return f"{run.chained} events chained; head {run.head_seq}:{run.head_hash}"

    try:
        said = _with_engine(work)
    except ChainRefused as exc:
        raise _fail(str(exc)) from exc
    if said is None:
        raise _fail("another process is chaining the audit log; try again when it is done")
    console.print(said, soft_wrap=True)


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter("SEQ:HASH, as a verify or the worker's log printed it")
    return int(seq), digest.lower()


@audit_app.command("verify")
def audit_verify_command(
    anchor: Annotated[
        str | None,
        typer.Option(
            help="SEQ:HASH of a head recorded earlier (a past verify, the worker's log): the "
            "chain must still hold that link"
        ),
    ] = None,
) -> None:
    """Walk the audit chain and recompute every link: exit 0 when intact, 1 at the first broken
    link (a changed or deleted event, a removed or reordered link), naming it."""
    key, mark = chain_key(get_settings()), _anchor(anchor)

    async def work(engine: AsyncEngine) -> Verdict:
        return await verify(engine, key, anchor=mark)

    verdict = _with_engine(work)
    figures = (
        f"{verdict.chained} events chained, {verdict.unchained} not yet chained, "
        f"{verdict.seconds:.2f} s; head {verdict.head_seq}:{verdict.head_hash}"
    )
    if verdict.broken is not None:
        err.print(f"[red]audit chain broken:[/red] {verdict.broken}", soft_wrap=True)
        err.print(f"intact up to link {verdict.head_seq}: {figures}", soft_wrap=True)
        raise typer.Exit(code=1)
    console.print(f"audit chain intact: {figures}", soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
