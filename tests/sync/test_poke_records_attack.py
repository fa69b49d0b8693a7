"""Hostile pokes against a real console copy (issue 13): whatever a forged or malformed poke
says, the copy stays as it was (or the poke is refused) and nothing escapes to crash the
console."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.sync import local
from supportdesk.sync.engine import apply_poke
from tests.live import Deployment
from tests.server.test_poke_records import RecordStream
from tests.sync.compare import differences, replica_view
from tests.sync.test_poke_records import _ticket

pytestmark = pytest.mark.integration


def test_forged_pokes_neither_corrupt_the_copy_nor_raise(deployment: Deployment) -> None:
    team = deployment.team
    sam = deployment.replica("sam")
    tom = deployment.replica("tom")
    try:
        ticket_id = _ticket(sam, team.tier1, "Locked out")
        tom.sync()
        stream = RecordStream(deployment.server.url, team.tokens["tom"])
        try:
            sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "poked"})
            sam.sync()
            poke = stream.next_event("poke")[1]
            assert "changes" in poke, poke
        finally:
            stream.close()
        before = replica_view(tom.workspace)
        cursor = local.state(tom.workspace).cursor
        assert cursor == poke["from"], (cursor, poke["from"])
        change = poke["changes"][0]
        forged: list[dict[str, Any]] = [
            {**poke, "seq": 2**70},  # past what SQLite can hold
            {**poke, "seq": 2**70, "changes": [*poke["changes"], {**change, "seq": 2**70}]},
            {**poke, "from": True, "seq": cursor + 1},
            {**poke, "from": -(2**70)},
            {**poke, "changes": [{**change, "seq": "x"}]},
            {**poke, "changes": [{**change, "data": "not a dict"}]},
            {**poke, "changes": [{**change, "data": {"id": ["not", "a", "key"]}}]},
            {**poke, "changes": [None]},
            {**poke, "scope": None},
            {**poke, "from": poke["seq"] + 1},
        ]
        for data in forged:
            try:
                applied = apply_poke(tom.workspace, data)
            except Exception:  # the console's service catches it (and pulls); the copy must be intact
                applied = False
            state = local.state(tom.workspace)
            assert not applied or state.cursor < 2**63, data
            assert state.cursor == cursor or applied, (data, state.cursor)
            if not applied:
                assert differences(replica_view(tom.workspace), before) == [], data
        # and the genuine poke still applies afterwards
        with tom.workspace.writing() as connection:
            connection.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (cursor,))
        assert apply_poke(tom.workspace, poke)
    finally:
        sam.close()
        tom.close()
