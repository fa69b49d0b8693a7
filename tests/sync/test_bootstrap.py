"""Bootstrap: a streamed snapshot, bulk-loaded, resumable after the stream is cut."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supportdesk.demo.generator import build_demo
from supportdesk.server import admin
from supportdesk.server.db import open_database
from supportdesk.store import fts
from supportdesk.store.workspace import Workspace
from supportdesk.sync.bootstrap import bootstrap
from supportdesk.sync.client import Offline, ServerClient
from tests.live import LiveServer, Replica
from tests.sync.compare import differences, replica_view, server_view


class CutInMessages(ServerClient):
    """A client whose bootstrap stream breaks after the first chunk of messages, as a dropped
    connection would."""

    def bootstrap(self, table: str | None = None, after: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        for line in super().bootstrap(table, after):
            yield line
            if line.get("table") == "message":
                raise Offline("the bootstrap was cut")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str, str]]:
    """A server whose SQLite database holds a 300-ticket demo; yields it, an agent's token and id."""
    root = tmp_path / "server"
    build_demo(Workspace.open(root), tickets=300, seed=3)
    db = str(root / "supportdesk.db")
    database = open_database(db)
    from sqlalchemy import text

    with database.engine.connect() as connection:
        agent_id, email = connection.execute(
            text(
                "SELECT a.id, a.email FROM agent a JOIN agent_group g ON g.agent_id = a.id "
                "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
            )
        ).one()
    token = admin.new_token(database, email)[1]
    database.dispose()
    server = LiveServer(db, tmp_path).start()
    yield server, token, agent_id
    server.stop()


def test_an_interrupted_bootstrap_resumes_and_ends_equal_to_the_server(
    demo_server: tuple[LiveServer, str, str], tmp_path: Path
) -> None:
    server, token, agent_id = demo_server
    replica = Replica(tmp_path / "ws", server, token, bootstrap=False)
    cut = CutInMessages(server.url, token)
    steps: list[tuple[str, int, int]] = []
    try:
        with pytest.raises(Offline):
            bootstrap(replica.workspace, cut, progress=lambda *step: steps.append(step))
        state = replica.rows("SELECT bootstrap FROM sync_state")[0][0]
        assert '"table"' in state and '"complete"' not in state
        assert replica.rows("SELECT count(*) FROM message")[0][0] > 0
        assert '"message"' in state
        summary = bootstrap(replica.workspace, replica.client, progress=lambda *step: steps.append(step))
        assert summary.resumed
        assert steps and steps[-1] == ("indexing", 1, 1)
        database = open_database(server.db, migrate=False)
        try:
            assert not differences(server_view(database, agent_id), replica_view(replica.workspace))
        finally:
            database.dispose()
        connection = replica.workspace.connect()
        try:
            fts.integrity_check(connection)
            triggers = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'fts_%'"
            ).fetchone()[0]
        finally:
            connection.close()
        assert triggers == len(fts.TRIGGERS)
        # the report rollup, summed once at the end, holds every timing row and is kept again
        assert replica.rows("SELECT sum(created) FROM report_day WHERE dimension = 'all'") == replica.rows(
            "SELECT count(*) FROM ticket_timing"
        )
        assert replica.rows("SELECT count(*) FROM sqlite_master WHERE name LIKE 'report_day_a_'") == [(3,)]
        subject_word = replica.rows("SELECT subject FROM ticket LIMIT 1")[0][0].split()[0]
        with replica.workspace.reading() as connection:
            hits = connection.execute(
                "SELECT count(*) FROM ticket_fts WHERE ticket_fts MATCH ?", (fts_quote(subject_word),)
            ).fetchone()[0]
        assert hits >= 1
        replica.sync()  # a pull after the bootstrap finds nothing to change
        assert replica.rows("SELECT count(*) FROM outbox") == [(0,)]
    finally:
        cut.close()
        replica.close()


def fts_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'
