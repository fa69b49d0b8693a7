"""The SQLite token cache attacked with a real server: what a token may do narrowed by hand in
``sqlite3`` (scopes, groups, its agent deleted) is honoured by the next request, and a
``token_version`` the server cannot read (the file locked by another process) never lets it
trust a cached check."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.db import sqlite_path
from tests.live import Deployment, api, deploy

NEW_TICKET: dict[str, Any] = {
    "subject": "Parcel lost",
    "body": "Courier says delivered.",
    "requester": {"email": "fay@example.com"},
    "group": "Tier 1",
}


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Deployment]:
    with deploy("sqlite", tmp_path) as running:
        yield running


def database_file(deployment: Deployment) -> Path:
    path = sqlite_path(deployment.team.db.url)
    assert path is not None
    return Path(path)


def by_hand(deployment: Deployment, statement: str, *params: Any) -> None:
    """A change made in a ``sqlite3`` session of its own (no server code runs)."""
    with sqlite3.connect(database_file(deployment)) as connection:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(statement, params)
    connection.close()


def tier1_ticket(deployment: Deployment) -> int:
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "gus@example.com"}}
    result, _ = apply_as(deployment.team.db, SYSTEM, "ticket.create", {**args, "group_id": deployment.team.tier1})
    return int(result["number"])


@pytest.mark.integration
def test_scopes_and_groups_narrowed_by_hand_are_honoured_by_the_next_request(sqlite_server: Deployment) -> None:
    deployment = sqlite_server
    number = tier1_ticket(deployment)
    token_id, secret = admin.new_token(deployment.team.db, "sam@acme.test", "shop", scopes=["tickets:write"])
    with api(deployment.server, secret) as shop:
        for _ in range(2):  # the second from the process's cache
            assert shop.get(f"/v1/tickets/{number}").status_code == 200
            assert shop.post(f"/v1/tickets/{number}/notes", json={"body": "seen"}).status_code == 201
        by_hand(deployment, "UPDATE api_token SET scopes = '[\"tickets:read\"]' WHERE id = ?", token_id)
        refused = shop.post(f"/v1/tickets/{number}/notes", json={"body": "again"})
        assert refused.status_code == 403, "the cached scopes were used"
        assert shop.get(f"/v1/tickets/{number}").status_code == 200
        by_hand(
            deployment, "UPDATE api_token SET group_ids = ? WHERE id = ?", f'["{deployment.team.billing}"]', token_id
        )
        assert shop.get(f"/v1/tickets/{number}").status_code == 404, "the cached group restriction was used"


@pytest.mark.integration
def test_an_agent_deleted_by_hand_loses_its_cached_token(sqlite_server: Deployment) -> None:
    deployment = sqlite_server
    _, secret = admin.new_token(deployment.team.db, "lee@acme.test", "kiosk")
    with api(deployment.server, secret) as kiosk:
        assert kiosk.get("/v1/me").status_code == 200
        assert kiosk.get("/v1/me").status_code == 200
        by_hand(deployment, "DELETE FROM api_token WHERE agent_id = ?", deployment.team.ids["lee"])
        assert kiosk.get("/v1/me").status_code == 401


@pytest.mark.parametrize("locked", ["exclusive", "missing"])
def test_a_token_version_that_cannot_be_read_never_lets_a_cached_check_through(tmp_path: Path, locked: str) -> None:
    """Another connection holds the file exclusively (a rollback-journal database mid-commit),
    or the number is not there at all: the reader answers None at once (it runs on the event
    loop and never waits), and the cache then gives out nothing — never the check it holds."""
    from supportdesk.server.token_cache import VERSIONED_TTL, TokenCache, VersionReader
    from supportdesk.store.token_version import create_statements
    from tests.server.test_token_cache import working

    path = tmp_path / "tokens.db"
    with sqlite3.connect(path) as setup:
        setup.execute(
            "CREATE TABLE api_token (id TEXT, agent_id TEXT, name TEXT, token_hash TEXT, "
            "revoked_at TEXT, expires_at TEXT, scopes TEXT, group_ids TEXT, rate_per_minute INT)"
        )
        setup.execute("CREATE TABLE agent (id TEXT)")
        setup.execute("CREATE TABLE agent_group (agent_id TEXT, group_id TEXT)")
        for statement in create_statements("sqlite"):
            setup.execute(statement)
    setup.close()
    reader = VersionReader(path)
    cache = TokenCache(VERSIONED_TTL, version=reader)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        seen = reader()
        assert seen is not None
        assert cache.get("h", _now()) is None
        cache.put("h", working(), cache.generation, seen)
        assert cache.get("h", _now()) is not None
        if locked == "exclusive":
            holder.execute("BEGIN EXCLUSIVE")
        else:
            holder.execute("ALTER TABLE token_version RENAME TO token_version_gone")
        assert reader() is None
        assert cache.get("h", _now()) is None, "a cached check was trusted without token_version"
    finally:
        holder.close()
        reader.close()


def _now() -> Any:
    from supportdesk.store.times import utcnow

    return utcnow()


@pytest.mark.integration
def test_postgresql_a_change_made_by_hand_in_psql_reaches_a_process_with_a_long_token_cache(tmp_path: Path) -> None:
    """With ``--token-cache 300`` a process trusts a check until it hears that tokens changed.
    A revocation, a narrowed scope or a deactivation typed into ``psql`` runs no server code:
    only the database's own triggers see it, so they must be what tells the processes."""
    import psycopg

    from tests.server.test_token_cache import LONG_CACHE, refused_within, status

    with deploy("postgresql", tmp_path, env=LONG_CACHE) as running:
        server, team = running.server, running.team
        url = team.db.url.replace("postgresql+psycopg://", "postgresql://")
        tom, bea = team.tokens["tom"], team.tokens["bea"]
        assert status(server, tom) == 200 and status(server, tom) == 200  # cached
        assert status(server, bea) == 200 and status(server, bea) == 200
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("UPDATE api_token SET revoked_at = now() WHERE agent_id = %s", (team.ids["tom"],))
        assert refused_within(server, tom), "a token revoked in psql was trusted from the cache"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("UPDATE agent SET active = false WHERE id = %s", (team.ids["bea"],))
        assert refused_within(server, bea), "a deactivation typed in psql was not honoured"
        assert status(server, team.tokens["sam"]) == 200


