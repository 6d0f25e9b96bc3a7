"""A PostgreSQL cluster of the fault tests' own: made by ``initdb`` in a temporary directory,
served on a free port of the loopback, stopped, started and restarted at will, removed at the
end. The fault tests take a database away on purpose; the shared server on 5432 serves the
other test runs meanwhile and is never touched.

As root the server runs as ``postgres`` (it refuses to run as root), in a directory that user
owns; as anyone else, as that user. ``cluster`` is the fixture: one cluster for the test run
(``from tests.faults.cluster import cluster_fixture`` brings it into a test module); a test that may find it stopped calls ``ensure_running``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from service.db import make_engine
from service.migrate import upgrade

#: Where Debian installs each major version of the server.
INSTALLS = Path("/usr/lib/postgresql")
#: The user the server runs as when the tests run as root.
SERVER_USER = "postgres"
#: Seconds ``pg_ctl`` waits for the server to start or stop.
WAIT_S = 30


def server_bin() -> Path:
    """The ``bin`` directory of the newest server installed."""
    versions = sorted(
        (p for p in INSTALLS.glob("*") if (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.name) if p.name.isdigit() else 0,
    )
    if not versions:
        pytest.fail(
            f"no PostgreSQL server under {INSTALLS}: the fault tests make a cluster of their own "
            "with its initdb and pg_ctl (on Debian: apt-get install postgresql)",
            pytrace=False,
        )
    return versions[-1] / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A private cluster: its programs, its directory, its port."""

    bin: Path
    root: Path
    port: int
    #: The user the server runs as, when not the tests' own.
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def dsn(self) -> str:
        """asyncpg's address of the cluster's ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "postgres") -> str:
        """The service's database URL (``LIFELINE_DATABASE_URL``) of ``database``."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / program), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        # A test server: no fsync (a crash of the machine is not a fault these tests make; a
        # killed server recovers from its WAL either way), the socket in the cluster's own
        # directory, and connections logged, to read what happened after a failure.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 200\n"
                "log_connections = off\n"
            )

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(WAIT_S), "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (sessions ended, a clean shut-down), ``immediate`` (every
        process killed at once, as a crash: the next start recovers from the WAL) or ``smart``
        (waits for the sessions to end)."""
        if mode not in {"fast", "immediate", "smart"}:
            raise ValueError(f"pg_ctl has no stop mode {mode!r}")
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(WAIT_S), "stop")

    def restart(self, mode: str = "fast", *, down_s: float = 0.0) -> None:
        """Stop (``mode``), stay down ``down_s`` seconds, start again on the same port."""
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    @property
    def running(self) -> bool:
        status = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    async def create_database(self, *, migrated: bool = True) -> str:
        """A new database in the cluster, at the latest migration unless ``migrated=False``;
        its service URL."""
        name = f"lifeline_faults_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = self.url(name)
        if migrated:
            engine = make_engine(url)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
        return url

    def remove(self) -> None:
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A new cluster, running, removed (whatever state it is in) when the block ends."""
    root = Path(tempfile.mkdtemp(prefix="lifeline-faults-pg-"))
    run_as = SERVER_USER if os.geteuid() == 0 else None
    if run_as is not None:
        shutil.chown(root, user=run_as, group=run_as)
    cluster = Cluster(bin=server_bin(), root=root, port=free_port(), run_as=run_as)
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session", name="cluster")
def cluster_fixture() -> Iterator[Cluster]:
    """The fault tests' private cluster, one for the run (``initdb`` takes seconds), removed at
    the end. A test that stops it need not start it again: call ``ensure_running`` first."""
    with private_cluster() as made:
        yield made
