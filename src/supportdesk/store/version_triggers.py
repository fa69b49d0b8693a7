"""The version counters' triggers, checked and mended after every upgrade of a SQLite file.

Two caches trust numbers that triggers keep (:mod:`.token_version` for the server's token
checks, :mod:`.config_version` for the write path's configuration). SQLite cannot alter most of
a table in place: a migration that changes one (Alembic's batch mode) copies it into a new table
and drops the old — and the old table's triggers go with it, without a word. A process would
then keep a revoked token's check, or configuration that changed, for as long as it runs.

So after every upgrade the triggers are counted against the names their own ``CREATE``
statements give, and any that is missing is made again (those statements are all ``IF NOT
EXISTS``), with a warning naming it. PostgreSQL alters tables in place and keeps its triggers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from supportdesk.store import config_version, token_version

log = logging.getLogger(__name__)

_NAME = re.compile(r"^CREATE TRIGGER IF NOT EXISTS (\w+) ")


def sqlite_statements() -> list[str]:
    """Both counters' SQLite statements: the tables, their first values, the triggers, the index."""
    return [*token_version.create_statements("sqlite"), *config_version.create_statements("sqlite")]


def expected_sqlite_triggers() -> frozenset[str]:
    """The trigger names the counters' statements create."""
    names = (_NAME.match(statement) for statement in sqlite_statements())
    return frozenset(match.group(1) for match in names if match)


def mend_sqlite(connection: Any) -> list[str]:
    """Re-create whatever is missing of the counters on an open SQLite connection (inside the
    caller's transaction); the names of the triggers that were missing, sorted."""
    rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    missing = sorted(expected_sqlite_triggers() - {row[0] for row in rows})
    if missing:
        log.warning("version counters: re-created triggers a table rebuild had dropped: %s", ", ".join(missing))
        for statement in sqlite_statements():
            connection.exec_driver_sql(statement)
    return missing
