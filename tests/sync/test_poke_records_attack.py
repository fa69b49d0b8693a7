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
    with deployment.replicas("sam", "tom") as (sam, tom):
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


def test_two_workers_interleaving_writes_leave_no_gap_in_a_console_applying_pokes(tmp_path: Any) -> None:
    """Two server processes on PostgreSQL commit interleaved ranges (pushes of two groups from
    several threads, REST writes that poke plainly): a console that applies the pokes' records
    ends with exactly what the server holds for its agent (a record skipped under a kept mark
    would show as a difference although the cursor reached the log's end)."""
    import threading

    from tests.live import deploy
    from tests.server.test_poke_records import _push
    from tests.sync.compare import server_view
    from tests.sync.test_poke_records import _wait

    with deploy("postgresql", tmp_path, extra=["--workers", "2"]) as running:
        team = running.team
        sam = running.replica("sam")
        tom = running.replica("tom")
        from supportdesk.sync.service import SyncService
        from tests.sync.test_poke_records import CountingClient

        url, token = running.server.url, team.tokens["tom"]
        pulls: list[int] = []

        def counting() -> CountingClient:
            client = CountingClient(url, token)
            client.pulls = pulls
            return client

        service = SyncService(tom.workspace, interval=3600, client_factory=counting)
        service.start()
        try:
            _wait(lambda: service.status.last_sync_at is not None and service._events_up, "the first round")
            args = {"subject": "Printer", "body": "x", "requester": {"value": "a@example.com"}}
            with running.api("sam") as as_sam, running.api("ada") as as_ada:
                tier1 = _push(as_sam, "client-sam-0", 1, "ticket.create", {**args, "group_id": team.tier1})
                billing = _push(as_ada, "client-ada-0", 1, "ticket.create", {**args, "group_id": team.billing})
            errors: list[BaseException] = []

            def writer(who: str, ticket: dict[str, Any], index: int) -> None:
                try:
                    with running.api(who) as api:
                        pushed = 0
                        for n in range(12):
                            body = f"{who}-{index}-{n}"
                            if n % 4 == 3:
                                number = ticket["result"]["number"]
                                assert api.post(f"/v1/tickets/{number}/notes", json={"body": body}).status_code == 201
                                continue
                            pushed += 1
                            note = {"ticket_id": ticket["result"]["ticket_id"], "body": body}
                            _push(api, f"client-{who}-{index}", pushed, "ticket.note", note)
                except BaseException as error:  # reported below
                    errors.append(error)

            threads = [threading.Thread(target=writer, args=("sam", tier1, i)) for i in range(1, 4)]
            threads += [threading.Thread(target=writer, args=("ada", billing, i)) for i in range(1, 3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors, errors
            from sqlalchemy import text

            with team.db.engine.connect() as connection:
                end = int(connection.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar() or 0)
            _wait(
                lambda: _has_all(tom, [f"sam-{i}-{n}" for i in range(1, 4) for n in range(12)]),
                "every Tier 1 note at tom's",
                timeout=120,
            )
            _wait(lambda: not service.status.syncing, "tom's round to end")
            cursor = local.state(tom.workspace).cursor
            # 62 writes, 15 of them REST (plain pokes): most of tom's pokes were applied, not pulled
            assert len(pulls) < 50, f"tom pulled {len(pulls)} times: the test no longer exercises the pokes"
            assert differences(server_view(team.db, team.ids["tom"]), replica_view(tom.workspace)) == [], (cursor, end)
        finally:
            service.stop()
            sam.close()
            tom.close()


def _has_all(replica: Any, bodies: list[str]) -> bool:
    found = {row[0] for row in replica.rows("SELECT body FROM message")}
    return set(bodies) <= found
