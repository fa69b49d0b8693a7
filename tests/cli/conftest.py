"""Fixtures for the CLI tests: a writable copy of the demo workspace, and the CLI run in-process.

``cli(...)`` runs the real entry point (:func:`supportdesk.cli.main.run`, with its error
handling and exit codes) inside the test process, which is much faster than a subprocess for the
many small cases; whole-process behaviour (pipes, start-up) uses :mod:`tests.cli.helpers`.
"""

from __future__ import annotations

import io
import sqlite3
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from supportdesk.store.workspace import DB_NAME, Workspace


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


CLI = Callable[..., Result]


def copy_workspace(source: Workspace, target: Path) -> Workspace:
    """A consistent copy of a workspace file (the backup API includes what is still in the WAL)."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "attachments").mkdir(exist_ok=True)
    with closing(sqlite3.connect(source.db_path)) as src, closing(sqlite3.connect(target / DB_NAME)) as dst:
        src.backup(dst)
    return Workspace.open(target)


@pytest.fixture
def ws(demo_workspace: Workspace, tmp_path: Path) -> Workspace:
    """A demo workspace of this test's own (600 tickets, me = Dana Whitfield, an admin)."""
    workspace = copy_workspace(demo_workspace, tmp_path / "ws")
    yield workspace
    workspace.close()


def run_in_process(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    stdin: str = "",
) -> Result:
    from supportdesk.cli.main import run
    from supportdesk.cli.state import STATE, State

    if STATE._workspace is not None:
        STATE._workspace.close()
    STATE.__dict__.update(State().__dict__)
    monkeypatch.setattr(sys, "argv", ["supportdesk", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = 0
    try:
        run()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        if STATE._workspace is not None:
            STATE._workspace.close()
        STATE.__dict__.update(State().__dict__)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


@pytest.fixture
def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    """``cli("tickets", "list", stdin="…")`` on the test's workspace."""

    def invoke(*args: str, stdin: str = "", workspace: Path | None = None) -> Result:
        root = workspace or ws.root
        return run_in_process(capsys, monkeypatch, ("--workspace", str(root), *args), stdin)

    return invoke
