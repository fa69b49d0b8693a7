"""Bring a database to the current schema with Alembic.

A local workspace that is behind is copied aside first (``supportdesk.db.bak-<rev>-<time>``,
with SQLite's online backup, so a half-written WAL never produces a torn copy), then upgraded.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from supportdesk.store.schema import HEAD_REVISION
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(connection: Connection | None = None, url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision_sqlite(path: Path) -> str | None:
    """The revision stamped in a SQLite file, read with plain sqlite3 (no Alembic import)."""
    if not path.exists():
        return None
    connection = sqlite3.connect(path, timeout=60)
    try:
        return revision_of(connection)
    finally:
        connection.close()


def revision_of(connection: sqlite3.Connection) -> str | None:
    """The revision stamped in an open SQLite file (``None`` when it has none)."""
    row = connection.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'").fetchone()
    if row is None:
        return None
    version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(version[0]) if version else None


def backup_sqlite(path: Path, revision: str | None) -> Path:
    """Copy a workspace file aside before upgrading it; returns the copy's path."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{revision or 'none'}-{stamp}")
    source = sqlite3.connect(path, timeout=60)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()
    return target


def upgrade(engine: Engine) -> None:
    """Run every pending migration on ``engine``'s database."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
        if connection.dialect.name == "sqlite":  # a rebuilt table lost its triggers (.version_triggers)
            from supportdesk.store.version_triggers import mend_sqlite

            mend_sqlite(connection)


def head_revision() -> str:
    """The head of the migration scripts (tests check it equals ``HEAD_REVISION``)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    head = script.get_current_head()
    if head is None:  # pragma: no cover - we always ship migrations
        raise RuntimeError("no migrations found")
    return head


def needs_upgrade_sqlite(path: Path) -> bool:
    return current_revision_sqlite(path) != HEAD_REVISION
