"""Bulk loading drops and rebuilds secondary indexes and FTS, leaving the schema as it was."""

from __future__ import annotations

from contextlib import closing

from supportdesk.store import fts, reads
from supportdesk.store.bulk import bulk_load
from supportdesk.store.workspace import Workspace


def schema(workspace: Workspace) -> list[tuple[str, str]]:
    with workspace.reading() as connection:
        return [
            (r[0], r[1])
            for r in connection.execute(
                "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name"
            )
        ]


def test_bulk_load_restores_indexes_triggers_and_search(workspace: Workspace) -> None:
    before = schema(workspace)
    with closing(workspace.connect()) as connection:
        connection.execute("BEGIN IMMEDIATE")
        with bulk_load(connection):
            during = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'ix_ticket_updated'"
            ).fetchone()[0]
            connection.execute(
                "INSERT INTO customer (id, name, notes, locale, created_at, updated_at) "
                "VALUES ('c1', 'Bulk Customer', '', 'en', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
            )
            connection.execute(
                "INSERT INTO ticket (id, number, subject, status, priority, type, channel, requester_id, fields, "
                "created_at, updated_at) VALUES ('t1', 1, 'Loaded in bulk', 'open', 'normal', 'question', 'email', "
                "'c1', '{}', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
            )
        connection.execute("COMMIT")
        fts.integrity_check(connection)
    assert during == 0
    assert schema(workspace) == before
    with workspace.reading() as connection:
        rows = reads.queue_page(connection, reads.plan_queue("bulk"), limit=5).rows
    assert [r.number for r in rows] == [1]
