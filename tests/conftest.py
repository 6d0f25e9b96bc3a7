"""Shared fixtures: every database test runs on SQLite and on PostgreSQL, built by the migrations.

Choose backends with ``LIFELINE_TEST_BACKENDS`` (default ``sqlite,postgresql``) and the server with
``LIFELINE_TEST_POSTGRES_URL``.

Isolation (docs/decisions/0009-test-isolation.md): most tests share one migrated database per
backend and see only their own data, made under unique names (``unique``); a test whose answer
depends on everything in the database (counts in a zone, a crisis an alert may join) builds a
world of its own with ``Databases.create``, a copy of a migrated template that costs a file copy
on SQLite and ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. The suite runs in random order.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from click.testing import Result
from fastapi import FastAPI
from typer.testing import CliRunner

from service.app import create_app
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.auth.service import create_token
from service.cli import app as cli_app
from service.db import make_engine, session_scope
from service.directory.models import OrgKind
from service.directory.schemas import OrganizationCreate
from service.directory.service import create_organization
from service.migrate import upgrade
from service.settings import Environment, Settings, get_settings

BACKENDS = [
    b.strip() for b in os.environ.get("LIFELINE_TEST_BACKENDS", "sqlite,postgresql").split(",")
]
POSTGRES_URL = os.environ.get(
    "LIFELINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
#: Where the drill gateway writes this run's messages (each process its own file).
DRILL_FILE = Path(tempfile.gettempdir()) / f"lifeline-test-drill-{uuid.uuid4().hex}.jsonl"


class Databases:
    """Makes and drops throwaway databases on either backend, migrated or empty."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []
        #: backend → a migrated database nobody connects to, copied for each new one.
        self.templates: dict[str, str] = {}

    def _server_dsn(self) -> str:
        return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")

    def _url(self, backend: str, name: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / (name + '.db')}"
        return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name

    async def create(self, backend: str, *, migrated: bool = True) -> str:
        """A new database: a copy of the migrated template, or empty (``migrated=False``)."""
        name = f"lifeline_test_{uuid.uuid4().hex[:12]}"
        template = await self._template(backend) if migrated else None
        if backend == "sqlite":
            if template is not None:
                shutil.copyfile(self.tmp / (template + ".db"), self.tmp / (name + ".db"))
            return self._url(backend, name)
        conn = await asyncpg.connect(self._server_dsn())
        try:
            suffix = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await conn.close()
        self.created.append(name)
        return self._url(backend, name)

    async def _template(self, backend: str) -> str:
        if backend not in self.templates:
            name = f"lifeline_template_{uuid.uuid4().hex[:12]}"
            if backend == "postgresql":
                conn = await asyncpg.connect(self._server_dsn())
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await conn.close()
                self.created.append(name)
            engine = make_engine(self._url(backend, name))
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
            self.templates[backend] = name
        return self.templates[backend]

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(self._server_dsn())
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def database_url(databases: Databases, backend: str) -> str:
    """A database at the latest migration, shared by the session's tests on this backend."""
    return await databases.create(backend)


def settings_for(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env=Environment.TEST,
        encryption_keys="k1:" + "A" * 43 + "=",
        blind_index_key="test-blind-index-key",
        log_json=True,
        # Tests run the crisis pass themselves, to see each outcome.
        crisis_pass_inline=False,
        # The webhook tests' receiver, an internal one as a deployment would allow it.
        webhook_allow_hosts="receiver.test",
        messages_drill_secret="test-drill-secret",
        messages_drill_file=str(DRILL_FILE),
        messages_hotline="+60 3 1234 5678",
        # Tests send the outbox themselves, to see each outcome.
        messages_in_api=False,
        # The suite is one address with few tokens, many of its requests refused on purpose:
        # limits far above it (tests/service/auth/test_rate_limits.py sets them low).
        token_requests_per_minute=1_000_000,
        address_requests_per_minute=10_000_000,
        auth_failures_per_minute=1_000_000,
    )


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(database_url), configure_logs=False)
    async with application.router.lifespan_context(application):
        await application.state.register_index.ready.wait()
        yield application


