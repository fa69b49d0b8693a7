"""A migration that rebuilds a table on SQLite (Alembic's batch mode: copy, drop, rename) drops
that table's triggers without a word; the token and configuration caches trust the counters
those triggers keep. Every upgrade re-creates what is missing (:mod:`supportdesk.store.version_triggers`)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from supportdesk.server.db import open_database
from supportdesk.store import config_version, token_version
from supportdesk.store.migrate import upgrade
from supportdesk.store.version_triggers import expected_sqlite_triggers
from tests.live import make_team


def triggers(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in rows}


def rebuild(engine: sa.Engine, table: str) -> None:
    """What a future migration adding a column with batch mode does to ``table``."""
    with engine.begin() as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table(table, recreate="always") as batch:
            batch.add_column(sa.Column("added_later", sa.Text, nullable=True))


def version(engine: sa.Engine, read: str) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(read).scalar_one())


def test_every_expected_trigger_exists_in_a_new_database(tmp_path: Path) -> None:
    database = open_database(tmp_path / "team.db")
    try:
        assert expected_sqlite_triggers() <= triggers(database.engine)
        assert len(expected_sqlite_triggers()) == 32
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("table", "read", "change"),
    [
        ("api_token", token_version.READ, "UPDATE api_token SET revoked_at = '2001-01-01 00:00:00'"),
        ("agent_group", token_version.READ, "UPDATE agent_group SET agent_id = agent_id"),
        ("agent_group", config_version.READ, "UPDATE agent_group SET agent_id = agent_id"),
    ],
)
def test_an_upgrade_re_creates_the_triggers_a_table_rebuild_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, table: str, read: str, change: str
) -> None:
    database = make_team(str(tmp_path / "team.db")).db  # agents, groups and tokens to change
    try:
        engine = database.engine
        rebuild(engine, table)
        lost = expected_sqlite_triggers() - triggers(engine)
        assert lost and all(name.endswith(("_insert", "_update", "_delete")) for name in lost)
        assert all(f"_{table}_" in name for name in lost), "the premise: a rebuild drops the table's triggers"
        before = version(engine, read)
        with engine.begin() as connection:
            connection.exec_driver_sql(change)
        assert version(engine, read) == before, "the premise: the counter no longer moves"

        with caplog.at_level(logging.WARNING, logger="supportdesk.store.version_triggers"):
            upgrade(engine)
        assert expected_sqlite_triggers() <= triggers(engine)
        assert all(name in caplog.text for name in lost)
        with engine.begin() as connection:
            connection.exec_driver_sql(change)
        assert version(engine, read) != before
    finally:
        database.dispose()


def test_an_upgrade_with_nothing_missing_changes_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = open_database(tmp_path / "team.db")
    try:
        before = (version(database.engine, token_version.READ), version(database.engine, config_version.READ))
        with caplog.at_level(logging.WARNING, logger="supportdesk.store.version_triggers"):
            upgrade(database.engine)
        assert "re-created" not in caplog.text
        assert (version(database.engine, token_version.READ), version(database.engine, config_version.READ)) == before
    finally:
        database.dispose()
