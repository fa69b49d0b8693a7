"""The fast read path (``cli.fast_reads``) prints what typer's path prints, byte for byte.

Each line runs twice in this process through the real entry point: once as it comes (the fast
path takes the plain ``tickets show`` / ``tickets list`` lines) and once with the fast path
switched off (typer parses the line, as before). Output, errors and exit codes must be equal, as
the admin the demo acts as and as an agent of some groups (who must not see another group's
ticket either way). Lines the fast path is unsure of must go to typer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.cli import fast_reads
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import Result, run_in_process


def _both(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> tuple[Result, Result, bool]:
    """(fast, typer, whether the fast path took the line)."""
    taken: list[bool] = []
    real = fast_reads.fast_read

    def watched(argv: list[str]) -> object:
        found = real(argv)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(fast_reads, "fast_read", watched)
    fast = run_in_process(capsys, monkeypatch, args)
    monkeypatch.setattr(fast_reads, "fast_read", lambda argv: None)
    slow = run_in_process(capsys, monkeypatch, args)
    monkeypatch.setattr(fast_reads, "fast_read", real)
    return fast, slow, taken == [True]


def _lines(root: str, hidden: int, seen: int) -> list[tuple[str, ...]]:
    w = ("--workspace", root)
    return [
        (*w, "tickets", "show", "12"),
        ("-w", root, "tickets", "show", "#12", "--json"),
        (f"--workspace={root}", "tickets", "show", "--json", "12"),
        (*w, "--profile", "nobody", "tickets", "show", "12"),
        (*w, "tickets", "show", str(hidden)),
        (*w, "tickets", "show", str(hidden), "--json"),
        (*w, "tickets", "show", str(seen)),
        (*w, "tickets", "show", "999999"),
        (*w, "tickets", "show", "not-a-ticket"),
        (*w, "tickets", "list"),
        (*w, "tickets", "list", "--plain"),
        (*w, "tickets", "list", "-q", "refund", "--plain", "-n", "30"),
        (*w, "tickets", "list", "--query", "status<solved tag:billing", "--json", "--limit", "7"),
        (*w, "tickets", "list", "-q", "refund status:open,new,pending", "--jsonl", "--fields", "number,group,tags"),
        (*w, "tickets", "list", "-q", "priority>=high", "--csv", "--no-headers", "-n", "5"),
        (*w, "tickets", "list", "--sort", "sla-asc", "-q", "status<solved", "--plain", "-n", "9"),
        (*w, "tickets", "list", "--sort", "priority-desc", "--plain", "-n", "9"),
        (*w, "tickets", "list", "--sort", "sideways", "--plain"),  # our error: exit 2
        (*w, "tickets", "list", "-q", "status:", "--plain"),  # a bad query: exit 2
        (*w, "tickets", "list", "-q", "bogus:1", "--plain"),
        (*w, "tickets", "list", "--json", "--plain"),  # two formats: exit 2
        (*w, "tickets", "list", "--plain", "--fields", "number,nonsense"),
        (*w, "tickets", "list", "-q", "\x1b[31mred\x1b[0m", "--plain"),
        (*w, "tickets", "list", "-q", "[b]markup[/b]", "--json"),
    ]


def _agent_and_tickets(ws: Workspace) -> tuple[str, int, int]:
    with ws.reading() as connection:
        agent, group = connection.execute(
            "SELECT a.id, ag.group_id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id "
            "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
        ).fetchone()
        hidden = connection.execute(
            "SELECT number FROM ticket WHERE group_id IS NOT NULL AND group_id != ? "
            "AND (assignee_id IS NULL OR assignee_id != ?) ORDER BY number LIMIT 1",
            (group, agent),
        ).fetchone()[0]
        seen = connection.execute("SELECT number FROM ticket WHERE group_id = ? LIMIT 1", (group,)).fetchone()[0]
    return str(agent), int(hidden), int(seen)


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_the_fast_path_prints_what_typer_prints(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, who: str
) -> None:
    agent, hidden, seen = _agent_and_tickets(ws)
    if who == "agent":
        ws.set_setting("me", agent)
    codes = set()
    for args in _lines(str(ws.root), hidden, seen):
        fast, slow, taken = _both(capsys, monkeypatch, args)
        assert taken, args
        assert fast == slow, args
        codes.add(fast.code)
        if who == "agent" and str(hidden) in args:
            assert (fast.code, fast.stdout) == (3, ""), args  # another group's ticket: not found
    assert codes == {0, 2, 3}


@pytest.mark.parametrize(
    "tail",
    [
        ("tickets", "show", "12", "--summary"),
        ("tickets", "show", "--help"),
        ("tickets", "show", "12", "-h"),
        ("tickets", "show"),
        ("tickets", "show", "12", "13"),
        ("tickets", "show", "12", "--json", "--json"),
        ("tickets", "show", "--", "12"),
        ("tickets", "show", "12", "--jsonl"),
        ("tickets", "list", "-n", "0"),
        ("tickets", "list", "-n", "x"),
        ("tickets", "list", "-n", "+3"),
        ("tickets", "list", "-n"),
        ("tickets", "list", "-n5"),
        ("tickets", "list", "--limit=5"),
        ("tickets", "list", "-q", "-tag:spam"),
        ("tickets", "list", "-q", "a", "-q", "b"),
        ("tickets", "list", "--plain", "--plain"),
        ("tickets", "list", "extra"),
        ("tickets", "list", "-w", "elsewhere"),
        ("tickets", "history", "12"),
        ("tickets",),
        ("--version",),
    ],
)
def test_lines_the_fast_path_is_unsure_of_go_to_typer(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tail: tuple[str, ...]
) -> None:
    assert fast_reads.fast_read(["-w", str(ws.root), *tail]) is None
    fast, slow, taken = _both(capsys, monkeypatch, ("-w", str(ws.root), *tail))
    assert not taken and fast == slow


def test_global_options_the_fast_path_is_unsure_of_go_to_typer() -> None:
    for argv in (
        ["-w", "a", "-w", "b", "tickets", "show", "1"],
        ["-w", "-x", "tickets", "show", "1"],
        ["-w"],
        ["--workspace"],
        ["-wfoo", "tickets", "show", "1"],
        ["--version", "tickets", "show", "1"],
        ["--help", "tickets", "show", "1"],
    ):
        assert fast_reads.fast_read(argv) is None, argv
    assert fast_reads.fast_read(["tickets", "show", "1"]) is not None
    assert fast_reads.fast_read(["--workspace=", "tickets", "list"]) is not None


def test_shell_completion_goes_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_SUPPORTDESK_COMPLETE", "complete_bash")
    assert fast_reads.fast_read(["tickets", "show", "1"]) is None


def test_a_fast_read_imports_neither_typer_nor_another_command(demo_workspace: Workspace, tmp_path: Path) -> None:
    """What the fast path is for: a ``tickets show`` or ``list`` process loads no typer, click,
    rich, ORM or other command module."""
    for argv in (["tickets", "show", "12"], ["tickets", "list", "-q", "refund", "--jsonl", "-n", "5"]):
        code = (
            "import sys, io\n"
            f"sys.argv = ['supportdesk', '--workspace', {str(demo_workspace.root)!r}, *{argv!r}]\n"
            "out = io.StringIO(); real = sys.stdout; sys.stdout = out\n"
            "from supportdesk.cli.main import run\n"
            "try:\n    run()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "sys.stdout = real\n"
            "assert out.getvalue()\n"
            "print('\\n'.join(sorted(sys.modules)))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
        loaded = set(done.stdout.split())
        for heavy in ("typer", "click", "rich", "sqlalchemy", "sqlmodel", "pydantic", "supportdesk.assist.query"):
            assert not any(m == heavy or m.startswith(heavy + ".") for m in loaded), (argv, heavy)
        others = {m for m in loaded if m.startswith("supportdesk.cli.")} - {
            "supportdesk.cli.main",
            "supportdesk.cli.state",
            "supportdesk.cli.session",
            "supportdesk.cli.fast_console",
            "supportdesk.cli.fast_reads",
            "supportdesk.cli.ticket_reads",
            "supportdesk.cli.formats",
            "supportdesk.cli.output_flags",
            "supportdesk.cli.output",
            "supportdesk.cli.refs",
            "supportdesk.cli.errors",
            "supportdesk.cli.command_client",  # the command server's client: standard library only
            "supportdesk.cli.command_socket",
        }
        assert not others, (argv, others)
