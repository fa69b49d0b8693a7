"""Overlapping sync rounds on one workspace (the console's background sync plus ``supportdesk sync``).

Made deterministic by holding one round at a chosen point on the wire (a transport that waits
after a response arrives) while the other runs; nothing of ours is replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from supportdesk.sync.client import Offline, ServerClient
from supportdesk.sync.engine import SyncEngine, SyncSummary
from supportdesk.sync.rebase import StaleRebase, rebase
from supportdesk.sync.round_lock import SyncBusy, sync_round
from tests.live import Deployment, Replica
from tests.sync.compare import differences, replica_view, server_view


class HoldAt(httpx.HTTPTransport):
    """Holds the first request to ``path`` once armed: before sending it (``before``) or after its
    answer arrived, until released."""

    def __init__(self, path: str, *, before: bool = False, drop_answer: bool = False) -> None:
        super().__init__()
        self.path = path
        self.before = before
        self.drop_answer = drop_answer
        self.armed = False
        self.held = threading.Event()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hold = self.armed and request.url.path == self.path
        if hold:
            self.armed = False
        if hold and self.before:
            self.held.set()
            assert self.release.wait(120), "never released"
        response = super().handle_request(request)
        if hold and not self.before:
            response.read()
            self.held.set()
            assert self.release.wait(120), "never released"
        if self.drop_answer and request.url.path == self.path:
            response.read()
            raise httpx.ReadError("connection reset by peer")
        return response


class Round:
    """One sync round of ``replica``'s workspace in a thread, with its own client."""

    def __init__(self, replica: Replica, client: ServerClient) -> None:
        self.engine = SyncEngine(replica.workspace, client)
        self.stages: list[str] = []
        self.summary: SyncSummary | None = None
        self.error: BaseException | None = None
        self.waiting = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _progress(self, stage: str, _done: int, _total: int | None) -> None:
        self.stages.append(stage)
        if stage.startswith("waiting"):
            self.waiting.set()

    def _run(self) -> None:
        try:
            self.summary = self.engine.sync_once(self._progress)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()

    def start(self) -> Round:
        self.thread.start()
        return self

    def join(self) -> None:
        self.thread.join(120)
        assert not self.thread.is_alive()


def wait_for(*conditions: Callable[[], bool], timeout: float = 120) -> None:
    event = threading.Event()
    deadline = threading.Timer(timeout, event.set)
    deadline.start()
    try:
        while not any(condition() for condition in conditions):
            assert not event.wait(0.01), "timed out"
    finally:
        deadline.cancel()


def _ticket(replica: Replica, subject: str) -> str:
    created = replica.apply(
        "ticket.create",
        {"subject": subject, "body": "hello", "requester": {"value": "ov@example.com"}, "group_id": None},
    ).result
    replica.sync()
    return str(created["ticket_id"])


def _converged(deployment: Deployment, replica: Replica) -> list[str]:
    return differences(server_view(deployment.team.db, replica.agent_id), replica_view(replica.workspace))


def test_an_older_round_never_writes_over_a_newer_one(deployment: Deployment) -> None:
    """Round A pulls (priority low) and is held; meanwhile tom sets high and round B syncs;
    then A goes on. On the old code A wrote 'low' with the cursor already past 'high', for good."""
    held = HoldAt("/v1/pull")
    slow = ServerClient(deployment.server.url, deployment.team.tokens["sam"], transport=held)
    sam = deployment.replica("sam")
    tom = deployment.replica("tom")
    try:
        ticket_id = _ticket(sam, "Overlap")
        tom.sync()
        tom.apply("ticket.set_priority", {"ticket_id": ticket_id, "priority": "low"})
        tom.sync()
        held.armed = True
        first = Round(sam, slow).start()
        assert held.held.wait(60)
        tom.apply("ticket.set_priority", {"ticket_id": ticket_id, "priority": "high"})
        tom.sync()
        second_client = ServerClient(deployment.server.url, deployment.team.tokens["sam"])
        second = Round(sam, second_client).start()
        wait_for(second.done.is_set, second.waiting.is_set)
        held.release.set()
        first.join()
        second.join()
        assert first.error is None and second.error is None, (first.error, second.error)
        sam.sync()
        assert sam.rows("SELECT priority FROM ticket WHERE id = ?", ticket_id) == [("high",)]
        assert not _converged(deployment, sam)
        assert "waiting for another sync" in second.stages
        second_client.close()
    finally:
        slow.close()
        sam.close()
        tom.close()


def test_a_rebase_prepared_before_another_round_moved_the_cursor_writes_nothing(
    sqlite_deployment: Deployment,
) -> None:
    """The rebase's own guard, for a writer that does not take the lock (an older version)."""
    deployment = sqlite_deployment
    with deployment.replicas("sam", "tom") as (sam, tom):
        ticket_id = _ticket(sam, "Guard")
        tom.sync()
        tom.apply("ticket.set_priority", {"ticket_id": ticket_id, "priority": "low"})
        tom.sync()
        before = sam.rows("SELECT cursor, last_acked_mutation_id, client_id FROM sync_state")[0]
        page = sam.client.pull(before[0], before[2])
        tom.apply("ticket.set_priority", {"ticket_id": ticket_id, "priority": "high"})
        tom.sync()
        sam.sync()  # another round: the cursor moves past both changes
        view = replica_view(sam.workspace)
        with pytest.raises(StaleRebase):
            rebase(
                sam.workspace,
                page.changes,
                cursor=page.cursor,
                last_acked=page.last_mutation_id,
                refreshed=[],
                outbox_top=0,
                since=(before[0], before[1]),
            )
        assert replica_view(sam.workspace) == view
        assert sam.rows("SELECT priority FROM ticket WHERE id = ?", ticket_id) == [("high",)]


