"""``supportdesk`` with no command: the line typer is spared, and a clean error without a workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.cli.fast_console import console_options


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {}),
        (["-w", "/tmp/ws"], {"workspace": "/tmp/ws"}),
        (["--workspace=/tmp/ws", "--profile", "acme"], {"workspace": "/tmp/ws", "profile": "acme"}),
        (["--workspace", "/tmp/ws", "tickets", "list"], None),
        (["--help"], None),
        (["--version"], None),
        (["-w"], None),
        (["-w", "--help"], None),
        (["demo"], None),
    ],
)
def test_only_a_line_of_global_options_skips_typer(argv: list[str], expected: dict[str, str] | None) -> None:
    assert console_options(argv) == expected


def test_no_workspace_is_one_line_and_exit_code_3(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "supportdesk", "-w", str(tmp_path / "nothing-here")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "no workspace at" in result.stderr
    assert "Traceback" not in result.stderr