@pytest.fixture
async def own_app(databases: Databases, backend: str) -> AsyncIterator[FastAPI]:
    """An app on a database of its own, for a test whose answer depends on all that is in it."""
    application = create_app(settings_for(await databases.create(backend)), configure_logs=False)
    async with application.router.lifespan_context(application):
        await application.state.register_index.ready.wait()
        yield application


def _cli_env(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    settings = settings_for(url)
    monkeypatch.setenv("LIFELINE_DATABASE_URL", url)
    monkeypatch.setenv("LIFELINE_ENCRYPTION_KEYS", settings.encryption_keys)
    monkeypatch.setenv("LIFELINE_BLIND_INDEX_KEY", settings.blind_index_key)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The command line's environment, on the shared database of the backend."""
    yield from _cli_env(database_url, monkeypatch)


@pytest.fixture
async def own_database_url(databases: Databases, backend: str) -> str:
    """A migrated database of the test's own."""
    return await databases.create(backend)


@pytest.fixture
def own_cli_env(own_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The command line's environment, on a database of the test's own: for a command whose
    output depends on all that is in the database (the demo's drill joins an open crisis)."""
    yield from _cli_env(own_database_url, monkeypatch)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as c:
        yield c


async def run_cli(args: Sequence[str], **options: object) -> Result:
    """The command line, run in a thread. It runs event loops of its own; meanwhile the suite's
    loop, and the apps on it that serve the same databases, keep running: a test that ran the
    command line in its own thread would pause them, and a transaction of theirs left open
    would hold what the command waits for."""
    return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), **options)  # type: ignore[arg-type]


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def make_org_in(
    app: FastAPI,
    kind: OrgKind = OrgKind.INTERNATIONAL_ORG,
    country: str = "MYS",
    represents: str | None = None,
    **fields: object,
) -> str:
    """Create an organisation directly (not through the API); return its id."""
    if represents is None and kind in {OrgKind.EMBASSY, OrgKind.CONSULATE, OrgKind.LABOUR_MINISTRY}:
        represents = "PHL"
    data = OrganizationCreate.model_validate(
        {
            "slug": unique("org"),
            "name": "Test organisation",
            "kind": kind,
            "country": country,
            "represents": represents,
            **fields,
        }
    )
    async with session_scope(app.state.sessionmaker) as session:
        org, _ = await create_organization(session, actor=Principal.system("cli"), data=data)
        return org.id


async def make_token_in(app: FastAPI, role: Role, org_id: str) -> str:
    from service.directory.models import Organization

    async with session_scope(app.state.sessionmaker) as session:
        org = await session.get(Organization, org_id)
        assert org is not None
        issued = await create_token(
            session, actor=Principal.system("cli"), organization=org, role=role
        )
        return issued.secret


OrgFactory = Callable[..., Awaitable[str]]
TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def make_org(app: FastAPI) -> OrgFactory:
    async def make(
        kind: OrgKind = OrgKind.INTERNATIONAL_ORG,
        country: str = "MYS",
        represents: str | None = None,
        **fields: object,
    ) -> str:
        return await make_org_in(app, kind, country, represents, **fields)

    return make


@pytest.fixture
def make_token(app: FastAPI, make_org: OrgFactory) -> TokenFactory:
    """A live token with ``role`` for ``org_id`` (a new organisation when not given)."""

    async def make(role: Role = Role.ADMIN, org_id: str | None = None) -> str:
        return await make_token_in(app, role, org_id or await make_org())

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def http_scope(
    method: str, path: str, headers: dict[str, str], *, spec_version: str = "2.4"
) -> dict[str, Any]:
    """The ASGI scope of a request to ``path``, for a test that calls the app as a server does
    (its own ``receive`` and ``send``)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("lifeline.test", 80),
    }
