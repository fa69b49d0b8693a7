"""No reply lost or sent twice: long offline spells, lost acknowledgements, a crashing server."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from supportdesk.protocol import MAX_BATCH
from supportdesk.sync.client import Offline, ServerClient
from tests.live import Deployment, Replica
from tests.sync.compare import differences, replica_view, server_count, server_view


def offline_work(replica: Replica, group_id: str, count: int) -> tuple[list[str], int]:
    """``count`` mutations made without the server: tickets, notes, replies, tags, priorities.

    Returns the ticket ids and how many messages the work adds.
    """
    tickets: list[str] = []
    messages = 0
    for index in range(count):
        kind = index % 10
        if kind == 0 or not tickets:
            result = replica.apply(
                "ticket.create",
                {
                    "subject": f"Offline ticket {index}",
                    "body": f"first message {index}",
                    "requester": {"value": f"customer{index % 7}@example.com"},
                    "group_id": group_id,
                },
            ).result
            tickets.append(result["ticket_id"])
            messages += 1
        elif kind in (1, 2, 3, 4):
            replica.apply("ticket.note", {"ticket_id": tickets[-1], "body": f"note {index}"})
            messages += 1
        elif kind in (5, 6):
            replica.apply("ticket.reply", {"ticket_id": tickets[-1], "body": f"reply {index}"})
            messages += 1
        elif kind == 7:
            replica.apply("ticket.tag", {"ticket_id": tickets[-1], "tags": [f"t{index % 5}"]})
        elif kind == 8:
            replica.apply("ticket.set_priority", {"ticket_id": tickets[-1], "priority": ["low", "high"][index % 2]})
        else:
            replica.apply("ticket.untag", {"ticket_id": tickets[-1], "tags": [f"t{(index - 2) % 5}"]})
    return tickets, messages


def assert_applied_exactly_once(deployment: Deployment, replica: Replica, total: int, messages: int) -> None:
    db = deployment.team.db
    client_id = replica.rows("SELECT client_id FROM sync_state")[0][0]
    assert server_count(db, "SELECT last_mutation_id FROM sync_client WHERE client_id = :c", c=client_id) == total
    assert server_count(db, "SELECT count(*) FROM mutation_result WHERE client_id = :c", c=client_id) == total
    assert server_count(db, "SELECT count(*) FROM message") == messages
    assert server_count(db, "SELECT count(DISTINCT body) FROM message") == messages
    assert replica.rows("SELECT count(*) FROM outbox") == [(0,)]
    assert not differences(server_view(db, replica.agent_id), replica_view(replica.workspace))


def test_a_client_offline_for_1000_mutations_applies_each_exactly_once(deployment: Deployment) -> None:
    sam = deployment.replica("sam")
    try:
        _, messages = offline_work(sam, deployment.team.tier1, 1000)
        summary = sam.sync()
        assert summary.pushed == 1000 and not summary.refused
        assert_applied_exactly_once(deployment, sam, 1000, messages)
        numbers = sam.rows("SELECT number FROM ticket ORDER BY number")
        assert [n for (n,) in numbers] == list(range(1, 101))
    finally:
        sam.close()


class LoseAcknowledgements(httpx.HTTPTransport):
    """The network between client and server drops the answer to a push after the server sent it."""

    def __init__(self) -> None:
        super().__init__()
        self.dropping = True
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.dropping and request.url.path == "/v1/push":
            response.read()
            self.dropped += 1
            raise httpx.ReadError("connection reset by peer")
        return response


def test_the_client_dies_after_the_server_committed_and_the_replay_duplicates_nothing(
    deployment: Deployment,
) -> None:
    transport = LoseAcknowledgements()
    flaky = ServerClient(deployment.server.url, deployment.team.tokens["sam"], transport=transport)
    sam = deployment.replica("sam", client=flaky)
    db = deployment.team.db
    try:
        transport.dropping = False
        created = sam.apply(
            "ticket.create",
            {"subject": "Lost ack", "body": "hello", "requester": {"value": "d@example.com"}, "group_id": None},
        ).result
        sam.sync()
        transport.dropping = True
        sam.apply("ticket.reply", {"ticket_id": created["ticket_id"], "body": "Your refund is on its way."})
        with pytest.raises(Offline):
            sam.sync()
        assert transport.dropped == 1
        # the server committed the reply; the client never heard
        assert server_count(db, "SELECT count(*) FROM message WHERE body LIKE 'Your refund%'") == 1
        sam.client.close()
        sam.workspace.close()
        # a new process opens the same workspace and syncs again
        again = Replica(sam.workspace.root, deployment.server, deployment.team.tokens["sam"], bootstrap=False)
        summary = again.sync()
        assert summary.pushed == 1 and not summary.refused
        assert server_count(db, "SELECT count(*) FROM message WHERE body LIKE 'Your refund%'") == 1
        assert again.rows("SELECT count(*) FROM message WHERE body LIKE 'Your refund%'") == [(1,)]
        assert_applied_exactly_once(deployment, again, 2, 2)
        again.close()
    finally:
        flaky.close()


class CrashDuringPush(httpx.HTTPTransport):
    """The server is killed (SIGKILL) the moment the client sends its ``crash_on``-th push.

    The kill races the request on purpose: the push may be cut off before, during or after the
    server's commit. Whatever the outcome, the pushes before it have committed and the ones after
    it have not been sent, so the test knows the window without polling the database.
    """

    def __init__(self, kill: Callable[[], None], crash_on: int) -> None:
        super().__init__()
        self.kill = kill
        self.crash_on = crash_on
        self.pushes = 0
        self.killer: threading.Thread | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/push":
            self.pushes += 1
            if self.pushes == self.crash_on:
                self.killer = threading.Thread(target=self.kill)
                self.killer.start()
        return super().handle_request(request)


def test_the_server_restarts_mid_push_and_every_mutation_lands_once(deployment: Deployment) -> None:
    # five pushes of MAX_BATCH; the server dies as the third one goes out, so two have
    # committed, the third may or may not have, and the last two wait for the restart
    total = 5 * MAX_BATCH
    transport = CrashDuringPush(deployment.server.kill, crash_on=3)
    crashing = ServerClient(deployment.server.url, deployment.team.tokens["sam"], transport=transport)
    sam = deployment.replica("sam", client=crashing)
    db = deployment.team.db
    try:
        _, messages = offline_work(sam, deployment.team.tier1, total)
        with pytest.raises(Offline):
            sam.sync()
        assert transport.killer is not None
        transport.killer.join(60)
        applied_before = server_count(db, "SELECT count(*) FROM mutation_result")
        assert 2 * MAX_BATCH <= applied_before <= 3 * MAX_BATCH
        deployment.server.start()
        summary = sam.sync()
        assert not summary.refused
        assert_applied_exactly_once(deployment, sam, total, messages)
    finally:
        sam.close()
        crashing.close()
