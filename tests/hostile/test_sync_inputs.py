"""Hostile tokens and server addresses given to ``supportdesk login`` and ``supportdesk sync`` (the
real command against a real server): each is refused in one line with exit 2 or 4, and the
workspace keeps every ticket and every unsent change."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from supportdesk.server import admin
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.helpers import supportdesk
from tests.live import Deployment

PENDING = "SELECT count(*) FROM outbox WHERE id > (SELECT last_acked_mutation_id FROM sync_state)"


def one(workspace: Path, sql: str) -> Any:
    opened = Workspace.open(workspace)
    try:
        with opened.reading() as connection:
            return connection.execute(sql).fetchone()[0]
    finally:
        opened.close()


def ok(*args: str, workspace: Path, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    done = supportdesk(*args, workspace=workspace, stdin=stdin, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def one_line(done: Any, code: int, *words: str) -> str:
    """The one line a refusal prints (``done`` is a finished process or an in-process result)."""
    returncode = getattr(done, "returncode", getattr(done, "code", None))
    assert returncode == code, (returncode, done.stdout[-500:], done.stderr[-2000:])
    line = done.stderr.strip()
    assert line.startswith("supportdesk: error: ") and "\n" not in line, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "a bug in supportdesk" not in line, line
    for word in words:
        assert word in line, line
    return line


@pytest.mark.integration
def test_a_sync_after_the_token_was_revoked_is_exit_4_and_keeps_the_unsent_note(
    live: Deployment, tmp_path: Path
) -> None:
    token_id, token = admin.new_token(live.team.db, "tom@acme.test")
    ws = tmp_path / "tom"
    ok("login", "--server", live.server.url, "--insecure-storage", workspace=ws, stdin=token)
    ok("tickets", "create", "-s", "Tom's order", "-r", "olga@example.com", "--body", "hi", workspace=ws)
    ok("sync", workspace=ws)
    number = one(ws, "SELECT max(number) FROM ticket")
    ok("tickets", "note", str(number), "--body", "written before the revoke", workspace=ws)
    admin.revoke_tokens(live.team.db, token_id=token_id)
    refused = supportdesk("sync", workspace=ws)
    one_line(refused, 4, "revoked")
    assert one(ws, PENDING) == 1  # the note waits for a new login, nothing lost
    assert one(ws, "SELECT count(*) FROM message WHERE body = 'written before the revoke'") == 1
    with live.api("ada") as ada:
        found = ada.get("/v1/tickets", params={"query": '"written before the revoke"'}).json()["tickets"]
    assert found == []


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("sdt_x\r\nX-Forwarded-For: 10.0.0.1", id="header-injection"),
        pytest.param("sdt_\x00\x1b[2J", id="nul-and-escape"),
        pytest.param("ü" * 40, id="not-ascii"),
        pytest.param("sdt_" + "A" * 100_000, id="100-kB"),
        pytest.param("sdt_% _%", id="wildcards-and-space"),
    ],
)
def test_a_hostile_token_at_login_is_one_line_and_stores_nothing(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """The token goes into an HTTP header; one that cannot is refused before any request (the
    address is one where nothing listens: a request would fail differently)."""
    ws = tmp_path / "ws"
    login = ("login", "--server", "http://127.0.0.1:1", "--insecure-storage")
    if "\x00" in token:  # an environment variable cannot hold NUL: piped on stdin
        refused = cli(*login, workspace=ws, stdin=token)
    else:
        monkeypatch.setenv("SUPPORTDESK_TOKEN", token)
        refused = cli(*login, workspace=ws)
    line = one_line(refused, 2, "not an API token")
    assert "\x1b" not in line and "sdt_x" not in line and len(line) < 300
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "tokens").exists()


@pytest.mark.integration
def test_a_hostile_token_file_is_one_line_and_sends_nothing(live: Deployment, tmp_path: Path) -> None:
    """A token file edited by hand (or by someone else) with what no header can carry."""
    ws = tmp_path / "sam"
    ok("login", "--server", live.server.url, "--insecure-storage", workspace=ws, stdin=live.team.tokens["sam"])
    ok("tickets", "create", "-s", "Pending order", "-r", "p@example.com", "--body", "hi", workspace=ws)
    token_file = Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "tokens" / "default"
    tickets = one(ws, "SELECT count(*) FROM ticket")
    for token in (b"sdt_x\r\nX-Forwarded-For: 10.0.0.1", "sdt_ü\x1b[2J".encode(), b"\xff\xfe"):
        token_file.write_bytes(token)
        refused = supportdesk("sync", workspace=ws)
        line = one_line(refused, refused.returncode)
        assert refused.returncode in (2, 4), line
        assert "\x1b" not in line and len(line) < 500
        assert one(ws, PENDING) == 1 and one(ws, "SELECT count(*) FROM ticket") == tickets


@pytest.mark.parametrize(
    ("server", "code"),
    [
        pytest.param("file:///etc/passwd", 2, id="file-url"),
        pytest.param("javascript:alert(1)", 2, id="javascript-url"),
        pytest.param("http://127.0.0.1:1", 4, id="nothing-listening"),
        pytest.param("http://user:pass@127.0.0.1:1/\r\nHost: evil", 2, id="newline-in-url"),
    ],
)
def test_a_hostile_server_address_at_login_is_one_line(cli: CLI, tmp_path: Path, server: str, code: int) -> None:
    ws = tmp_path / "ws"
    refused = cli("login", "--server", server, "--insecure-storage", workspace=ws, stdin="sdt_token")
    one_line(refused, code)
    status = cli("status", "--json", workspace=ws)
    assert "sdt_token" not in status.stdout + status.stderr
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "tokens").exists()
