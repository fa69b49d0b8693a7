"""attack21: a poke whose range is true but which leaves out records inside it.

A poke says "the records of seqs (from, seq] that you may see are these". Its seq is checked by
the next pull (the log must reach it), but what it *left out* was not: the pull asked from one
seq before the cursor, so a record of the range the poke omitted — a server bug, a proxy that
rewrote the stream — never came to the copy, by poke or by pull. The next pull now asks from
where the copy stood before pokes moved it, and applies again what pokes brought (rows are whole
states: applying a record twice, in seq order, ends where applying it once does).
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


def test_attack21_a_poke_that_omits_a_record_of_its_range_loses_nothing_after_the_next_pull(
    deployment: Deployment,
) -> None:
    team = deployment.team
    with deployment.replicas("sam", "tom") as (sam, tom):
        ticket_id = _ticket(sam, team.tier1, "Locked out")
        tom.sync()
        cursor = local.state(tom.workspace).cursor
        first, second = _two_genuine_pokes(deployment, sam, ticket_id)
        assert first["from"] == cursor and second["from"] == first["seq"], (cursor, first, second)
        # the range is the truth (the log reaches its seq), the first write's records are left out
        forged = {**second, "from": cursor}
        assert apply_poke(tom.workspace, forged) is PokeResult.APPLIED
        assert "omitted by the poke" not in _bodies(tom)
        tom.sync()
        assert {"omitted by the poke", "carried by the poke"} <= _bodies(tom)
        assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == []
        assert tom.rows("SELECT count(*) FROM message WHERE body = 'carried by the poke'") == [(1,)]
        with tom.workspace.reading() as connection:
            assert local.poked_from(connection) is None
        # genuine pokes, applied in turn, are confirmed by the same pull and counted once
        third = _two_genuine_pokes(deployment, sam, ticket_id)
        for poke in third:
            assert apply_poke(tom.workspace, poke) is PokeResult.APPLIED
        tom.sync()
        assert tom.rows("SELECT count(*) FROM message WHERE body = 'carried by the poke'") == [(2,)]
        assert tom.rows("SELECT count(*) FROM message WHERE body = 'omitted by the poke'") == [(2,)]
        assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == []


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
