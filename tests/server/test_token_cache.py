"""Token checks cached per process on PostgreSQL, and revocations that reach every process.

The hostile cases run two server processes on one database with a cache far longer than any
wait here (300 s), so a refusal can only come from the revocation reaching the process — not
from the cache running out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.domain.context import Actor
from supportdesk.server.token_cache import TokenCache
from supportdesk.server.tokens import TokenCheck
from supportdesk.store.enums import Role
from supportdesk.store.times import utcnow
from tests.cli.helpers import supportdesk
from tests.live import Deployment, LiveServer, deploy

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


def test_ttl_zero_caches_nothing() -> None:
    cache = TokenCache(ttl=0)
    cache.put("h", working(), cache.generation)
    assert cache.get("h", utcnow()) is None and len(cache) == 0


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
