"""attack21: pokes behind a cursor that only pokes moved.

One forged poke far past the log (a buggy server, a proxy that rewrote the stream) moves the
console's cursor until its next pull checks it. Meanwhile every genuine poke was "old" (its seq
below the forged cursor) and ignored until the console's timer pulled. Such a poke now makes the
console pull at once, and the pull rewinds.

Known and left (the lead's decision, see the README's security section): a poke whose range is
true but which leaves out a record inside it is not detected; the record comes only if a later
change touches it again. Re-pulling everything pokes brought would have caught it, at the cost of
downloading every poked record twice.
"""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.sync import local
from supportdesk.sync.engine import PokeResult, apply_poke
from tests.live import Deployment, Replica
from tests.server.test_poke_records import RecordStream
from tests.sync.compare import differences, replica_view, server_view
from tests.sync.test_poke_records import _ticket

pytestmark = pytest.mark.integration


def _two_genuine_pokes(deployment: Deployment, sam: Replica, ticket_id: str) -> list[dict[str, Any]]:
    stream = RecordStream(deployment.server.url, deployment.team.tokens["tom"])
    try:
        pokes = []
        for body in ("omitted by the poke", "carried by the poke"):
            sam.apply("ticket.note", {"ticket_id": ticket_id, "body": body})
            sam.sync()
            pokes.append(stream.next_event("poke")[1])
    finally:
        stream.close()
    assert all(poke.get("changes") for poke in pokes), pokes
    return pokes


def _bodies(replica: Replica) -> set[str]:
    return {row[0] for row in replica.rows("SELECT body FROM message")}


def test_attack21_a_poke_behind_a_cursor_only_pokes_moved_makes_the_console_pull(deployment: Deployment) -> None:
    """One forged poke far past the log, and every genuine poke after it was "old" (its seq below
    the forged cursor) or a plain poke "not ahead": the console ignored them all until its timer
    pulled — and a forger who sent one such poke after every pull kept it deaf for good. A poke
    behind a cursor no pull has confirmed now makes the console pull, which rewinds."""
    from supportdesk.sync.service import SyncService

    team = deployment.team
    with deployment.replicas("sam", "tom") as (sam, tom):
        ticket_id = _ticket(sam, team.tier1, "Locked out")
        tom.sync()
        cursor = local.state(tom.workspace).cursor
        lie = {"from": cursor, "seq": cursor + 1_000_000, "scope": "?", "changes": []}
        first, second = _two_genuine_pokes(deployment, sam, ticket_id)
        lie["scope"] = first["scope"]
        assert apply_poke(tom.workspace, lie) is PokeResult.APPLIED
        service = SyncService(tom.workspace)  # not started: its poke handling alone
        for poke in (second, {"seq": second["seq"]}):  # with records, and plain
            service._wake.clear()
            with service._poke_lock:
                service._take_poke(poke)
            assert service._wake.is_set(), poke
        tom.sync()
        assert local.state(tom.workspace).cursor == second["seq"]
        assert {"omitted by the poke", "carried by the poke"} <= _bodies(tom)
        # once confirmed, an old poke is old again: no pull for it
        service._wake.clear()
        with service._poke_lock:
            service._take_poke(first)
        assert not service._wake.is_set()


def test_attack21_more_records_after_poked_from_than_a_page_is_no_false_rewind(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The confirming pull asks from ``poked_from``: when the records since then fill more than a
    page, the first page's cursor is below the copy's though the log reaches it — a page that
    says ``more`` is no proof the log ends there."""
    import logging

    from supportdesk.sync.client import ServerClient

    team = deployment.team
    with deployment.replicas("sam", "tom") as (sam, tom):
        ticket_id = _ticket(sam, team.tier1, "Locked out")
        tom.sync()
        pokes = _two_genuine_pokes(deployment, sam, ticket_id) + _two_genuine_pokes(deployment, sam, ticket_id)
        for poke in pokes:
            assert apply_poke(tom.workspace, poke) is PokeResult.APPLIED
        pull = ServerClient.pull
        monkeypatch.setattr(
            ServerClient, "pull", lambda self, cursor, client_id, limit=2: pull(self, cursor, client_id, 2)
        )
        with caplog.at_level(logging.WARNING, logger="supportdesk.sync.engine"):
            tom.sync()
        assert not [r for r in caplog.records if "pulling again" in r.getMessage()], caplog.text
        assert local.state(tom.workspace).cursor == pokes[-1]["seq"]
        assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == []
