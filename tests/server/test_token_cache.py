"""Token checks cached per process, and revocations that reach every process.

On PostgreSQL the hostile cases run two server processes on one database with a cache far
longer than any wait here (300 s), so a refusal can only come from the revocation reaching the
process — not from the cache running out. On SQLite the cache is always on (300 s) and every
request reads the database's ``token_version``: a change made by a command in another process
must be honoured by the very next request, with no waiting at all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from supportdesk.domain.context import Actor
from supportdesk.server.token_cache import TokenCache
from supportdesk.server.tokens import TokenCheck
from supportdesk.store.enums import Role
from supportdesk.store.times import utcnow
from supportdesk.store.token_version import READ as TOKEN_VERSION
from supportdesk.store.token_version import TOKEN_COLUMNS
from tests.cli.helpers import supportdesk
from tests.live import Deployment, LiveServer, Team, deploy, make_team

LONG_CACHE = {"SUPPORTDESK_TOKEN_CACHE": "300"}


def working(expires_in: timedelta | None = None) -> TokenCheck:
    actor = Actor(id="a1", name="Ada", email="ada@acme.test", role=Role("agent"), group_ids=frozenset())
    return TokenCheck("t1", actor=actor, expires_at=utcnow() + expires_in if expires_in else None)


def test_the_cache_keeps_working_tokens_only_and_forgets_on_clear() -> None:
    cache = TokenCache(ttl=60)
    cache.put("h", TokenCheck("t1", problem="revoked"), cache.generation)
    assert cache.get("h", utcnow()) is None, "a refusal was cached"
    cache.put("h", working(), cache.generation)
    assert cache.get("h", utcnow()) is not None
    cache.clear()
    assert cache.get("h", utcnow()) is None


def test_a_lookup_that_began_before_a_clear_is_not_stored_after_it() -> None:
    cache = TokenCache(ttl=60)
    began = cache.generation
    cache.clear()  # a revocation committed while the lookup was reading the old row
    cache.put("h", working(), began)
    assert cache.get("h", utcnow()) is None


def test_a_cached_token_past_its_expiry_is_looked_up_again(clock: Any) -> None:
    clock.freeze()
    cache = TokenCache(ttl=600)
    cache.put("h", working(expires_in=timedelta(seconds=30)), cache.generation)
    assert cache.get("h", utcnow()) is not None
    clock.advance(timedelta(seconds=31))
    assert cache.get("h", utcnow()) is None


class Version:
    """A ``token_version`` reader whose number the test moves (None: unreadable)."""

    def __init__(self) -> None:
        self.value: int | None = 7

    def __call__(self) -> int | None:
        return self.value


def test_a_moved_version_forgets_every_check_and_a_check_read_at_another_is_not_stored() -> None:
    version = Version()
    cache = TokenCache(ttl=600, version=version)
    assert cache.get("h", utcnow()) is None
    cache.put("h", working(), cache.generation, version=7)
    assert cache.get("h", utcnow()) is not None
    version.value = 8  # a token or an agent changed, by anyone
    assert cache.get("h", utcnow()) is None
    began = cache.generation
    cache.put("h", working(), began, version=7)  # looked up in a snapshot before the change
    assert cache.get("h", utcnow()) is None, "a check read at an older number was kept"
    cache.put("h", working(), began, version=None)
    assert cache.get("h", utcnow()) is None, "a check read at no known number was kept"
    cache.put("h", working(), cache.generation, version=8)
    assert cache.get("h", utcnow()) is not None
    version.value = None  # the number cannot be read: nothing is trusted
    assert cache.get("h", utcnow()) is None


def test_ttl_zero_caches_nothing() -> None:
    cache = TokenCache(ttl=0)
    cache.put("h", working(), cache.generation)
    assert cache.get("h", utcnow()) is None and len(cache) == 0


def test_serve_keeps_token_checks_on_postgresql_by_default() -> None:
    """``serve``'s ``--token-cache`` default is the cache's TTL (a lookup on every request was a
    checkout, a thread hop and three round trips); ``--token-cache 0`` still turns it off."""
    import typer.main

    from supportdesk.cli.main import app
    from supportdesk.cli.server import TOKEN_CACHE_SECONDS
    from supportdesk.server.token_cache import TTL

    serve = typer.main.get_command(app).get_command(None, "serve")  # type: ignore[attr-defined]
    (option,) = [param for param in serve.params if param.name == "token_cache"]
    assert option.default == TOKEN_CACHE_SECONDS == TTL > 0


# --- two processes, one PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[Deployment, LiveServer]]:
    with deploy("postgresql", tmp_path, env=LONG_CACHE) as running:
        second = LiveServer(running.server.db, tmp_path, env=LONG_CACHE).start()
        try:
            yield running, second
        finally:
            second.stop()


def status(server: LiveServer, token: str) -> int:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        return client.get("/v1/me").status_code


def refused_within(server: LiveServer, token: str, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status(server, token) == 401:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.integration
def test_a_token_revoked_in_one_process_is_refused_in_the_other(two_processes: tuple[Deployment, LiveServer]) -> None:
    running, second = two_processes
    first, tom = running.server, running.team.tokens["tom"]
    assert status(first, tom) == 200 and status(second, tom) == 200  # cached in both
    with httpx.Client(
        base_url=second.url, headers={"Authorization": f"Bearer {running.team.tokens['ada']}"}, timeout=60
    ) as ada:
        answer = ada.post("/v1/admin/tokens/revoke", params={"agent_id": running.team.ids["tom"]})
    assert answer.json() == {"revoked": 1}
    assert status(second, tom) == 401, "the process that revoked it still took the token"
    assert refused_within(first, tom), "the other process kept trusting its cached check"
    assert status(first, running.team.tokens["sam"]) == 200  # only tom's token


@pytest.mark.integration
def test_a_command_revoking_or_deactivating_reaches_every_running_process(
    two_processes: tuple[Deployment, LiveServer],
) -> None:
    running, second = two_processes
    db, sam, bea = running.server.db, running.team.tokens["sam"], running.team.tokens["bea"]
    for server in (running.server, second):
        assert status(server, sam) == 200 and status(server, bea) == 200
    result = supportdesk("server", "token", "revoke", "--agent", "sam@acme.test", "--db", db)
    assert result.returncode == 0, result.stderr
    result = supportdesk("server", "agent", "update", "bea@acme.test", "--inactive", "--db", db)
    assert result.returncode == 0, result.stderr
    for server in (running.server, second):
        assert refused_within(server, sam), "a revoked token still works"
        assert refused_within(server, bea), "a deactivated agent's token still works"
    assert status(second, running.team.tokens["tom"]) == 200


# --- SQLite: one server, commands in other processes ----------------------------------------------


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Deployment]:
    with deploy("sqlite", tmp_path) as running:
        yield running


def me(server: LiveServer, token: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        return client.get("/v1/me")


def cached(server: LiveServer, token: str) -> dict[str, Any]:
    """Ask twice (the second answer comes from the process's cache); the last answer's body."""
    assert me(server, token).status_code == 200
    answer = me(server, token)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.integration
def test_sqlite_a_command_revoking_a_token_is_honoured_by_the_next_request(sqlite_server: Deployment) -> None:
    server, db = sqlite_server.server, sqlite_server.server.db
    sam, tom = sqlite_server.team.tokens["sam"], sqlite_server.team.tokens["tom"]
    cached(server, sam)
    cached(server, tom)
    result = supportdesk("server", "token", "revoke", "--agent", "sam@acme.test", "--db", db)
    assert result.returncode == 0, result.stderr
    assert me(server, sam).status_code == 401, "a token revoked by another process still works"
    assert me(server, tom).status_code == 200  # only sam's


@pytest.mark.integration
def test_sqlite_role_group_and_activity_changed_by_a_command_are_honoured_at_once(sqlite_server: Deployment) -> None:
    server, db, team = sqlite_server.server, sqlite_server.server.db, sqlite_server.team
    tom, bea = team.tokens["tom"], team.tokens["bea"]
    assert cached(server, tom)["group_ids"] == [team.tier1]
    result = supportdesk("server", "agent", "update", "tom@acme.test", "--group", "Billing", "--db", db)
    assert result.returncode == 0, result.stderr
    assert me(server, tom).json()["group_ids"] == [team.billing], "the cached groups were used"
    result = supportdesk("server", "agent", "update", "tom@acme.test", "--role", "admin", "--db", db)
    assert result.returncode == 0, result.stderr
    assert me(server, tom).json()["role"] == "admin", "the cached role was used"
    cached(server, bea)
    result = supportdesk("server", "agent", "update", "bea@acme.test", "--inactive", "--db", db)
    assert result.returncode == 0, result.stderr
    assert me(server, bea).status_code == 401, "a deactivated agent's cached token still works"


@pytest.mark.integration
def test_sqlite_a_cached_token_stops_at_its_expiry(sqlite_server: Deployment) -> None:
    from supportdesk.server.tokens import create_token

    server, team = sqlite_server.server, sqlite_server.team
    expires = utcnow() + timedelta(seconds=3)
    with team.db.engine.connect() as connection, connection.begin():
        _, token = create_token(connection, team.ids["sam"], "short", expires_at=expires)
    cached(server, token)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until it has expired: the cached check keeps working
        answer = me(server, token)
        if utcnow() >= expires:
            break  # answered at or after the instant: either answer is right
        assert answer.status_code == 200, answer.text
    answer = me(server, token)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "token_expired"


@pytest.mark.integration
def test_sqlite_forged_and_unknown_tokens_are_never_taken_for_a_cached_one(sqlite_server: Deployment) -> None:
    server, team = sqlite_server.server, sqlite_server.team
    sam = team.tokens["sam"]
    cached(server, sam)
    last = "A" if sam[-1] != "A" else "B"
    for forged in (sam[:-1] + last, sam[:-1], sam + "A", sam.upper(), "sdt_" + "A" * 43):
        for _ in range(2):  # the second time could only pass from a cache
            assert me(server, forged).status_code == 401, forged
    assert me(server, sam).status_code == 200


@pytest.mark.integration
def test_sqlite_a_token_created_or_revoked_by_hand_in_sqlite3_is_honoured(sqlite_server: Deployment) -> None:
    """No server code runs for a hand-made change: only the database's own triggers know."""
    import sqlite3

    from supportdesk.server.db import sqlite_path

    server, team = sqlite_server.server, sqlite_server.team
    tom = team.tokens["tom"]
    cached(server, tom)
    path = sqlite_path(team.db.url)
    assert path is not None
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE api_token SET revoked_at = '2000-01-01 00:00:00' WHERE agent_id = ?", (team.ids["tom"],)
        )
    assert me(server, tom).status_code == 401


