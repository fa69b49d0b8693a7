"""Hostile text in every format, exit codes of real processes, help everywhere, config and status."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import typer

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.helpers import supportdesk

HOSTILE = "Refund \x1b[2J\x1b]52;c;cGF3bmVk\x07 \x9b31m [@click=app.quit] \u202eevil"
FORBIDDEN = ("\x1b", "\x9b", "\x07", "\u202e")


def _plant_raw_subject(ws: Workspace) -> int:
    """A subject that never went through ingest sanitising (written straight into the file), so
    the output layer alone has to make it safe."""
    with closing(sqlite3.connect(ws.db_path)) as connection:
        number = connection.execute(
            "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()[0]
        connection.execute("UPDATE ticket SET subject = ? WHERE number = ?", (HOSTILE, number))
        connection.commit()
    return int(number)


@pytest.mark.parametrize("fmt", ["--plain", "--csv", "--json", "--jsonl", None])
def test_a_hostile_subject_never_reaches_stdout_raw(cli: CLI, ws: Workspace, fmt: str | None) -> None:
    number = _plant_raw_subject(ws)
    args = ["tickets", "list", "--query", f"number:{number}"] + ([fmt] if fmt else [])
    result = cli(*args)
    assert result.code == 0, result.stderr
    assert "[@click=app.quit]" in result.stdout and "⟨U+001B⟩" in result.stdout
    assert not any(ch in result.stdout for ch in FORBIDDEN)
    if fmt == "--json":
        assert json.loads(result.stdout)[0]["subject"].startswith("Refund ⟨U+001B⟩[2J")


def test_hostile_text_is_safe_in_every_other_command(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    number = _plant_raw_subject(ws)
    created = cli("tickets", "create", "-s", HOSTILE, "-r", "mallory@evil.example", "-b", HOSTILE)
    assert created.code == 0
    outputs = [
        cli("tickets", "show", str(number)).stdout,
        cli("tickets", "show", str(number), "--json").stdout,
        cli("tickets", "update", str(number), "--add-tag", "x", "--dry-run", "--plain").stdout,
        cli("customers", "show", "mallory@evil.example", "--timeline").stdout,
        cli("customers", "export", "mallory@evil.example").stdout,
        cli("export", "--query", "requester:mallory@evil.example").stdout,
        cli("export", "--csv", "--query", "requester:mallory@evil.example").stdout,
    ]
    for output in outputs:
        assert output and not any(ch in output for ch in FORBIDDEN)
    missing = cli("tickets", "show", "\x1b[2J")
    assert missing.code == 3 and "\x1b" not in missing.stderr


def test_exit_codes_of_real_processes(ws: Workspace, tmp_path: Path) -> None:
    root = ws.root
    usage = supportdesk("tickets", "update", "1", "--set", "nonsense", workspace=root)
    assert usage.returncode == 2
    unknown_option = supportdesk("tickets", "update", "--bogus", workspace=root)
    assert unknown_option.returncode == 2
    query = supportdesk("tickets", "update", "--query", "priority>>high", "--add-tag", "x", workspace=root)
    assert query.returncode == 2 and "position" in query.stderr
    not_found = [
        supportdesk("tickets", "reply", "424242", "--body", "x", workspace=root),
        supportdesk("customers", "show", "ghost@nowhere.example", workspace=root),
        supportdesk("macros", "apply", "No such macro", "1", workspace=root),
        supportdesk("kb", "show", "no-such-article", workspace=root),
        supportdesk("import", str(tmp_path / "missing.jsonl"), workspace=root),
    ]
    assert [r.returncode for r in not_found] == [3, 3, 3, 3, 3]
    closed, open_ = (
        supportdesk("tickets", "list", "-q", f"status:{status}", "--plain", "--no-headers", "--fields", "number",
                    "-n", "1", workspace=root)
        for status in ("closed", "open")
    )  # fmt: skip
    partial = supportdesk(
        "tickets", "update", closed.stdout.strip(), open_.stdout.strip(), "--add-tag", "y", workspace=root
    )
    assert partial.returncode == 1 and partial.stderr.count("supportdesk: error:") == 1
    assert supportdesk("config", "set", "me", "noah.peretz@brightline.example", workspace=root).returncode == 0
    light = supportdesk("tickets", "reply", open_.stdout.strip(), "--body", "hi", workspace=root)
    assert light.returncode == 4 and "light agent" in light.stderr
    for result in (usage, unknown_option, query, *not_found, partial, light):
        assert "Traceback" not in result.stderr and result.stderr.endswith("\n")


def _commands(group: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, typer.core.TyperGroup):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_command_has_help_with_an_example() -> None:
    from typer.main import get_command
    from typer.testing import CliRunner

    from supportdesk.cli.main import app

    commands = _commands(get_command(app))  # type: ignore[arg-type]
    assert len(commands) >= 30
    runner = CliRunner()
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example: supportdesk" in result.output, path


def test_shell_completion_is_offered(ws: Workspace) -> None:
    import subprocess
    import sys

    program = str(Path(sys.executable).with_name("supportdesk"))

    def run(env: dict[str, str], *args: str) -> str:
        done = subprocess.run([program, *args], capture_output=True, text=True, env={**os.environ, **env}, check=False)
        # Once, under load, the script came back empty: say how the process ended if it does again.
        assert done.returncode == 0 and done.stdout, (done.returncode, done.stderr[-2000:])
        return done.stdout

    assert "_SUPPORTDESK_COMPLETE" in run({"SHELL": "/bin/bash"}, "--show-completion", "bash")

    def complete(words: str) -> list[str]:
        cword = str(len(words.split()) - 1)
        return run({"_SUPPORTDESK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}).split("\n")

    assert "tickets" in complete("supportdesk tick")
    assert {"status=pending", "status=on_hold"} <= set(complete("supportdesk tickets update --set status="))
    macros = complete(f"supportdesk -w {ws.root} tickets update --macro Card")
    assert macros[:2] == ["Card declined: first answer", "Card declined: resolved"]


def test_config_get_and_set_keep_the_rest_of_the_file(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('# my settings\n[general]\neditor = "vim"  # the best\n\n[console]\ntheme = "nord"\n')
    monkeypatch.setenv("SUPPORTDESK_CONFIG", str(config))
    assert cli("config", "get", "general.editor").stdout.strip() == "vim"
    assert cli("config", "set", "general.editor", "hx").code == 0
    assert cli("config", "set", "console.compact", "true").code == 0
    assert cli("config", "set", "keys.reply", "r").code == 0
    assert cli("config", "set", "keys.count", "10", "--string").code == 0
    text = config.read_text()
    assert text.startswith('# my settings\n[general]\neditor = "hx"  # the best\n\n[console]\n')  # comment kept
    assert 'theme = "nord"\ncompact = true\n' in text and '[keys]\nreply = "r"\ncount = "10"\n' in text
    everything = json.loads(cli("config", "get", "--json").stdout)
    assert everything["console.compact"] is True and everything["me"] == "dana.whitfield@brightline.example"
    assert cli("config", "get", "general.nothing").code == 3
    assert cli("config", "get", "nodots").code == 2
    assert cli("config", "set", "me", "lena.fischer@brightline.example").code == 0
    assert cli("config", "get", "me").stdout.strip() == "lena.fischer@brightline.example"
    assert cli("config", "set", "me", "nobody@brightline.example").code == 3


def test_config_set_takes_quoted_keys_and_keeps_comments_and_layout(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A binding id holds a dot, so its key is quoted as in the file; tomlkit keeps the rest."""
    import tomllib

    from supportdesk.config import load_settings

    config = tmp_path / "config.toml"
    original = (
        "# supportdesk settings\n"
        "[console]   # how the console looks\n"
        'theme = "nord"\n'
        "\n"
        "# my keys\n"
        "[keys]\n"
        '"queue.reply" = "R"   # capital R\n'
        "\n"
        "[macro_keys]\n"
        'f5 = "Refund issued"\n'
    )
    config.write_text(original)
    monkeypatch.setenv("SUPPORTDESK_CONFIG", str(config))
    assert cli("config", "set", 'keys."queue.solve"', "x").code == 0
    assert cli("config", "set", "keys.'queue.reply'", "ctrl+r").code == 0
    text = config.read_text()
    assert text == original.replace('"R"   # capital R', '"ctrl+r"   # capital R').replace(
        "# capital R\n", '# capital R\n"queue.solve" = "x"\n'
    )
    assert tomllib.loads(text)["keys"] == {"queue.reply": "ctrl+r", "queue.solve": "x"}
    assert load_settings(str(tmp_path)).keys["queue.solve"] == "x"  # the console reads it back
    assert cli("config", "get", 'keys."queue.solve"').stdout.strip() == "x"
    listed = cli("config", "get").stdout
    assert 'keys."queue.solve" = x' in listed and "macro_keys.f5 = Refund issued" in listed
    assert cli("config", "set", 'channels.chat."secret key"', "s3cret").code == 0  # a table made as needed
    assert tomllib.loads(config.read_text())["channels"]["chat"]["secret key"] == "s3cret"
    for bad in ('keys."queue.solve', "keys", "", 'keys."a" = 1\nb', "console.theme.more"):
        result = cli("config", "set", bad, "x")
        assert result.code == 2 and result.stderr.count("\n") == 1, bad
    assert cli("config", "set", "keys", "x").code == 2  # a section, not a value
    assert config.read_text().count("[keys]") == 1 and "s3cret" in config.read_text()