def test_the_trigger_notifies_on_the_channel_the_processes_listen_on() -> None:
    from supportdesk.server.notify import CHANNEL, TOKENS
    from supportdesk.store.token_version import PG_CHANNEL, pg_function_statement

    assert PG_CHANNEL == CHANNEL
    assert f"pg_notify('{CHANNEL}', json_build_object('type', '{TOKENS}')::text)" in pg_function_statement()


@pytest.mark.integration
def test_postgresql_the_notifying_trigger_function_comes_and_goes_with_its_migration(tmp_path: Path) -> None:
    """A database at 0025 gets the NOTIFY in its trigger function, and a downgrade takes it out."""
    from alembic import command
    from sqlalchemy import text

    from supportdesk.server.db import open_database
    from supportdesk.store.migrate import _alembic_config
    from tests.live import fresh_postgres_database

    body = "SELECT prosrc FROM pg_proc WHERE proname = 'token_version_bump'"
    with fresh_postgres_database() as url:
        database = open_database(url)
        try:
            with database.engine.begin() as connection:
                assert "pg_notify" in connection.execute(text(body)).scalar_one()
                command.downgrade(_alembic_config(connection), "0025_rest20d_token_version")
                assert "pg_notify" not in connection.execute(text(body)).scalar_one()
                command.upgrade(_alembic_config(connection), "head")
                assert "pg_notify" in connection.execute(text(body)).scalar_one()
        finally:
            database.dispose()


@pytest.mark.integration
def test_odd_authorization_headers_never_borrow_a_cached_check(sqlite_server: Deployment) -> None:
    """A working token cached, then sent beside a forged one in a second header, padded past the
    length a token may have, with non-ASCII bytes, or without its scheme: none of these works
    twice (the second time could only come from the cache)."""
    deployment = sqlite_server
    sam = deployment.team.tokens["sam"]
    url = f"{deployment.server.url}/v1/me"
    with httpx.Client(timeout=60) as client:
        assert client.get(url, headers={"Authorization": f"Bearer {sam}"}).status_code == 200
        odd: list[list[tuple[bytes, bytes]]] = [
            [(b"Authorization", b"Bearer sdt_forged"), (b"Authorization", f"Bearer {sam}".encode())],
            [(b"Authorization", f"Bearer {sam}{' ' * 300}x".encode())],
            [(b"Authorization", f"Bearer {sam}\xe9".encode("latin-1"))],
            [(b"Authorization", sam.encode())],
            [(b"Authorization", f"Basic {sam}".encode())],
        ]
        for headers in odd:
            for _ in range(2):
                answer = client.get(url, headers=headers)
                assert answer.status_code == 401, (headers, answer.text)
        assert client.get(url, headers={"Authorization": f"Bearer {sam}"}).status_code == 200
