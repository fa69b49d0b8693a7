"""Workspaces: created and migrated from empty, upgraded after a copy aside, safe for several writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from supportdesk.store.migrate import _alembic_config, current_revision_sqlite, head_revision
from supportdesk.store.schema import HEAD_REVISION
from supportdesk.store.workspace import Workspace, WorkspaceError


def test_head_revision_constant_matches_the_migrations() -> None:
    assert head_revision() == HEAD_REVISION


def test_migration_from_empty_creates_every_table_wal_and_fts(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "fresh")
    with closing(workspace.connect()) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        assert {"ticket", "message", "outbox", "audit_event", "ticket_fts", "ticket_doc", "kb_fts"} <= tables
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert connection.execute("SELECT client_id FROM sync_state").fetchone()[0]
    assert current_revision_sqlite(workspace.db_path) == HEAD_REVISION
    assert (tmp_path / "fresh" / "attachments").is_dir()


def test_downgrade_to_nothing_and_back_up(tmp_path: Path) -> None:
    from alembic import command

    workspace = Workspace.open(tmp_path / "ws")
    with workspace.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "base")
    with closing(sqlite3.connect(workspace.db_path)) as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'ticket'").fetchone()[0] == 0
    workspace.close()
    reopened = Workspace.open(tmp_path / "ws")
    assert current_revision_sqlite(reopened.db_path) == HEAD_REVISION


def test_an_older_workspace_is_copied_aside_then_upgraded(tmp_path: Path) -> None:
    """Stamp the file at the first revision with data in it; opening upgrades and keeps the data."""
    from alembic import command

    root = tmp_path / "old"
    workspace = Workspace.open(root)
    with workspace.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "base")
        command.upgrade(_alembic_config(connection), "0001_initial")
        connection.exec_driver_sql(
            "INSERT INTO groups (id, name, description, created_at, updated_at) "
            "VALUES ('g1', 'Kept', '', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
        )
    workspace.close()
    reopened = Workspace.open(root)
    with reopened.reading() as connection:
        assert connection.execute("SELECT name FROM groups").fetchone()[0] == "Kept"
    if HEAD_REVISION != "0001_initial":
        assert reopened.backup_path is not None and reopened.backup_path.exists()
        assert current_revision_sqlite(reopened.backup_path) == "0001_initial"
    assert current_revision_sqlite(reopened.db_path) == HEAD_REVISION


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    from supportdesk.store.migrate import backup_sqlite

    workspace = Workspace.open(tmp_path / "ws")
    workspace.set_setting("me", "someone")
    copy = backup_sqlite(workspace.db_path, HEAD_REVISION)
    with closing(sqlite3.connect(copy)) as connection:
        assert connection.execute("SELECT value FROM workspace_setting WHERE key = 'me'").fetchone()[0] == '"someone"'


def test_a_file_that_is_not_a_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "supportdesk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkspaceError, match="not a supportdesk workspace"):
        Workspace.open(root)
    with pytest.raises(WorkspaceError, match="no workspace"):
        Workspace.open(tmp_path / "missing", create=False)


WRITER = textwrap.dedent(
    """
    import sys
    from supportdesk.store.workspace import Workspace
    from supportdesk.domain import write
    from supportdesk.domain.context import SYSTEM

    workspace = Workspace.open(sys.argv[1])
    ticket_id, worker = sys.argv[2], sys.argv[3]
    for index in range(int(sys.argv[4])):
        if index % 2:
            write.apply(workspace, "ticket.note", {"ticket_id": ticket_id, "body": f"{worker} {index}"}, actor=SYSTEM)
        else:
            write.apply(workspace, "ticket.tag", {"ticket_id": ticket_id, "tags": [f"{worker}-{index}"]}, actor=SYSTEM)
    """
)


@pytest.mark.slow
@pytest.mark.integration
def test_three_processes_writing_at_once_never_see_a_lock(tmp_path: Path) -> None:
    from supportdesk.domain import write
    from supportdesk.domain.context import SYSTEM

    workspace = Workspace.open(tmp_path / "ws")
    ticket_id = write.apply(
        workspace,
        "ticket.create",
        {"subject": "Busy", "body": "Everyone writes here", "requester": {"value": "c@example.com"}},
        actor=SYSTEM,
    ).result["ticket_id"]
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    per_process = 1000
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(workspace.root), ticket_id, f"w{n}", str(per_process)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    errors = [p.communicate(timeout=600)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    assert not any("locked" in e for e in errors)
    with workspace.reading() as connection:
        notes = connection.execute("SELECT count(*) FROM message WHERE public = 0").fetchone()[0]
        tags = connection.execute("SELECT count(*) FROM ticket_tag").fetchone()[0]
        outbox = [r[0] for r in connection.execute("SELECT id FROM outbox ORDER BY id")]
    assert notes == 3 * per_process // 2
    assert tags == 3 * per_process // 2
    assert len(outbox) == 3 * per_process + 1
    assert outbox == list(range(outbox[0], outbox[0] + len(outbox)))  # consecutive mutation ids


def test_reusing_connections_lends_closed_connections_again_and_closes_them_after(workspace: Workspace) -> None:
    with workspace.reusing_connections():
        first = workspace.connect()
        first.execute("BEGIN IMMEDIATE")
        first.row_factory = None
        first.close()  # handed back: its transaction rolled back, its rows as connect() makes them
        again = workspace.connect()
        assert again is first and not again.in_transaction and again.row_factory is sqlite3.Row
        reader = workspace.connect(readonly=True)
        assert reader is not again  # read-only connections have a pool of their own
        with pytest.raises(sqlite3.OperationalError):
            reader.execute("INSERT INTO counter(name, value) VALUES ('x', 1)")
        reader.close()
        again.close()
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")  # the block closed it for good
    outside = workspace.connect()
    outside.close()
    with pytest.raises(sqlite3.ProgrammingError):
        outside.execute("SELECT 1")