def test_status_of_a_local_and_of_a_synced_workspace(cli: CLI, ws: Workspace) -> None:
    local = json.loads(cli("status", "--json").stdout)
    assert local["workspace"] == str(ws.root) and local["server"] == "local" and local["pending"] is None
    assert local["me"]["email"] == "dana.whitfield@brightline.example"
    assert "local (follows no server" in cli("status").stdout
    number = str(local["tickets"])
    with closing(sqlite3.connect(ws.db_path)) as connection:
        connection.execute(
            "UPDATE sync_state SET server_url = 'https://desk.example', profile = 'work', cursor = 42, "
            "last_acked_mutation_id = (SELECT coalesce(max(id), 0) FROM outbox), last_error = 'timed out'"
        )
        connection.commit()
    open_ = cli("tickets", "list", "-q", "status:open", "-n", "1", "--plain", "--no-headers", "--fields", "number")
    assert cli("tickets", "note", open_.stdout.strip(), "--body", "pending change").code == 0
    synced = json.loads(cli("status", "--json").stdout)
    assert (synced["server"], synced["profile"], synced["cursor"], synced["pending"]) == (
        "https://desk.example",
        "work",
        42,
        1,
    )
    assert synced["last_error"] == "timed out" and number
    human = cli("status").stdout
    assert "pending     1 change to push" in human and "profile work" in human


