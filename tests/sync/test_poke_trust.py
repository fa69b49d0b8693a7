"""What a console trusts in a poke (issue 13), against a real server and a real copy.

A malformed poke is refused whole before anything is written (a "did not apply" result and a
WARNING, never an exception half way through a rebase), and a poke whose seq lies past the
server's log moves the cursor only until the next pull: the pull finds the log ending before
it, the copy goes back to where its last pull left it, and no record the log holds is skipped.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from supportdesk.sync import local
from supportdesk.sync.engine import PokeResult, apply_poke
from supportdesk.sync.poke_check import SEQ_MAX
from tests.live import Deployment, Replica
from tests.server.test_poke_records import RecordStream
from tests.sync.compare import differences, replica_view, server_view
from tests.sync.test_poke_records import _ticket

pytestmark = pytest.mark.integration


def _genuine_poke(deployment: Deployment, sam: Replica, ticket_id: str, body: str) -> dict[str, Any]:
    stream = RecordStream(deployment.server.url, deployment.team.tokens["tom"])
    try:
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": body})
        sam.sync()
        poke = stream.next_event("poke")[1]
    finally:
        stream.close()
    assert poke.get("changes"), poke
    return poke


def _poked_from(replica: Replica) -> int | None:
    with replica.workspace.reading() as connection:
        return local.poked_from(connection)


def _forged(poke: dict[str, Any]) -> dict[str, dict[str, Any]]:
    change = poke["changes"][0]
    at = next(i for i, c in enumerate(poke["changes"]) if c["entity"] == "message")
    message = poke["changes"][at]
    start, end = poke["from"], poke["seq"]
    shapes: dict[str, dict[str, Any]] = {
        "seq past what SQLite holds": {**poke, "seq": 2**70},
        "a record past what SQLite holds": {
            **poke,
            "seq": SEQ_MAX,
            "changes": [*poke["changes"], {**change, "seq": 2**70}],
        },
        "from a boolean": {**poke, "from": True},
        "seq a string": {**poke, "seq": str(end)},
        "from below zero": {**poke, "from": -(2**70)},
        "from at seq": {**poke, "from": end},
        "from past seq": {**poke, "from": end + 1},
        "scope missing": {**poke, "scope": None},
        "scope not a string": {**poke, "scope": ["x"]},
        "changes not a list": {**poke, "changes": {"0": change}},
        "too many records": {**poke, "changes": [change] * 1001},
        "a record's seq a string": {**poke, "changes": [{**change, "seq": "x"}]},
        "a record's seq a float": {**poke, "changes": [{**change, "seq": float(change["seq"])}]},
        "a record before the range": {**poke, "changes": [{**change, "seq": start}]},
        "a record after the range": {**poke, "changes": [{**change, "seq": end + 1}]},
        "records out of order": {**poke, "changes": [{**change, "seq": end}, {**change, "seq": end - 1}]},
        "a record twice": {**poke, "changes": [change, change]},
        "a record not an object": {**poke, "changes": [None]},
        "an unknown op": {**poke, "changes": [{**change, "op": "drop"}]},
        "data not an object": {**poke, "changes": [{**change, "data": "not a dict"}]},
        "an upsert of no shared table": {**poke, "changes": [{**change, "entity": "sqlite_master"}]},
        "a local table": {**poke, "changes": [{**change, "entity": "outbox"}]},
        "a key that is a list": {**poke, "changes": [{**change, "data": {**change["data"], "id": ["a", "b"]}}]},
        "a row without its key": {
            **poke,
            "changes": [{**change, "data": {k: v for k, v in change["data"].items() if k != "id"}}],
        },
        "a delete without a key": {**poke, "changes": [{**change, "op": "delete", "data": {}}]},
        "a delete with a short key": {**poke, "changes": [{**change, "op": "delete", "data": {"key": []}}]},
        "a hide with no ticket": {**poke, "changes": [{**change, "op": "hide", "data": {"ticket_id": 7}}]},
        "a reveal with rows not a list": {
            **poke,
            "changes": [{**change, "op": "reveal", "data": {"ticket_id": "t", "rows": {"ticket": {"id": "t"}}}}],
        },
        "an erasure with no customer": {**poke, "changes": [{**change, "op": "erase", "data": {"records": []}}]},
        "a poke not an object": [poke],  # type: ignore[dict-item]
    }
    assert len(poke["changes"]) > 1, poke  # the ticket's row and the note's
    # good records and one SQLite cannot take: nothing of the poke may stay
    bad = [*poke["changes"]]
    bad[at] = {**message, "data": {**message["data"], "body": {"x": 1}}}
    shapes["good records and a bad one"] = {**poke, "changes": bad}
    bad = [*poke["changes"]]
    bad[at] = {**message, "data": {**message["data"], "created_at": 2**70}}
    shapes["a number SQLite cannot hold"] = {**poke, "changes": bad}
    return shapes


def test_every_forged_shape_is_refused_whole_with_a_warning(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    team = deployment.team
    with deployment.replicas("sam", "tom") as (sam, tom):
        ticket_id = _ticket(sam, team.tier1, "Locked out")
        tom.sync()
        poke = _genuine_poke(deployment, sam, ticket_id, "poked")
        before = replica_view(tom.workspace)
        cursor = local.state(tom.workspace).cursor
        assert cursor == poke["from"], (cursor, poke["from"])
        for what, data in _forged(poke).items():
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="supportdesk.sync.engine"):
                result = apply_poke(tom.workspace, data)  # never raises
            assert result is PokeResult.MALFORMED, (what, result)
            assert not result
            assert any("malformed poke" in r.getMessage() for r in caplog.records), what
            assert local.state(tom.workspace).cursor == cursor, what
            assert _poked_from(tom) is None, what
            assert differences(replica_view(tom.workspace), before) == [], what
        # and the genuine poke still applies afterwards, once
        assert apply_poke(tom.workspace, poke) is PokeResult.APPLIED
        assert apply_poke(tom.workspace, poke) is PokeResult.OLD
        assert tom.rows("SELECT count(*) FROM message WHERE body = 'poked'") == [(1,)]


def test_a_poke_past_the_servers_log_moves_the_cursor_only_until_the_next_pull(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    team = deployment.team
    with deployment.replicas("sam", "tom") as (sam, tom):
        ticket_id = _ticket(sam, team.tier1, "Locked out")
        tom.sync()
        genuine = _genuine_poke(deployment, sam, ticket_id, "genuine")
        assert apply_poke(tom.workspace, genuine) is PokeResult.APPLIED
        confirmed_at = genuine["from"]
        assert _poked_from(tom) == confirmed_at  # the server's word, not yet checked
        cursor = local.state(tom.workspace).cursor
        # a record tom never gets from a poke, then a poke that claims the log went far past it
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "skipped by the lie"})
        sam.sync()
        lie = {"from": cursor, "seq": cursor + 1_000, "scope": genuine["scope"], "changes": []}
        assert apply_poke(tom.workspace, lie) is PokeResult.APPLIED
        assert local.state(tom.workspace).cursor == cursor + 1_000
        assert _poked_from(tom) == confirmed_at  # the earliest unconfirmed position is kept
        # records written after the lie land on seqs below its cursor
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "after the lie"})
        sam.sync()
        with caplog.at_level(logging.WARNING, logger="supportdesk.sync.engine"):
            tom.sync()
        assert any("pulling again from" in r.getMessage() for r in caplog.records), caplog.text
        bodies = {row[0] for row in tom.rows("SELECT body FROM message")}
        assert {"genuine", "skipped by the lie", "after the lie"} <= bodies, bodies
        assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == []
        assert local.state(tom.workspace).cursor < cursor + 1_000
        assert _poked_from(tom) is None
        # a truthful poke is confirmed by the next pull without going back
        truthful = _genuine_poke(deployment, sam, ticket_id, "truthful")
        assert apply_poke(tom.workspace, truthful) is PokeResult.APPLIED
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="supportdesk.sync.engine"):
            tom.sync()
        assert not [r for r in caplog.records if "pulling again" in r.getMessage()], caplog.text
        assert _poked_from(tom) is None
        assert local.state(tom.workspace).cursor == truthful["seq"]
        assert tom.rows("SELECT count(*) FROM message WHERE body = 'truthful'") == [(1,)]
