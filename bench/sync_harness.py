"""What the sync benchmarks share: a real ``supportdesk serve`` process and a small team.

Not a benchmark itself. Every figure is measured against a server on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from supportdesk.server import admin
from supportdesk.server.db import open_database

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.client import ServerClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, db: str, log: Path, extra: tuple[str, ...] = ()) -> None:
        self.db = db
        self.extra = extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "supportdesk", "serve", "--db", self.db, "--port", str(self.port)]
        command += ["--rate-limit", "0", "--keepalive", "5", *self.extra]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def rss_mb(self) -> float:
        """The resident memory of the server, its worker processes included."""
        total = 0.0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        return total

    def pids(self) -> list[int]:
        """The server process and its worker processes."""
        assert self.process is not None
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        return pids

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its workers have used so far: divided by the
        mutations pushed, a cost per mutation that does not depend on how loaded the machine is."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total / ticks

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def make_team(db: str, agents: int = 2) -> dict[str, str]:
    """Groups and agents on the server; returns ``{email: token}``."""
    database = open_database(db)
    try:
        admin.add_group(database, "Tier 1")
        tokens = {}
        for index in range(agents):
            email = f"agent{index}@bench.test"
            admin.add_agent(database, f"Agent {index}", email, "agent", ["Tier 1"])
            tokens[email] = admin.new_token(database, email)[1]
        return tokens
    finally:
        database.dispose()


def postgres_url() -> str | None:
    return os.environ.get("SUPPORTDESK_TEST_PG_URL")


def fresh_postgres(name: str) -> str:
    import psycopg

    base = postgres_url()
    assert base, "set SUPPORTDESK_TEST_PG_URL (source .ci/postgres.sh && pg_start)"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name


def drop_postgres(name: str) -> None:
    import psycopg

    base = postgres_url()
    assert base
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def team_server(tmp: Path, agents: int = 2) -> Iterator[tuple[Server, list[str]]]:
    """A running server over a fresh SQLite database with ``agents`` agents; yields their tokens."""
    db = str(tmp / "server.db")
    tokens = list(make_team(db, agents).values())
    with Server(db, tmp / "server.log") as server:
        yield server, tokens


def replica(root: Path, url: str, token: str) -> tuple[Workspace, ServerClient]:
    """A workspace logged in to ``url`` and bootstrapped."""
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.attach import attach
    from supportdesk.sync.client import ServerClient
    from supportdesk.sync.engine import SyncEngine
    from supportdesk.sync.profiles import Profile

    workspace = Workspace.open(root)
    client = ServerClient(url, token)
    me = client.me()
    attach(workspace, Profile("bench", url, me["email"], "file"), str(me["id"]))
    SyncEngine(workspace, client).sync_once()
    return workspace, client