def test_start_up_builds_only_the_command_being_run() -> None:
    from supportdesk.cli.main import app
    from supportdesk.cli.startup import only_invoked

    groups, commands = list(app.registered_groups), list(app.registered_commands)
    tickets = next(g for g in groups if g.name == "tickets").typer_instance
    ticket_commands = list(tickets.registered_commands)
    with only_invoked(app, ["-w", "/somewhere", "tickets", "show", "12", "--json"]):
        assert [g.name for g in app.registered_groups] == ["tickets"] and app.registered_commands == []
        assert [c.name for c in tickets.registered_commands] == ["show"]
    assert app.registered_groups == groups and tickets.registered_commands == ticket_commands
    with only_invoked(app, ["--workspace", "tickets", "status"]):  # "tickets" is the option's value here
        assert [c.name for c in app.registered_commands] == ["status"] and app.registered_groups == []
    with only_invoked(app, ["tickets", "nonsense"]):
        assert len(app.registered_groups) == 1 and len(tickets.registered_commands) == len(ticket_commands)
    with only_invoked(app, ["--help"]):  # the program's help names the groups, not what they hold
        assert app.registered_groups == groups and app.registered_commands == commands
        assert tickets.registered_commands == []
    with only_invoked(app, ["tickets", "-h"]):
        assert tickets.registered_commands == ticket_commands
    assert app.registered_commands == commands and tickets.registered_commands == ticket_commands


def test_a_role_that_may_not_do_it_is_exit_4_not_a_list_of_failures(cli: CLI, tmp_path: Path) -> None:
    exported = tmp_path / "some.jsonl"
    assert cli("export", "-q", "number<=3", "-o", str(exported)).code == 0
    assert cli("config", "set", "me", "yuki.sato@brightline.example").code == 0  # a light agent
    # two tickets of the light agent's own groups (another group's would be "no ticket N")
    visible = json.loads(cli("tickets", "list", "--json", "--fields", "number", "--limit", "2").stdout)
    numbers = [str(ticket["number"]) for ticket in visible]
    assert len(numbers) == 2
    bulk = cli("tickets", "update", *numbers, "--add-tag", "light")
    assert bulk.code == 4 and bulk.stderr.count("light agent") == 2
    imported = cli("import", str(exported), workspace=tmp_path / "ws-copy")
    assert imported.code == 0  # a new workspace acts as the system, which may import
    assert cli("config", "set", "me", "marcus.oyelaran@brightline.example").code == 0
    sample = Path(__file__).parent / "data" / "zendesk_export.jsonl"
    refused = cli("import", "--from", "zendesk", str(sample))
    assert refused.code == 4 and refused.stderr.count("\n") == 1
