"""Open event streams follow their token: revoked, expired, deactivated or re-grouped, the stream
ends within seconds with a ``closed`` event; and a token holds a limited number of streams."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import httpx
import pytest

from supportdesk.server import admin
from supportdesk.sync.client import ServerClient
from tests.live import Deployment

Events = queue.Queue[tuple[str, dict[str, Any]]]


class Stream:
    """One ``GET /v1/events`` read on a thread; every event lands in ``events``, then ``("end", …)``."""

    def __init__(self, url: str, token: str) -> None:
        self.events: Events = queue.Queue()
        self.client = ServerClient(url, token)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.client.events(read_timeout=60):
                self.events.put(event)
        except Exception as error:
            self.events.put(("error", {"error": str(error)}))
        finally:
            self.events.put(("end", {}))

    def next(self, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next event of ``kind``, skipping keep-alives and presence."""
        deadline = time.monotonic() + timeout
        while True:
            event, data = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if event == kind:
                return data
            assert event in ("keep-alive", "presence", "poke"), (event, data)

    def ended(self, timeout: float = 30.0) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def close(self) -> None:
        self.client.close()


def open_stream(deployment: Deployment, who: str) -> Stream:
    stream = Stream(deployment.server.url, deployment.team.tokens[who])
    stream.next("hello")
    return stream


def test_a_stream_ends_when_its_token_is_revoked_or_its_agent_deactivated(deployment: Deployment) -> None:
    team = deployment.team
    sam, tom = open_stream(deployment, "sam"), open_stream(deployment, "tom")
    bystander = open_stream(deployment, "bea")
    try:
        started = time.monotonic()
        admin.revoke_tokens(team.db, agent_ref="sam@acme.test")
        closed = sam.next("closed")
        assert closed["reason"] == "token"
        assert "revoked" in closed["message"]
        assert sam.ended()
        # the server checks every 2 s; 5 s is the promise (a loaded machine gets some slack)
        assert time.monotonic() - started < 15

        admin.update_agent(team.db, "tom@acme.test", active=False)
        assert tom.next("closed")["reason"] == "token"
        assert tom.ended()
        assert bystander.thread.is_alive(), "other agents' streams stay open"
    finally:
        for stream in (sam, tom, bystander):
            stream.close()


def test_a_stream_ends_when_the_agents_groups_change_and_reconnects_with_the_new_scope(
    sqlite_deployment: Deployment,
) -> None:
    team = sqlite_deployment.team
    stream = open_stream(sqlite_deployment, "sam")
    try:
        admin.update_agent(team.db, "sam@acme.test", groups=["Billing"])
        closed = stream.next("closed")
        assert closed["reason"] == "scope"
        assert stream.ended()
    finally:
        stream.close()
    again = open_stream(sqlite_deployment, "sam")  # the token still works: reconnecting is allowed
    again.close()


def test_a_stream_of_an_expired_token_is_refused(sqlite_deployment: Deployment, clock: Any) -> None:
    from datetime import timedelta

    from supportdesk.store.times import utcnow

    team = sqlite_deployment.team
    clock.freeze(utcnow() - timedelta(hours=2))
    _, token = admin.new_token(team.db, "sam@acme.test", "old laptop", expires_at=utcnow() + timedelta(hours=1))
    with httpx.Client(base_url=sqlite_deployment.server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        refused = client.get("/v1/events")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_expired"
    assert "expired" in refused.json()["error"]["message"]


def test_a_token_holds_at_most_four_streams_and_others_are_not_affected(sqlite_deployment: Deployment) -> None:
    url, tokens = sqlite_deployment.server.url, sqlite_deployment.team.tokens
    streams = [open_stream(sqlite_deployment, "sam") for _ in range(4)]
    try:
        headers = {"Authorization": f"Bearer {tokens['sam']}"}
        with (
            httpx.Client(base_url=url, headers=headers, timeout=30) as client,
            client.stream("GET", "/v1/events") as refused,
        ):
            assert refused.status_code == 429, "a fifth stream was opened"
            refused.read()
        error = refused.json()["error"]
        assert error["code"] == "too_many_streams" and "4" in error["message"]
        assert int(refused.headers["Retry-After"]) >= 1
        other = open_stream(sqlite_deployment, "tom")
        other.close()
        streams.pop().close()  # one leaves: its slot is free again once the server notices
        deadline = time.monotonic() + 30
        while True:
            headers = {"Authorization": f"Bearer {tokens['sam']}"}
            with httpx.Client(base_url=url, headers=headers) as client, client.stream("GET", "/v1/events") as response:
                if response.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the closed stream's slot was never freed"
            time.sleep(0.2)
    finally:
        for stream in streams:
            stream.close()


def test_the_stream_limit_reads_its_environment_variable(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.live import deploy

    monkeypatch.setenv("SUPPORTDESK_STREAMS_PER_TOKEN", "2")
    with deploy("sqlite", tmp_path) as running:
        streams = [open_stream(running, "sam") for _ in range(2)]
        try:
            with running.api("sam") as client, client.stream("GET", "/v1/events") as response:
                assert response.status_code == 429
        finally:
            for stream in streams:
                stream.close()
