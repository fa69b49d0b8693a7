"""The output flags: declared once, the same on every listing, and NO_COLOR only drops colour."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI

SRC = Path(__file__).resolve().parents[2] / "src" / "supportdesk" / "cli"
SIX = {"--json", "--jsonl", "--csv", "--plain", "--fields", "--no-headers"}
#: ESC [ … m sequences that set a colour (30–37, 38;…, 90–97, and their backgrounds).
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def _commands() -> dict[tuple[str, ...], object]:
    from typer.main import get_command

    from supportdesk.cli.main import app

    found: dict[tuple[str, ...], object] = {}

    def walk(group: object, path: tuple[str, ...]) -> None:
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            if hasattr(command, "commands"):
                walk(command, (*path, name))
            else:
                found[(*path, name)] = command

    walk(get_command(app), ())
    return found


def test_the_six_flags_are_declared_in_one_place() -> None:
    declared = {}
    for path in SRC.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for flag in SIX:
            if f'"{flag}"' in text:
                declared.setdefault(flag, []).append(path.name)
    assert declared == {flag: ["formats.py"] for flag in SIX}  # typer-free: the fast read path reads them too


def test_every_listing_takes_all_six_flags_spelled_the_same() -> None:
    listings = {}
    for path, command in _commands().items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}  # type: ignore[attr-defined]
        if options & {"--jsonl", "--plain", "--fields"}:
            listings[path] = options
            assert options >= SIX, path
            helps = {p.opts[0]: p.help for p in command.params if p.opts and p.opts[0] in SIX}  # type: ignore[attr-defined]
            assert helps["--fields"] == "Comma-separated columns to print.", path
    assert {
        ("tickets", "list"),
        ("tickets", "update"),
        ("macros", "list"),
        ("macros", "apply"),
        ("kb", "search"),
        ("views", "list"),
        ("customers", "export"),
        ("rules", "list"),
        ("sla", "list"),
        ("report",),
    } <= set(listings)


@pytest.mark.parametrize(
    "argv",
    [
        ("rules", "list", "--jsonl", "--fields", "name,active"),
        ("sla", "list", "--csv", "--no-headers", "--fields", "name,priority"),
        ("report", "--jsonl", "--fields", "created,solved"),
    ],
)
def test_listings_that_lacked_flags_now_take_them(cli: CLI, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.code == 0, result.stderr
    assert result.stdout.strip()


def test_two_formats_or_an_unknown_field_fail_before_any_change(cli: CLI) -> None:
    both = cli("tickets", "list", "--json", "--csv")
    assert both.code == 2 and "choose one of --json" in both.stderr
    before = cli("tickets", "list", "-q", "tag:never-seen-tag", "--plain", "--no-headers")
    bad = cli("tickets", "update", "1", "--add-tag", "never-seen-tag", "--plain", "--fields", "nonsense")
    assert bad.code == 2 and "unknown field 'nonsense'" in bad.stderr
    assert cli("tickets", "list", "-q", "tag:never-seen-tag", "--plain", "--no-headers").stdout == before.stdout == ""


def test_a_command_body_runs_with_a_session_and_an_output_of_its_own(ws: Workspace) -> None:
    """No module global: the body takes what it needs as parameters, as gh's run functions do."""
    from supportdesk.cli.options import Format, Output
    from supportdesk.cli.session import Session
    from supportdesk.cli.tickets import list_tickets

    session = Session(workspace_flag=str(ws.root))
    stream = io.StringIO()
    body = list_tickets.__wrapped__  # type: ignore[attr-defined]
    body(session, Output(Format.JSONL, "number,status", stream=stream), query="status:open", limit=3)
    session.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and all('"status": "open"' in line for line in lines)


def _run_in_pty(args: list[str], env: dict[str, str]) -> str:
    """``supportdesk`` with its stdout on a pseudo-terminal, as a person at a terminal runs it."""
    main, child = pty.openpty()
    os.set_inheritable(child, True)
    process = subprocess.Popen(
        [sys.executable, "-m", "supportdesk", *args],
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "160", **env},
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def _without(name: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != name}


@pytest.mark.integration
def test_no_color_drops_colour_but_keeps_the_table_and_a_pipe_keeps_columns(ws: Workspace) -> None:
    argv = ["-w", str(ws.root), "tickets", "list", "-q", "status:open", "-n", "3"]
    coloured = _run_in_pty(argv, {"NO_COLOR": "", "FORCE_COLOR": "", "TERM": "xterm-256color"})
    plain = _run_in_pty(argv, {"NO_COLOR": "1", "TERM": "xterm-256color"})
    for screen in (coloured, plain):
        assert "━" in screen and "number" in screen and "\t" not in screen  # a table, not TSV
    assert not COLOUR.search(plain), repr(plain[:400])
    piped = subprocess.run(
        [sys.executable, "-m", "supportdesk", *argv],
        capture_output=True,
        text=True,
        env={**_without("FORCE_COLOR"), "NO_COLOR": "1"},
        timeout=120,
        check=True,
    ).stdout
    assert piped.splitlines()[0].split("\t")[:3] == ["number", "subject", "requester"]
    assert "\x1b" not in piped and "━" not in piped
