"""Real team servers for tests: ``supportdesk serve`` in a subprocess on a free loopback port,
over a SQLite file or a fresh database in the PostgreSQL cluster CI starts (.ci/postgres.sh).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.domain import write
from supportdesk.server import admin
from supportdesk.server.db import ServerDatabase, open_database
from supportdesk.store.workspace import Workspace
from supportdesk.sync.attach import attach
from supportdesk.sync.client import ServerClient
from supportdesk.sync.engine import SyncEngine, SyncSummary
from supportdesk.sync.profiles import Profile

PG_ENV = "SUPPORTDESK_TEST_PG_URL"


#: Ports :func:`free_port` handed out in this test process.
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now and that this process has not handed out before: two picks
    in a row (a server's SMTP port, then its HTTP port) once came back equal, the SMTP listener
    took it first and the HTTP server could not bind."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def postgres_url() -> str:
    """The test cluster's URL; in CI a missing one fails the test instead of skipping it."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {PG_ENV} (.ci/run starts the cluster)")
    pytest.skip(f"PostgreSQL tests need {PG_ENV}: source .ci/postgres.sh && pg_start (see the README)")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    import psycopg

    base = postgres_url()
    name = f"sd_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def server_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A ``--db`` value for an empty server database of ``kind`` (sqlite or postgresql)."""
    if kind == "sqlite":
        yield str(tmp_path / "server.db")
    else:
        with fresh_postgres_database() as url:
            yield url


class LiveServer:
    """``supportdesk serve`` as a real process; ``kill`` and ``start`` again to restart it."""

    def __init__(
        self,
        db: str,
        tmp_path: Path,
        *,
        rate: float = 0,
        keepalive: float = 1.0,
        extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.db = db
        # on top of this process's environment (e.g. a skewed SUPPORTDESK_NOW); triage (the
        # assist models, a ticket.triage after each new ticket) only where a test asks for it
        self.env = {"SUPPORTDESK_TRIAGE": "0", **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"
        self.args = ["--rate-limit", str(rate), "--keepalive", str(keepalive), *extra]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        command = [sys.executable, "-m", "supportdesk", "serve", "--db", self.db, "--port", str(self.port), *self.args]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        # a server that triages loads its models before it answers: at a load of 20+ on two
        # cores that alone took over a minute
        deadline = time.monotonic() + LOADED_MACHINE_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()  # a server that never answered must not outlive the test
        raise RuntimeError(f"the server did not become ready in {LOADED_MACHINE_TIMEOUT:.0f} s")

    def kill(self) -> None:
        """Die at once, as a crash would (no graceful shutdown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Team:
    """Two groups, an admin, an agent in each group and a light agent, with their tokens."""

    db: ServerDatabase
    tier1: str
    billing: str
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


def make_team(db_url: str) -> Team:
    database = open_database(db_url)
    team = Team(
        database, admin.add_group(database, "Tier 1", "support@acme.test"), admin.add_group(database, "Billing")
    )
    people: tuple[tuple[str, str, str, list[str]], ...] = (
        ("ada", "Ada Admin", "admin", []),
        ("sam", "Sam Agent", "agent", ["Tier 1"]),
        ("tom", "Tom Agent", "agent", ["Tier 1"]),
        ("bea", "Bea Billing", "agent", ["Billing"]),
        ("lee", "Lee Light", "light_agent", ["Tier 1"]),
    )
    for key, name, role, groups in people:
        team.ids[key] = admin.add_agent(database, name, f"{key}@acme.test", role, groups)
        team.tokens[key] = admin.new_token(database, key + "@acme.test")[1]
    return team


#: Seconds a test's client waits for one answer. The product's client waits 30 s; a push of a
#: thousand mutations on PostgreSQL took longer than that on a two-core machine running a dozen
#: processes, and a test is about what arrives, not how fast (bench/ measures that).
LOADED_MACHINE_TIMEOUT = 180.0


class Replica:
    """One agent's workspace following the server, synced with the real engine."""

    def __init__(
        self, root: Path, server: LiveServer, token: str, *, client: ServerClient | None = None, bootstrap: bool = True
    ) -> None:
        self.workspace = Workspace.open(root)
        self.client = client or ServerClient(server.url, token, timeout=LOADED_MACHINE_TIMEOUT)
        me = self.client.me()
        self.agent_id = str(me["id"])
        attach(self.workspace, Profile("test", server.url, me["email"], "file"), self.agent_id)
        if bootstrap:
            self.sync()

    def apply(self, name: str, args: dict[str, Any]) -> write.Outcome:
        return write.apply(self.workspace, name, args)

    def sync(self) -> SyncSummary:
        return SyncEngine(self.workspace, self.client).sync_once()

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.workspace.reading() as connection:
            return [tuple(row) for row in connection.execute(sql, params)]

    def close(self) -> None:
        self.client.close()
        self.workspace.close()


def api(server: LiveServer, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=LOADED_MACHINE_TIMEOUT)


def post_at_once(server: LiveServer, path: str, body: Any, headers: dict[str, str], times: int) -> list[httpx.Response]:
    """The same POST sent by ``times`` threads at once (an integration's retries racing each
    other over a flaky network); every answer, in the order they came back."""
    import threading

    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=server.url, timeout=LOADED_MACHINE_TIMEOUT) as client:
            response = client.post(path, json=body, headers=headers)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * LOADED_MACHINE_TIMEOUT)
    assert len(answers) == times, "a request neither answered nor failed"
    return answers


@dataclass
class Deployment:
    server: LiveServer
    team: Team
    backend: str
    tmp_path: Path

    def replica(self, who: str, name: str | None = None, **kwargs: Any) -> Replica:
        return Replica(self.tmp_path / (name or f"ws-{who}"), self.server, self.team.tokens[who], **kwargs)

    @contextmanager
    def replicas(self, *who: str) -> Iterator[tuple[Replica, ...]]:
        """Workspaces of these agents on this server, each closed when the block ends, however
        it ends (a failed assertion must not leave a sync thread or a connection behind)."""
        opened: list[Replica] = []
        try:
            for agent in who:
                opened.append(self.replica(agent))
            yield tuple(opened)
        finally:
            for replica in opened:
                replica.close()

    def api(self, who: str | None) -> httpx.Client:
        return api(self.server, self.team.tokens[who] if who else None)


@contextmanager
def deploy(backend: str, tmp_path: Path, **server_options: Any) -> Iterator[Deployment]:
    with server_database(backend, tmp_path) as url:
        team = make_team(url)
        server = LiveServer(url, tmp_path, **server_options).start()
        try:
            yield Deployment(server, team, backend, tmp_path)
        finally:
            server.stop()
            team.db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A running server with a team, on each engine."""
    with deploy(request.param, tmp_path) as running:
        yield running


@pytest.fixture
def sqlite_deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deploy("sqlite", tmp_path) as running:
        yield running


@pytest.fixture
def pg_deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deploy("postgresql", tmp_path) as running:
        yield running