def _stale_reply(deployment: Deployment, sam: Replica, ticket_id: str, first_message: str) -> str:
    """A customer writes on the server; sam, not yet pulled, replies to the older message."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    apply_as(deployment.team.db, SYSTEM, "ticket.receive", {"ticket_id": ticket_id, "body": "Any news? It is urgent."})
    body = "We refunded you yesterday."
    sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": body, "seen_message_id": first_message})
    return body


def _draft(replica: Replica, ticket_id: str) -> tuple[str, dict[str, Any]]:
    import json

    rows = replica.rows("SELECT body, state FROM draft WHERE ticket_id = ? AND kind = 'reply'", ticket_id)
    assert rows, "no reply draft"
    return str(rows[0][0]), json.loads(rows[0][1])


def test_a_refused_reply_whose_answer_was_lost_in_a_race_still_becomes_a_draft(deployment: Deployment) -> None:
    """Round B (held before its pull) and round A (pushes the stale reply; the server refuses it,
    the answer is lost) overlap. On the old code B's pull then counted the reply as answered
    and dropped it: no draft, no message, nobody told."""
    held = HoldAt("/v1/pull", before=True)
    slow = ServerClient(deployment.server.url, deployment.team.tokens["sam"], transport=held)
    lossy = HoldAt("/v1/push", drop_answer=True)
    losing = ServerClient(deployment.server.url, deployment.team.tokens["sam"], transport=lossy)
    sam = deployment.replica("sam")
    try:
        created = sam.apply(
            "ticket.create",
            {"subject": "Refund?", "body": "Where is it?", "requester": {"value": "r@example.com"}, "group_id": None},
        ).result
        sam.sync()
        held.armed = True
        second = Round(sam, slow).start()
        assert held.held.wait(60)
        body = _stale_reply(deployment, sam, created["ticket_id"], created["message_id"])
        first = Round(sam, losing).start()
        wait_for(first.done.is_set, first.waiting.is_set)
        held.release.set()
        second.join()
        first.join()
        assert isinstance(first.error, Offline), first.error
        summary = sam.sync()
        refused = (second.summary.refused if second.summary else []) + summary.refused
        assert [r.name for r in refused] == ["ticket.reply"]
        assert "newer message from the customer" in refused[0].message
        text, state = _draft(sam, created["ticket_id"])
        assert text == body and state["refused"] is True and "newer message" in state["reason"]
        assert sam.rows("SELECT count(*) FROM message WHERE body = ?", body) == [(0,)]
        assert not _converged(deployment, sam)
    finally:
        slow.close()
        losing.close()
        sam.close()


def test_a_pull_that_finds_answers_nobody_heard_asks_for_them_before_dropping_anything(
    sqlite_deployment: Deployment,
) -> None:
    """A process that pushed the reply died before recording the answer, and a pull (from code
    that does not lock) comes next: it pushes again to hear the refusal instead of dropping it."""
    deployment = sqlite_deployment
    sam = deployment.replica("sam")
    try:
        created = sam.apply(
            "ticket.create",
            {"subject": "Lost", "body": "Where is it?", "requester": {"value": "l@example.com"}, "group_id": None},
        ).result
        sam.sync()
        body = _stale_reply(deployment, sam, created["ticket_id"], created["message_id"])
        client_id, pending = sam.rows("SELECT client_id, (SELECT max(id) FROM outbox) FROM sync_state")[0]
        entry = sam.rows("SELECT id, name, args FROM outbox WHERE id = ?", pending)[0]
        import json

        answer = sam.client.push(client_id, [{"id": entry[0], "name": entry[1], "args": json.loads(entry[2])}])
        assert not answer.results[0].ok  # the server refused it; this workspace never heard
        summary = SyncSummary()
        SyncEngine(sam.workspace, sam.client).pull(summary)
        assert [r.name for r in summary.refused] == ["ticket.reply"]
        assert _draft(sam, created["ticket_id"])[0] == body
        assert sam.rows("SELECT count(*) FROM outbox") == [(0,)]
    finally:
        sam.close()


def test_a_second_round_waits_for_the_first_and_gives_up_with_a_clear_error(sqlite_deployment: Deployment) -> None:
    sam = sqlite_deployment.replica("sam")
    try:
        with sync_round(sam.workspace, "console", wait=0):
            engine = SyncEngine(sam.workspace, sam.client, wait=0.2)
            with pytest.raises(SyncBusy, match=r"another sync of .* is running \(pid \d+ \(console"):
                engine.sync_once()
        assert engine.sync_once().pending == 0  # the lock went with its holder
    finally:
        sam.close()
