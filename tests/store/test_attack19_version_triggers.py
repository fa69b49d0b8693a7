"""Attack on ``version_triggers.mend_sqlite`` (attack19): every table a version counter watches,
rebuilt by Alembic's batch mode (as a future migration would), then upgraded — the triggers and
the erasure index must be exactly those of a new database (the same SQL), and a second upgrade
must change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from supportdesk.server.db import open_database
from supportdesk.store import config_version
from supportdesk.store.migrate import upgrade
from tests.store.test_version_triggers import rebuild

#: customer is left out: a view (ticket_doc) names it, so batch mode cannot rebuild it as it is
WATCHED = sorted({*config_version.WATCHED, "api_token"})


def schema_of_counters(engine: sa.Engine) -> set[tuple[str, str, str]]:
    """The triggers and the erasure index, with the table each is on and its SQL."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
            f"OR name = '{config_version.ERASED_INDEX}'"
        )
        return {(str(row[0]), str(row[1]), str(row[2])) for row in rows}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str]]:
    database = open_database(tmp_path_factory.mktemp("fresh") / "team.db")
    try:
        return schema_of_counters(database.engine)
    finally:
        database.dispose()


@pytest.mark.parametrize("table", WATCHED)
def test_a_rebuilt_watched_table_gets_back_exactly_what_a_new_database_has(
    tmp_path: Path, table: str, fresh: set[tuple[str, str, str]]
) -> None:
    database = open_database(tmp_path / "team.db")
    try:
        rebuild(database.engine, table)
        assert schema_of_counters(database.engine) != fresh, "the premise: the rebuild dropped something"
        upgrade(database.engine)
        assert schema_of_counters(database.engine) == fresh
        upgrade(database.engine)
        assert schema_of_counters(database.engine) == fresh
    finally:
        database.dispose()
