"""Files on disk against someone who reads them raw: every connection to a workspace or a server
database deletes securely, so a deleted row's text is gone from the file, not only unlinked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from supportdesk.server.db import open_database
from supportdesk.store.engine import fold_wal
from supportdesk.store.workspace import Workspace


def secure_delete(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA secure_delete").fetchone()[0])


def test_every_connection_deletes_securely(workspace: Workspace, tmp_path: Path) -> None:
    writer = workspace.connect()
    reader = workspace.connect(readonly=True)
    try:
        assert secure_delete(writer) == 1 and secure_delete(reader) == 1
    finally:
        writer.close()
        reader.close()
    with workspace.reading() as connection:
        assert secure_delete(connection) == 1
    with workspace.engine.connect() as connection:
        assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
    server = open_database(tmp_path / "server.db")
    try:
        for engine in (server.engine, server.read_engine):
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
    finally:
        server.dispose()


def plant_and_delete(workspace: Workspace, planted: str, *, secure: bool) -> None:
    connection = workspace.connect()
    try:
        if not secure:
            connection.execute("PRAGMA secure_delete=OFF")
        connection.execute("CREATE TABLE IF NOT EXISTS scratch (body TEXT)")
        connection.execute("INSERT INTO scratch VALUES (?)", (planted * 50,))
        if connection.in_transaction:
            connection.commit()
        assert fold_wal(connection)
        assert planted.encode() in workspace.db_path.read_bytes()  # the search reads the right bytes
        connection.execute("DELETE FROM scratch")
        if connection.in_transaction:
            connection.commit()
        assert fold_wal(connection)
    finally:
        connection.close()


def found(workspace: Workspace, planted: str) -> list[Path]:
    files = workspace.db_path.parent.glob(workspace.db_path.name + "*")
    return [path for path in files if planted.encode() in path.read_bytes()]


def test_a_deleted_rows_text_leaves_the_file(workspace: Workspace) -> None:
    """What ``secure_delete`` is for: after a delete and a checkpoint the bytes are zeroed, so
    neither the file nor its write-ahead log still holds them — where, with the pragma off, the
    same search still finds them."""
    plant_and_delete(workspace, "IBAN DE44500105175407324931 passport C01X00T47", secure=True)
    assert found(workspace, "IBAN DE44500105175407324931 passport C01X00T47") == []
    plant_and_delete(workspace, "IBAN GB33BUKB20201555555555 passport K99Z11Q08", secure=False)
    assert found(workspace, "IBAN GB33BUKB20201555555555 passport K99Z11Q08") != []
