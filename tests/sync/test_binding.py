"""A workspace belongs to the agent it was filled for; a stale CLI reply is refused.

Everything through the real ``supportdesk`` command and a real server, as an agent would do it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.helpers import supportdesk
from tests.live import LiveServer


@pytest.fixture
def team_db(tmp_path: Path) -> str:
    db = str(tmp_path / "server.db")
    for args in (
        ["server", "init", "--db", db],
        ["server", "group", "add", "Tier 1", "--email", "support@acme.test", "--db", db],
        ["server", "group", "add", "Billing", "--db", db],
        ["server", "agent", "add", "Sam Agent", "--email", "sam@acme.test", "--group", "Tier 1", "--db", db],
        ["server", "agent", "add", "Bea Billing", "--email", "bea@acme.test", "--group", "Billing", "--db", db],
    ):
        done = supportdesk(*args)
        assert done.returncode == 0, done.stderr
    return db


def _token(db: str, email: str) -> str:
    return supportdesk("server", "token", "create", email, "--db", db).stdout.strip()


def _one(workspace: Path, sql: str) -> Any:
    opened = Workspace.open(workspace)
    try:
        with opened.reading() as connection:
            return connection.execute(sql).fetchone()[0]
    finally:
        opened.close()


def _count(workspace: Path, sql: str) -> int:
    return int(_one(workspace, sql))


def _ok(*args: str, workspace: Path, stdin: str | None = None) -> str:
    done = supportdesk(*args, workspace=workspace, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fill(workspace: Path, count: int) -> None:
    for index in range(count):
        _ok(
            "tickets",
            "create",
            "-s",
            f"Order {index}",
            "-r",
            f"c{index}@example.com",
            "--body",
            "hi",
            workspace=workspace,
        )


def test_a_workspace_refuses_another_agents_login_and_token(team_db: str, tmp_path: Path) -> None:
    sam_token, bea_token = _token(team_db, "sam@acme.test"), _token(team_db, "bea@acme.test")
    server = LiveServer(team_db, tmp_path).start()
    sams = tmp_path / "sam"
    try:
        _ok("login", "--server", server.url, "--insecure-storage", workspace=sams, stdin=sam_token)
        _fill(sams, 5)
        _ok("sync", workspace=sams)

        # 1. logging in there as Bea (any profile) is refused, and nothing changes
        for profile in ([], ["--profile", "bea"]):
            login = supportdesk(
                *profile, "login", "--server", server.url, "--insecure-storage", workspace=sams, stdin=bea_token
            )
            assert login.returncode == 2, login.stderr
            assert login.stderr.count("\n") == 1
            assert "belongs to sam@acme.test" in login.stderr and "bea@acme.test" in login.stderr
        assert _count(sams, "SELECT count(*) FROM ticket") == 5

        # 2. Bea logging in elsewhere with Sam's profile name would re-key Sam's workspace: refused
        beas = tmp_path / "bea"
        stolen = supportdesk("login", "--server", server.url, "--insecure-storage", workspace=beas, stdin=bea_token)
        assert stolen.returncode == 2 and "profile 'default' is sam@acme.test's" in stolen.stderr
        _ok("--profile", "bea", "login", "--server", server.url, "--insecure-storage", workspace=beas, stdin=bea_token)

        # 3. Sam's profile holding Bea's token (edited by hand, or SUPPORTDESK_TOKEN): sync refuses before
        #    anything is pushed or pulled; the copy and the outbox stay (this lost 51 tickets before)
        token_file = Path(os.environ["XDG_CONFIG_HOME"]) / "supportdesk" / "tokens" / "default"
        token_file.write_text(bea_token)
        refused = supportdesk("sync", workspace=sams)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1 and "belongs to sam@acme.test" in refused.stderr
        assert _count(sams, "SELECT count(*) FROM ticket") == 5
        status = json.loads(_ok("status", "--json", workspace=sams))
        assert "belongs to sam@acme.test" in status["last_error"]
        _ok("tickets", "note", "1", "--body", "pending work", workspace=sams)
        assert supportdesk("sync", workspace=sams).returncode == 2  # nothing pushed under Bea's name either
        pending = "SELECT count(*) FROM outbox WHERE id > (SELECT last_acked_mutation_id FROM sync_state)"
        assert _count(sams, pending) == 1

        token_file.write_text(sam_token)
        synced = _ok("sync", workspace=sams)
        assert "Pushed 1" in synced and "0 pending" in synced
        assert _count(sams, "SELECT count(*) FROM ticket") == 5
    finally:
        server.stop()


def test_a_reply_from_a_stale_cli_workspace_is_refused_and_kept_as_a_draft(team_db: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database

    server = LiveServer(team_db, tmp_path).start()
    sams = tmp_path / "sam"
    try:
        _ok(
            "login",
            "--server",
            server.url,
            "--insecure-storage",
            workspace=sams,
            stdin=_token(team_db, "sam@acme.test"),
        )
        _ok(
            "tickets",
            "create",
            "-s",
            "Refund",
            "-r",
            "ana@example.com",
            "--body",
            "Where is my refund?",
            workspace=sams,
        )
        _ok("sync", workspace=sams)
        ticket_id = _one(sams, "SELECT id FROM ticket")

        # the customer writes again; the CLI workspace has not pulled it when Sam replies
        database = open_database(team_db)
        apply_as(database, SYSTEM, "ticket.receive", {"ticket_id": ticket_id, "body": "Never mind, it arrived."})
        answer = "Your refund is on its way."
        _ok("tickets", "reply", "1", "--body", answer, workspace=sams)

        synced = supportdesk("sync", workspace=sams)
        assert synced.returncode == 1, synced.stderr
        assert "newer message from the customer" in synced.stderr
        assert "back in the ticket's draft" in synced.stderr
        with database.engine.connect() as connection:
            on_server = connection.execute(text("SELECT count(*) FROM message WHERE body = :b"), {"b": answer}).scalar()
        assert on_server == 0
        opened = Workspace.open(sams)
        with opened.reading() as connection:
            draft = connection.execute("SELECT body, state FROM draft WHERE kind = 'reply'").fetchone()
            bodies = [row[0] for row in connection.execute("SELECT body FROM message ORDER BY created_at")]
        opened.close()
        assert draft[0] == answer and json.loads(draft[1])["refused"] is True
        assert bodies == ["Where is my refund?", "Never mind, it arrived."]

        # now up to date, a reply goes through
        _ok("tickets", "reply", "1", "--body", "Glad to hear it!", workspace=sams)
        assert "0 pending" in _ok("sync", workspace=sams)
        with database.engine.connect() as connection:
            sent = connection.execute(text("SELECT count(*) FROM message WHERE body = 'Glad to hear it!'")).scalar()
        assert sent == 1
        database.dispose()
    finally:
        server.stop()


def test_a_note_refused_on_a_ticket_that_left_the_workspace_is_shown_with_its_text(
    team_db: str, tmp_path: Path
) -> None:
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.admin import group_id
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database

    server = LiveServer(team_db, tmp_path).start()
    sams = tmp_path / "sam"
    database = open_database(team_db)
    try:
        _ok(
            "login",
            "--server",
            server.url,
            "--insecure-storage",
            workspace=sams,
            stdin=_token(team_db, "sam@acme.test"),
        )
        _ok(
            "tickets",
            "create",
            "-s",
            "Invoice",
            "-r",
            "ana@example.com",
            "--group",
            "Tier 1",
            "--body",
            "hi",
            workspace=sams,
        )
        _ok("sync", workspace=sams)
        ticket_id = _one(sams, "SELECT id FROM ticket")
        _ok("tickets", "note", "1", "--body", "Refund approved\nby finance.", workspace=sams)
        moved = {"ticket_id": ticket_id, "group_id": group_id(database, "Billing"), "assignee_id": None}
        apply_as(database, SYSTEM, "ticket.assign", moved)

        synced = supportdesk("sync", workspace=sams)
        assert synced.returncode == 1, synced.stderr
        line = synced.stderr.strip()
        assert line.count("\n") == 0 and "the server refused ticket.note" in line
        assert "no longer in this workspace; its draft keeps the text: Refund approved by finance." in line
        assert _count(sams, "SELECT count(*) FROM ticket") == 0
        assert _one(sams, "SELECT body FROM draft") == "Refund approved\nby finance."
    finally:
        database.dispose()
        server.stop()
