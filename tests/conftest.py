"""Shared fixtures: real SQLite workspaces in temporary folders, never mocks.

A migrated workspace is made once per session and copied for each test that writes, so every
test gets its own real file without paying for the migration again.

**One "now" for the whole suite.** The demo workspaces are built at ``DEMO_NOW``, and every test
reads the same calendar: ``DEMO_NOW`` is the moment this suite started, and the clock runs on
from there. This process's clock (``store.times``) is the autouse ``clock`` fixture, and every
subprocess the suite starts (CLI commands, servers) inherits ``SUPPORTDESK_NOW`` with the same
anchor, so a server and the test that drives it agree to the microsecond. A test that needs time
to stand still freezes the fixture; one that needs it to pass winds it. The suite therefore
passes on any date; ``.ci/run`` proves it by running the date-sensitive tiers a year ahead under
``faketime``.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.store import times
from supportdesk.store.workspace import DB_NAME, Workspace

DEMO_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

SUITE_STARTED = time.time()
# Subprocesses (the CLI, uvicorn servers, session fixtures started before any test) read this.
os.environ[times.NOW_VARIABLE] = f"{DEMO_NOW.isoformat()}@{SUITE_STARTED!r}"
# A developer's own command server (``supportdesk command-server start``) must not take the
# suite's command lines; tests/cli/test_command_server.py starts servers of its own.
os.environ["SUPPORTDESK_COMMAND_SERVER"] = "off"


class TestClock:
    """The suite's clock: ``DEMO_NOW`` at the suite's start and running on with the system clock
    (like every subprocess's), unless a test freezes it or winds it forward."""

    __test__ = False

    def __init__(self) -> None:
        self._running = times.running_from(DEMO_NOW, SUITE_STARTED)
        self._frozen: datetime | None = None
        self._wound = timedelta()

    def __call__(self) -> datetime:
        return (self._frozen or self._running()) + self._wound

    def freeze(self, at: datetime | None = None) -> None:
        self._frozen, self._wound = at or self(), timedelta()

    def advance(self, delta: timedelta) -> None:
        self._wound += delta


#: Fixtures that start a server, a listener or a receiver on 127.0.0.1.
LIVE_FIXTURES = frozenset(
    {"deployment", "sqlite_deployment", "pg_deployment", "demo_server", "listener", "receiver", "live_server"}
)
#: Folders and files whose tests drive subprocesses, servers or the console's pilot.
INTEGRATION_PATHS = (
    "tests/cli/",
    "tests/server/",
    "tests/sync/",
    "tests/tui/",
    "tests/channels/test_server_",
    "tests/test_import_hygiene.py",
)
#: Exceptions inside those paths: pure logic, no pilot, no process.
UNIT_PATHS = ("tests/tui/test_queue_model.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The two tiers: ``integration`` (real servers, subprocesses, the console's pilot) is marked
    here, so ``make test-fast`` (``-m "not integration"``) is the unit tier for the edit-test loop
    and ``make test`` runs both. A new test lands in the right tier by where it lives or by the
    fixtures it takes; a unit-tier file that starts a process marks that test itself."""
    root = Path(str(config.rootpath))
    for item in items:
        where = Path(str(item.path)).relative_to(root).as_posix()
        live = LIVE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if (live or where.startswith(INTEGRATION_PATHS)) and not where.startswith(UNIT_PATHS):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _unit_tier_listens_on_nothing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit-tier test that starts a server is in the wrong tier: it runs under ``faketime`` in
    ``make test-calendar``, where live servers stall. Listening fails here, at once and by name,
    instead of as a timeout a year ahead; the fix is to mark the test ``integration``."""
    if request.node.get_closest_marker("integration") is not None:
        return
    where = request.node.nodeid

    def refuse(self: socket.socket, *args: object) -> None:
        raise AssertionError(f"{where} listens on a socket: mark it pytest.mark.integration")

    monkeypatch.setattr(socket.socket, "listen", refuse)


@pytest.fixture(autouse=True)
def clock() -> Iterator[TestClock]:
    """This process's one clock for the test (see the module docstring)."""
    test_clock = TestClock()
    previous = times.set_clock(test_clock)
    yield test_clock
    times.set_clock(previous)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or workspace."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SUPPORTDESK_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("SUPPORTDESK_WORKSPACE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(scope="session")
def template_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template")
    workspace = Workspace.open(root / "ws")
    workspace.close()
    return root / "ws"


@pytest.fixture
def workspace(template_workspace: Path, tmp_path: Path) -> Iterator[Workspace]:
    target = tmp_path / "ws"
    target.mkdir()
    shutil.copy(template_workspace / DB_NAME, target / DB_NAME)
    (target / "attachments").mkdir()
    opened = Workspace.open(target)
    yield opened
    opened.close()


@dataclass
class Team:
    """Two groups, an admin, two agents and a light agent, made through mutations."""

    workspace: Workspace
    tier1: str
    billing: str
    admin: Actor
    agent: Actor
    other: Actor
    light: Actor

    def as_(self, actor: Actor, name: str, args: dict[str, object]) -> write.Outcome:
        return write.apply(self.workspace, name, args, actor=actor)


def _actor(workspace: Workspace, agent_id: str) -> Actor:
    with workspace.reading() as connection:
        return write.load_actor(connection, agent_id)


@pytest.fixture
def team(workspace: Workspace) -> Team:
    def system(name: str, args: dict[str, object]) -> dict[str, object]:
        return write.apply(workspace, name, args, actor=SYSTEM).result

    tier1 = str(system("group.create", {"name": "Tier 1", "email": "support@acme.test"})["group_id"])
    billing = str(system("group.create", {"name": "Billing", "email": "billing@acme.test"})["group_id"])
    admin = str(system("agent.create", {"name": "Ada Admin", "email": "ada@acme.test", "role": "admin"})["agent_id"])
    agent = str(
        system("agent.create", {"name": "Sam Agent", "email": "sam@acme.test", "group_ids": [tier1]})["agent_id"]
    )
    other = str(
        system("agent.create", {"name": "Bea Billing", "email": "bea@acme.test", "group_ids": [billing]})["agent_id"]
    )
    light = str(
        system(
            "agent.create",
            {"name": "Lee Light", "email": "lee@acme.test", "role": "light_agent", "group_ids": [tier1]},
        )["agent_id"]
    )
    workspace.set_setting("me", agent)
    return Team(
        workspace,
        tier1,
        billing,
        _actor(workspace, admin),
        _actor(workspace, agent),
        _actor(workspace, other),
        _actor(workspace, light),
    )


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory, template_workspace: Path) -> Workspace:
    """A small demo workspace shared read-only by many tests (copy it before writing)."""
    from supportdesk.demo.generator import build_demo

    root = tmp_path_factory.mktemp("demo") / "ws"
    root.mkdir()
    shutil.copy(template_workspace / DB_NAME, root / DB_NAME)
    workspace = Workspace.open(root)
    build_demo(workspace, tickets=600, seed=11, now=DEMO_NOW)
    return workspace
