"""Databases and attachment folders are their owner's only, whatever the umask: server database
files (with -wal and -shm) 0600 and its attachments folder 0700; the same for an agent's
workspace file and its attachments folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from supportdesk.domain import write
from supportdesk.server.db import open_database
from supportdesk.store.workspace import Workspace
from tests.channels.server_helpers import channel_tables, write_config
from tests.live import LiveServer, make_team


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a careless shell: everything it creates is readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_server_database_and_its_attachments_folder_are_private(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "server.db"
    team = make_team(str(db))
    write_config(channel_tables("http://127.0.0.1:9/unused", None))
    server = LiveServer(str(db), tmp_path).start()
    try:
        with team.db.engine.connect() as connection, connection.begin():
            connection.execute(text("UPDATE agent SET name = name"))
        for name in ("server.db", "server.db-wal", "server.db-shm"):
            assert (tmp_path / name).exists(), name
            assert mode(tmp_path / name) == 0o600, (name, oct(mode(tmp_path / name)))
        attachments = tmp_path / "server-attachments"
        assert attachments.is_dir()
        assert mode(attachments) == 0o700, oct(mode(attachments))
    finally:
        server.stop()
        team.db.dispose()


def test_an_existing_database_with_loose_modes_is_tightened_when_opened(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "old.db"
    open_database(str(db)).dispose()
    db.chmod(0o644)
    open_database(str(db)).dispose()
    assert mode(db) == 0o600


def test_a_workspace_file_and_its_attachments_folder_are_private(tmp_path: Path, open_umask: None) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    try:
        write.apply(
            workspace,
            "ticket.create",
            {"subject": "Private", "body": "My IBAN is in here", "requester": {"value": "c@example.com"}},
        )
        assert mode(workspace.db_path) == 0o600
        for suffix in ("-wal", "-shm"):
            companion = workspace.db_path.with_name(workspace.db_path.name + suffix)
            if companion.exists():
                assert mode(companion) == 0o600, companion
        assert mode(workspace.attachments_dir) == 0o700
    finally:
        workspace.close()
    workspace.db_path.chmod(0o644)
    workspace.attachments_dir.chmod(0o755)
    Workspace.open(tmp_path / "ws").close()
    assert mode(workspace.db_path) == 0o600 and mode(workspace.attachments_dir) == 0o700


@pytest.mark.parametrize(
    "spelling",
    ["sqlite:///{path}?timeout=5", "sqlite+pysqlite:///{path}", "sqlite:///file:{path}?mode=rwc&uri=true"],
)
def test_a_sqlite_url_with_a_query_or_a_driver_guards_the_file_the_engine_opens(
    tmp_path: Path, open_umask: None, spelling: str
) -> None:
    """The file made private (and read for the token version) is the one SQLite opens, not a
    file named after the whole URL's tail."""
    from supportdesk.server.db import sqlite_path

    db = tmp_path / "team.db"
    url = spelling.format(path=db)
    assert sqlite_path(url) == db
    database = open_database(url)
    try:
        with database.engine.connect() as connection, connection.begin():
            connection.execute(text("UPDATE agent SET name = name"))
    finally:
        database.dispose()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("team.db")) == []
    assert mode(db) == 0o600


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:m1?mode=memory&cache=shared&uri=true"]
)
def test_an_in_memory_sqlite_url_names_no_file(url: str) -> None:
    from supportdesk.server.db import sqlite_path

    assert sqlite_path(url) is None
