"""Shared fixtures: real SQLite workspaces in temporary folders, never mocks.

A migrated workspace is made once per session and copied for each test that writes, so every
test gets its own real file without paying for the migration again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.store.workspace import DB_NAME, Workspace

DEMO_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


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
