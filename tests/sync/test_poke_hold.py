"""A poke that comes during the console's own round is held and taken after it (issue 13).

Against a real server: tom's round is held on the wire at a chosen point while sam pushes, so
the poke for sam's write reaches tom's console during the round. Before the change the console
pulled again for it (the round held the workspace, so the poke could not apply); now it keeps the
poke and, when the round ends, drops it when the round's pull already brought its records, or
applies it when the copy is where it starts — no pull, nothing skipped, nothing applied twice.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from supportdesk.sync import engine, local
from supportdesk.sync.client import ServerClient
from supportdesk.sync.engine import PokeResult
from supportdesk.sync.service import SyncService
from tests.live import Deployment
from tests.sync.compare import differences, replica_view, server_view
from tests.sync.test_poke_records import _has, _ticket, _wait

pytestmark = pytest.mark.integration


class Gate:
    """Where the next pull of tom's console stops: before it is sent or after its answer came."""

    def __init__(self) -> None:
        self.where: str | None = None  # "before", "after", "always" (every later pull), or None
        self.reached = threading.Event()
        self.release = threading.Event()
        self.pulls: list[int] = []

    def arm(self, where: str) -> None:
        self.reached.clear()
        self.release.clear()
        self.where = where

    def stop(self, where: str) -> None:
        if self.where != where and self.where != "always":
            return
        if self.where != "always":
            self.where = None
        self.reached.set()
        self.release.wait(120)


class GatedClient(ServerClient):
    gate: Gate

    def pull(self, cursor: int, client_id: str, limit: int = 500) -> Any:
        self.gate.pulls.append(cursor)
        self.gate.stop("before")
        page = super().pull(cursor, client_id, limit)
        self.gate.stop("after")
        return page


def test_pokes_during_a_round_are_held_and_taken_after_it_without_a_pull(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = deployment.team
    sam = deployment.replica("sam")
    tom = deployment.replica("tom")
    gate = Gate()
    results: list[tuple[int, PokeResult]] = []
    real_apply = engine.apply_poke

    def recording(workspace: Any, data: Any, **kwargs: Any) -> PokeResult:
        result = real_apply(workspace, data, **kwargs)
        results.append((int(data.get("seq", 0)), result))
        return result

    monkeypatch.setattr(engine, "apply_poke", recording)

    def gated() -> ServerClient:
        client = GatedClient(deployment.server.url, team.tokens["tom"])
        client.gate = gate
        return client

    ticket_id = _ticket(sam, team.tier1, "Printer on fire")
    service = SyncService(tom.workspace, interval=3600, client_factory=gated)
    service.start()
    try:
        _wait(lambda: service.status.last_sync_at is not None and service._events_up, "the first round")
        _wait(lambda: not service.status.syncing, "the first round to end")
        assert _has(tom, "SELECT 1 FROM ticket WHERE id = ?", ticket_id)

        # 1. the poke comes while the round waits to pull: the pull brings its records, the held
        #    poke is then old and dropped (not applied twice, no second pull)
        gate.arm("before")
        service.sync_now()
        assert gate.reached.wait(60), "tom's round never pulled"
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "during the pull"})
        sam.sync()
        _wait(lambda: len(service._held) == 1, "the poke held during tom's round")
        first_seq = int(service._held[0]["seq"])
        gate.release.set()
        _wait(lambda: any(seq == first_seq for seq, _ in results), "the held poke taken after the round")
        assert dict(results)[first_seq] is PokeResult.OLD, results
        assert _has(tom, "SELECT 1 FROM message WHERE body = ?", "during the pull")

        # 2. the poke comes after the round's pull answered, before its rebase: when the round
        #    ends the copy is where the poke starts, and the poke applies; any later pull would stop
        #    at the gate, so the note can only have come through the held poke
        _wait(lambda: not service.status.syncing, "round 1 to end")
        gate.arm("after")
        service.sync_now()
        assert gate.reached.wait(60), "tom's second round never pulled"
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "after the pull"})
        sam.sync()
        _wait(lambda: len(service._held) == 1, "the second poke held during tom's round")
        second_seq = int(service._held[0]["seq"])
        pulls = len(gate.pulls)
        gate.arm("always")  # every later pull stops here: the poke must not need one
        gate.release.set()
        gate.release = threading.Event()  # the armed gate waits on a fresh event
        _wait(lambda: _has(tom, "SELECT 1 FROM message WHERE body = ?", "after the pull"), "the second note")
        assert dict(results)[second_seq] is PokeResult.APPLIED, results
        assert len(gate.pulls) == pulls, f"tom pulled {len(gate.pulls) - pulls} more times"
        assert local.state(tom.workspace).cursor == second_seq
        gate.where = None
        gate.release.set()
    finally:
        gate.where = None
        gate.release.set()
        service.stop()
    try:
        assert tom.rows("SELECT count(*) FROM message WHERE body IN ('during the pull', 'after the pull')") == [(2,)]
        assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == []
    finally:
        sam.close()
        tom.close()
