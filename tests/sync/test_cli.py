"""``supportdesk serve``, ``server …``, ``login`` and ``sync`` as a script would run them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.helpers import supportdesk
from tests.live import LiveServer


@pytest.fixture
def admin_db(tmp_path: Path) -> str:
    db = str(tmp_path / "server.db")
    for args in (
        ["server", "init", "--db", db],
        ["server", "group", "add", "Tier 1", "--email", "support@acme.test", "--db", db],
        ["server", "agent", "add", "Sam Agent", "--email", "sam@acme.test", "--group", "Tier 1", "--db", db],
    ):
        done = supportdesk(*args)
        assert done.returncode == 0, done.stderr
    return db


def test_admin_commands_make_a_team_and_tokens(admin_db: str) -> None:
    made = supportdesk("server", "token", "create", "sam@acme.test", "--name", "laptop", "--db", admin_db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("sdt_") and "not shown again" in made.stderr
    listed = supportdesk("server", "token", "list", "--db", admin_db).stdout
    assert "sam@acme.test" in listed and token not in listed
    missing = supportdesk("server", "agent", "add", "X", "--email", "x@acme.test", "--group", "Nope", "--db", admin_db)
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1 and "no group Nope" in missing.stderr
    bad_role = supportdesk("server", "agent", "add", "X", "--email", "x@acme.test", "--role", "boss", "--db", admin_db)
    assert bad_role.returncode == 2 and "not a role" in bad_role.stderr
    revoked = supportdesk("server", "token", "revoke", "--agent", "sam@acme.test", "--db", admin_db)
    assert revoked.returncode == 0 and "Revoked 1" in revoked.stdout
    again = supportdesk("server", "token", "revoke", "--agent", "sam@acme.test", "--db", admin_db)
    assert again.returncode == 3


def test_unreachable_postgres_is_one_line_and_exit_4(tmp_path: Path) -> None:
    done = supportdesk("server", "init", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert done.returncode == 4
    assert done.stderr.startswith("supportdesk: error: cannot open the server database")
    assert done.stderr.count("\n") == 1


def test_login_then_sync_with_the_token_on_stdin_in_a_0600_file(admin_db: str, tmp_path: Path) -> None:
    token = supportdesk("server", "token", "create", "sam@acme.test", "--db", admin_db).stdout.strip()
    server = LiveServer(admin_db, tmp_path).start()
    workspace = tmp_path / "ws"
    try:
        login = supportdesk(
            "login", "--server", server.url, "--insecure-storage", workspace=workspace, stdin=token + "\n"
        )
        assert login.returncode == 0, login.stderr
        assert "Logged in" in login.stdout and "Sam Agent" in login.stdout
        token_file = Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "tokens" / "default"
        assert f"warning: the token is kept in plain text in {token_file}" in login.stderr
        assert token_file.read_text() == token
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token not in (Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "profiles.json").read_text()
        from supportdesk.domain import write

        opened = Workspace.open(workspace)
        write.apply(
            opened, "ticket.create", {"subject": "From the CLI", "body": "hi", "requester": {"value": "z@example.com"}}
        )
        opened.close()
        synced = supportdesk("sync", workspace=workspace)
        assert synced.returncode == 0, synced.stderr
        assert "Pushed 1" in synced.stdout and "0 pending" in synced.stdout
        listed = supportdesk("tickets", "list", "--plain", "--fields", "number,subject", workspace=workspace)
        assert "1\tFrom the CLI" in listed.stdout
        supportdesk("server", "token", "revoke", "--agent", "sam@acme.test", "--db", admin_db)
        refused = supportdesk("sync", workspace=workspace)
        assert refused.returncode == 4 and "run 'supportdesk login'" in refused.stderr
        assert refused.stderr.count("\n") == 1
        server.kill()
        offline = supportdesk("sync", workspace=workspace)
        assert offline.returncode == 4 and "cannot reach" in offline.stderr
    finally:
        server.stop()


def test_login_refuses_a_workspace_holding_other_data(admin_db: str, tmp_path: Path) -> None:
    token = supportdesk("server", "token", "create", "sam@acme.test", "--db", admin_db).stdout.strip()
    server = LiveServer(admin_db, tmp_path).start()
    demo = tmp_path / "demo"
    try:
        assert supportdesk("demo", "--tickets", "20", workspace=demo).returncode == 0
        login = supportdesk("login", "--server", server.url, "--insecure-storage", workspace=demo, stdin=token)
        assert login.returncode == 2
        assert "already holds local data" in login.stderr
        wrong = supportdesk(
            "login", "--server", server.url, "--insecure-storage", workspace=tmp_path / "w2", stdin="sdt_wrong"
        )
        assert wrong.returncode == 4 and "refused the token" in wrong.stderr
    finally:
        server.stop()


def test_login_keeps_the_token_in_the_os_keyring(admin_db: str, tmp_path: Path) -> None:
    token = supportdesk("server", "token", "create", "sam@acme.test", "--db", admin_db).stdout.strip()
    server = LiveServer(admin_db, tmp_path).start()
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "keyring-data"),
    }
    try:
        login = supportdesk(
            "--profile", "acme", "login", "--server", server.url, workspace=tmp_path / "ws", stdin=token, env=env
        )
        assert login.returncode == 0, login.stderr
        # keyrings.alt's plaintext file is a keyring too, but never a silent one
        assert (
            "supportdesk: warning: the keyring in use here (keyrings.alt.file.PlaintextKeyring) "
            "keeps the token in plain text on disk" in login.stderr
        )
        assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "tokens").exists()
        stored = list((tmp_path / "keyring-data").rglob("keyring_pass.cfg"))
        assert stored and "[supportdesk]" in stored[0].read_text() and "acme_40" in stored[0].read_text()
        synced = supportdesk("sync", workspace=tmp_path / "ws", env=env)
        assert synced.returncode == 0, synced.stderr
        no_keyring = supportdesk(
            "login",
            "--server",
            server.url,
            workspace=tmp_path / "ws3",
            stdin=token,
            env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        )
        assert no_keyring.returncode == 2 and "--insecure-storage" in no_keyring.stderr
    finally:
        server.stop()


def test_an_admin_changes_an_agents_groups_and_their_next_sync_follows(admin_db: str, tmp_path: Path) -> None:
    assert supportdesk("server", "group", "add", "Billing", "--db", admin_db).returncode == 0
    token = supportdesk("server", "token", "create", "sam@acme.test", "--db", admin_db).stdout.strip()
    server = LiveServer(admin_db, tmp_path).start()
    workspace = tmp_path / "ws"
    try:
        login = supportdesk("login", "--server", server.url, "--insecure-storage", workspace=workspace, stdin=token)
        assert login.returncode == 0, login.stderr
        quiet = supportdesk("sync", workspace=workspace)
        assert quiet.returncode == 0 and "groups or role changed" not in quiet.stderr

        nothing = supportdesk("server", "agent", "update", "sam@acme.test", "--db", admin_db)
        assert nothing.returncode == 2 and nothing.stderr.startswith("supportdesk: error: nothing to change")
        unknown = supportdesk("server", "agent", "update", "nobody@acme.test", "--role", "agent", "--db", admin_db)
        assert unknown.returncode == 3 and unknown.stderr.count("\n") == 1
        moved = supportdesk(
            "server", "agent", "update", "sam@acme.test", "--group", "Tier 1", "--group", "Billing", "--db", admin_db
        )
        assert moved.returncode == 0, moved.stderr

        followed = supportdesk("sync", workspace=workspace)
        assert followed.returncode == 0, followed.stderr
        assert "your groups or role changed on the server" in followed.stderr
        groups = Workspace.open(workspace)
        with groups.reading() as connection:
            held = connection.execute(
                "SELECT g.name FROM agent_group ag JOIN groups g ON g.id = ag.group_id "
                "JOIN agent a ON a.id = ag.agent_id WHERE a.email = 'sam@acme.test' ORDER BY g.name"
            ).fetchall()
        groups.close()
        assert [row[0] for row in held] == ["Billing", "Tier 1"]
        again = supportdesk("sync", workspace=workspace)
        assert again.returncode == 0 and "groups or role changed" not in again.stderr
    finally:
        server.stop()
