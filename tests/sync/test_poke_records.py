"""A console applies the records a poke carries without pulling when its copy is where the poke
starts, pulls when it lags, ignores an old or repeated poke, and ends with the same copy as a
console that only pulls (issue 13: with 1,000 agents, a push made its group's 49 others pull)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from supportdesk.sync import local
from supportdesk.sync.client import ServerClient
from supportdesk.sync.engine import apply_poke
from supportdesk.sync.service import SyncService
from tests.live import Deployment, Replica
from tests.server.test_poke_records import RecordStream
from tests.sync.compare import differences, replica_view, server_view

pytestmark = pytest.mark.integration


class CountingClient(ServerClient):
    """A client that counts its pulls (shared by every client the service opens)."""

    pulls: list[int]

    def pull(self, cursor: int, client_id: str, limit: int = 500) -> Any:
        self.pulls.append(cursor)
        return super().pull(cursor, client_id, limit)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _has(replica: Replica, sql: str, *params: Any) -> bool:
    return bool(replica.rows(sql, *params))


def _ticket(replica: Replica, group_id: str, subject: str) -> str:
    outcome = replica.apply(
        "ticket.create",
        {"subject": subject, "body": "It smokes.", "requester": {"value": "alice@example.com"}, "group_id": group_id},
    )
    replica.sync()
    return str(outcome.result["ticket_id"])


def test_a_caught_up_console_applies_pokes_without_pulling_and_ends_like_a_pulling_one(
    deployment: Deployment,
) -> None:
    team = deployment.team
    sam = deployment.replica("sam")
    tom = deployment.replica("tom")
    pulls: list[int] = []

    def counting() -> ServerClient:
        client = CountingClient(deployment.server.url, team.tokens["tom"])
        client.pulls = pulls
        return client

    service = SyncService(tom.workspace, interval=3600, client_factory=counting)
    service.start()
    try:
        _wait(lambda: service.status.last_sync_at is not None and service._events_up, "the first round")
        _wait(lambda: not service.status.syncing, "the first round to end")
        before = len(pulls)
        ticket_id = _ticket(sam, team.tier1, "Printer on fire")
        _wait(lambda: _has(tom, "SELECT 1 FROM ticket WHERE id = ?", ticket_id), "the new ticket at tom's")
        for n in range(3):
            sam.apply("ticket.note", {"ticket_id": ticket_id, "body": f"note {n}"})
            sam.sync()
            _wait(lambda n=n: _has(tom, "SELECT 1 FROM message WHERE body = ?", f"note {n}"), f"note {n} at tom's")
        # Billing's write is not tom's: his next poke still starts where his copy is
        with deployment.api("ada") as as_ada:
            body = {
                "client_id": "client-ada-1",
                "schema_version": 1,
                "mutations": [
                    {
                        "id": 1,
                        "name": "ticket.create",
                        "args": {
                            "subject": "Refund",
                            "body": "x",
                            "requester": {"value": "b@example.com"},
                            "group_id": team.billing,
                        },
                    }
                ],
            }
            assert as_ada.post("/v1/push", json=body).status_code == 200
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "after billing"})
        sam.sync()
        _wait(lambda: _has(tom, "SELECT 1 FROM message WHERE body = ?", "after billing"), "the last note at tom's")
        assert len(pulls) == before, f"tom pulled {len(pulls) - before} times while caught up"
    finally:
        service.stop()
    # the same copy as a console that only pulls, and as the server holds for tom
    only_pulls = deployment.replica("tom", name="ws-tom-pulls")
    try:
        assert differences(replica_view(only_pulls.workspace), replica_view(tom.workspace)) == []
        assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == []
        assert local.state(tom.workspace).cursor <= local.state(only_pulls.workspace).cursor
    finally:
        for replica in (sam, tom, only_pulls):
            replica.close()


def test_a_lagging_copy_pulls_and_an_old_or_repeated_poke_changes_nothing(deployment: Deployment) -> None:
    team = deployment.team
    sam = deployment.replica("sam")
    caught_up = deployment.replica("tom")
    ticket_id = _ticket(sam, team.tier1, "Locked out")
    lagging = deployment.replica("tom", name="ws-tom-lagging")
    caught_up.sync()
    stream = RecordStream(deployment.server.url, team.tokens["tom"])
    try:
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "poked"})
        sam.sync()
        poke = stream.next_event("poke")[1]
        assert "changes" in poke, poke
    finally:
        stream.close()
    try:
        # a copy behind the poke's start (a write it never heard of lies between)
        with lagging.workspace.writing() as connection:
            connection.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (poke["from"] - 1,))
        assert not apply_poke(lagging.workspace, poke), "a copy behind the poke's start applied it (a gap)"
        assert local.state(lagging.workspace).cursor == poke["from"] - 1
        assert not _has(lagging, "SELECT 1 FROM message WHERE body = 'poked'")
        lagging.sync()  # it pulls instead
        assert _has(lagging, "SELECT 1 FROM message WHERE body = 'poked'")

        assert apply_poke(caught_up.workspace, poke)
        assert local.state(caught_up.workspace).cursor == poke["seq"]
        assert _has(caught_up, "SELECT 1 FROM message WHERE body = 'poked'")
        assert not apply_poke(caught_up.workspace, poke), "a repeated poke applied twice"
        assert differences(replica_view(lagging.workspace), replica_view(caught_up.workspace)) == []

        # a poke for another scope (the agent's groups changed since the copy was filled) is not applied
        other = {**poke, "scope": "0" * 16}
        with caught_up.workspace.writing() as connection:
            connection.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (poke["from"],))
        assert not apply_poke(caught_up.workspace, other)
        # a malformed one neither
        for broken in (
            {**poke, "changes": [{"seq": poke["seq"] + 5, "entity": "ticket", "op": "upsert", "data": {}}]},
            {**poke, "from": "x"},
            {**poke, "changes": "nope"},
            {"seq": poke["seq"]},
        ):
            assert not apply_poke(caught_up.workspace, broken), broken
    finally:
        for replica in (sam, caught_up, lagging):
            replica.close()


def test_a_copy_with_its_own_writes_waiting_pulls_instead(deployment: Deployment) -> None:
    team = deployment.team
    sam = deployment.replica("sam")
    tom = deployment.replica("tom")
    ticket_id = _ticket(sam, team.tier1, "Cannot print")
    tom.sync()
    stream = RecordStream(deployment.server.url, team.tokens["tom"])
    try:
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "from sam"})
        sam.sync()
        poke = stream.next_event("poke")[1]
    finally:
        stream.close()
    try:
        tom.apply("ticket.note", {"ticket_id": ticket_id, "body": "from tom, not pushed"})
        assert not apply_poke(tom.workspace, poke), "applied over a pending local write"
        tom.sync()
        assert _has(tom, "SELECT 1 FROM message WHERE body = 'from sam'")
        assert _has(tom, "SELECT 1 FROM message WHERE body = 'from tom, not pushed'")
    finally:
        sam.close()
        tom.close()


def test_the_service_pulls_on_a_poke_it_cannot_apply(tmp_path: Any) -> None:
    from supportdesk.store.workspace import Workspace

    workspace = Workspace.open(tmp_path / "ws")
    try:
        service = SyncService(workspace)
        woken = threading.Event()
        service._wake = woken  # type: ignore[assignment]
        service._on_poke({"from": 5, "seq": 9, "scope": "x", "changes": []})  # not bootstrapped: cannot apply
        assert woken.is_set()
        woken.clear()
        service._on_poke({"seq": 0})  # nothing new
        assert not woken.is_set()
    finally:
        workspace.close()
