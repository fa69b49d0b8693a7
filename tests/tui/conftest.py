"""Console fixtures: a small deterministic demo workspace, copied for every test that writes,
and a helper that waits until the console's workers have settled."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from supportdesk.config import load_settings
from supportdesk.store.workspace import DB_NAME, Workspace
from supportdesk.tui.app import SupportDeskApp
from tests.conftest import DEMO_NOW, TestClock

CONSOLE_TICKETS = 300
CONSOLE_SEED = 5


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times in the console are local: pin the zone so screenshots match anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory, template_workspace: Path) -> Path:
    from supportdesk.demo.generator import build_demo

    root = tmp_path_factory.mktemp("console") / "ws"
    root.mkdir()
    shutil.copy(template_workspace / DB_NAME, root / DB_NAME)
    workspace = Workspace.open(root)
    build_demo(workspace, tickets=CONSOLE_TICKETS, seed=CONSOLE_SEED, now=DEMO_NOW)
    workspace.close()
    return root


@pytest.fixture
def console_workspace(console_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    target = tmp_path / "ws"
    target.mkdir()
    shutil.copy(console_template / DB_NAME, target / DB_NAME)
    (target / "attachments").mkdir()
    workspace = Workspace.open(target)
    yield workspace
    workspace.close()


AppFactory = Callable[..., SupportDeskApp]


@pytest.fixture
def make_app(console_workspace: Workspace, clock: TestClock) -> AppFactory:
    """A console on the demo copy; the suite's clock stands still at ``DEMO_NOW`` so countdowns
    and ages in screenshots are the same on every run."""
    clock.freeze(DEMO_NOW)

    def make(workspace: Workspace | None = None, **kwargs: object) -> SupportDeskApp:
        chosen = workspace or console_workspace
        # strict_reads: a read that grows with the store, asked for on the UI thread, fails the test
        options: dict[str, object] = {"poll_interval": 3600.0, "warm_up": False, "strict_reads": True}
        options.update(kwargs)
        return SupportDeskApp(chosen, load_settings(chosen.root), **options)  # type: ignore[arg-type]

    return make


async def workers_done(pilot: Pilot[None]) -> None:
    """Wait for the running workers. One the console cancelled meanwhile (an exclusive worker
    superseded by a newer load) is a normal outcome; a worker that failed still fails the test."""
    for worker in list(pilot.app.workers):
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()


async def settle(pilot: Pilot[None], rounds: int = 4) -> None:
    """Let workers finish and their messages be handled (pages, counts, tickets, previews)."""
    for _ in range(rounds):
        await pilot.pause()
        await workers_done(pilot)
        await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition that a thread worker makes true; fail with the condition's name."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {getattr(condition, '__name__', condition)}")
        await pilot.pause(0.02)
        await workers_done(pilot)


# a real team server for the console's sync tests (see tests/live.py)
from tests.live import sqlite_deployment  # noqa: E402, F401