@pytest.fixture
def sqlite_team(tmp_path: Path) -> Iterator[Team]:
    team = make_team(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        yield team
    finally:
        team.db.dispose()


def token_version(team: Team) -> int:
    with team.db.read_engine.connect() as connection:
        return int(connection.exec_driver_sql(TOKEN_VERSION).scalar_one())


def test_token_version_moves_with_every_change_a_check_reads_and_not_with_last_used(sqlite_team: Team) -> None:
    from sqlalchemy import inspect

    team = sqlite_team
    columns = {column["name"] for column in inspect(team.db.engine).get_columns("api_token")}
    assert columns - {"created_at", "last_used_at"} == set(TOKEN_COLUMNS), "a column a check reads bumps nothing"
    changes = (
        "UPDATE api_token SET scopes = '[\"tickets:read\"]' WHERE agent_id = :sam",
        "UPDATE api_token SET expires_at = '2000-01-01 00:00:00' WHERE agent_id = :sam",
        "UPDATE agent SET role = 'admin' WHERE id = :sam",
        "DELETE FROM agent_group WHERE agent_id = :sam",
        "DELETE FROM api_token WHERE agent_id = :sam",
    )
    for change in changes:
        before = token_version(team)
        with team.db.engine.begin() as connection:
            connection.execute(text(change), {"sam": team.ids["sam"]})
        assert token_version(team) != before, change
    before = token_version(team)
    with team.db.engine.begin() as connection:
        connection.execute(text("UPDATE api_token SET last_used_at = '2030-01-01 00:00:00'"))
    assert token_version(team) == before, "the server's own last_used_at write dropped every cached check"


def test_a_lookup_racing_a_revocation_in_another_process_is_not_trusted_after_it(sqlite_team: Team) -> None:
    """The check was read (working) just before another process revoked the token, and stored
    just after: the next request reads the moved number and looks the token up again."""
    import sqlite3

    from supportdesk.server.db import sqlite_path
    from supportdesk.server.token_cache import VERSIONED_TTL, VersionReader
    from supportdesk.server.tokens import check_token, hash_token

    team, tom = sqlite_team, sqlite_team.tokens["tom"]
    path = sqlite_path(team.db.url)
    assert path is not None
    cache = TokenCache(VERSIONED_TTL, version=VersionReader(path))
    assert cache.get(hash_token(tom), utcnow()) is None
    generation = cache.generation
    with team.db.read_engine.connect() as connection:
        version = int(connection.exec_driver_sql(TOKEN_VERSION).scalar_one())
        check = check_token(connection, tom)
    assert check.actor is not None
    with sqlite3.connect(path) as other:  # the CLI's revocation, committed now
        other.execute("UPDATE api_token SET revoked_at = '2000-01-01 00:00:00' WHERE agent_id = ?", (team.ids["tom"],))
    cache.put(hash_token(tom), check, generation, version)  # the racing request stores its check
    assert cache.get(hash_token(tom), utcnow()) is None, "the revoked token's stale check was trusted"
