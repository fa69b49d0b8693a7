"""Attacks on pokes that carry records (issue 13): memory per stream, and the marks, on real
databases (both backends) with the server's own event machinery."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supportdesk.server import admin
from supportdesk.server.events import QUEUE_SIZE, ServerEvents
from tests.live import Team, make_team, server_database
from tests.server.test_poke_records import _listening, _subscriber, _wrote

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    with server_database(request.param, tmp_path) as url:
        made = make_team(url)
        try:
            yield made
        finally:
            made.db.dispose()


def _queued(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(queue._queue)  # type: ignore[attr-defined]


def _queued_bytes(queue: asyncio.Queue[dict[str, Any]]) -> int:
    """The bytes of records the stream's queue holds (each poke's head and records)."""
    return sum(len(part) for event in _queued(queue) for part in event.get("body") or ())


def test_a_stream_that_does_not_read_holds_a_bounded_amount_of_records(team: Team) -> None:
    """A console that stops reading (suspended laptop, slow link) must not make the server keep
    every poke's records for it: with 1,000 streams at QUEUE_SIZE pokes of up to 16 KB each that
    would be gigabytes. Past a bound the stream gets plain pokes (its console pulls)."""
    opened = {"subject": "Locked out", "body": "Help", "requester": {"value": "q@example.com"}}
    ticket = _wrote(team, "ticket.create", {**opened, "group_id": team.tier1})[2]["ticket_id"]
    ranges = [_wrote(team, "ticket.note", {"ticket_id": ticket, "body": f"{n} " + "x" * 6000})[:2] for n in range(40)]
    tier1 = [[team.tier1, None]]

    async def run() -> tuple[int, int]:
        events = ServerEvents(team.db, recheck=0)
        events.start(asyncio.get_running_loop())
        try:
            token = admin.new_token(team.db, "sam@acme.test")[0]
            sam = events.subscribe(_subscriber(team, "sam", token).actor, token, records=True)
            await _listening(team, sam)
            for first, last in ranges:
                events._deliver({"type": "poke", "from": first, "seq": last, "audience": tier1})
            for _ in range(600):
                if sam.queue.qsize() >= len(ranges):
                    break
                await asyncio.sleep(0.05)
            carrying = sum(1 for event in _queued(sam.queue) if "body" in event)
            return _queued_bytes(sam.queue), carrying
        finally:
            events.stop()

    held, carrying = asyncio.run(run())
    assert carrying >= 1, "no poke carried records at all"
    # 64 KB a stream: 64 MB for 1,000 streams that stopped reading (QUEUE_SIZE pokes each otherwise)
    assert held <= 64 * 1024, f"{held} bytes of records held for one stream that does not read ({QUEUE_SIZE=})"


def test_a_stream_that_reads_keeps_getting_records_past_the_bound(deployment: Any) -> None:
    """The bound counts records queued and not yet sent: a console that reads every poke gets
    records for every small write however many bytes went by (else the bound would silently
    turn every console back into a puller after 64 KB)."""
    from tests.server.test_poke_records import RecordStream, _push

    team = deployment.team
    stream = RecordStream(deployment.server.url, team.tokens["sam"])
    try:
        args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "alice@example.com"}}
        with deployment.api("sam") as as_sam:
            ticket = _push(as_sam, "client-sam", 1, "ticket.create", {**args, "group_id": team.tier1})
            stream.pokes_until(ticket["seq"])
            for n in range(2, 22):  # 20 notes of 6 KB: 120 KB of records, read as they come
                done = _push(
                    as_sam,
                    "client-sam",
                    n,
                    "ticket.note",
                    {"ticket_id": ticket["result"]["ticket_id"], "body": f"{n} " + "y" * 6000},
                )
                heard = stream.pokes_until(done["seq"])
                assert "changes" in heard[-1], f"poke {n} went plainly to a stream that reads"
    finally:
        stream.close()


def test_a_push_after_rest_writes_still_pokes_with_its_records(deployment: Any) -> None:
    """REST writes on PostgreSQL poke by a NOTIFY of their own transaction, not through
    ``ServerEvents.poke``: what their after-commit hook gathered (records counted, audience)
    must not stay on the worker thread and swell the next push's poke (a ``from`` far behind
    its write: no records, the console pulls; an audience of everyone)."""
    from tests.server.test_poke_records import RecordStream, _push

    team = deployment.team
    stream = RecordStream(deployment.server.url, team.tokens["sam"])
    try:
        args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "alice@example.com"}}
        with deployment.api("sam") as as_sam:
            ticket = _push(as_sam, "client-sam", 1, "ticket.create", {**args, "group_id": team.tier1})
            number = ticket["result"]["number"]
            stream.pokes_until(ticket["seq"])
            for n in range(30):
                answer = as_sam.post(f"/v1/tickets/{number}/notes", json={"body": f"rest note {n}"})
                assert answer.status_code == 201, answer.text
            for n in range(2, 6):
                done = _push(
                    as_sam,
                    "client-sam",
                    n,
                    "ticket.note",
                    {"ticket_id": ticket["result"]["ticket_id"], "body": f"push {n}"},
                )
                heard = stream.pokes_until(done["seq"])
                assert "changes" in heard[-1], f"the poke of push {n} after REST writes carried no records: {heard[-1]}"
                assert heard[-1]["seq"] - heard[-1]["from"] <= 10, heard[-1]["from"]
    finally:
        stream.close()


def test_records_read_for_many_streams_of_one_group_are_held_once(team: Team) -> None:
    """1,000 consoles of one group share one encoding of a poke's records: reading them for
    every stream must not copy the records once per stream (16 KB x 1,000 streams x 64 pokes
    waiting would be a gigabyte at once)."""
    import tracemalloc

    events = ServerEvents(team.db, recheck=0)
    token = admin.new_token(team.db, "sam@acme.test")[0]
    opened = {"subject": "Locked out", "body": "Help", "requester": {"value": "q@example.com"}}
    ticket = _wrote(team, "ticket.create", {**opened, "group_id": team.tier1})[2]["ticket_id"]
    first, last = _wrote(team, "ticket.note", {"ticket_id": ticket, "body": "z" * 12_000})[:2]
    streams = [_subscriber(team, "sam", token) for _ in range(300)]
    events._records_for([(first, last, streams[:1])])  # warm the caches and imports
    tracemalloc.start()
    try:
        [read], stale = events._records_for([(first, last, streams)])
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not stale and len(read.records) == len(streams)
    assert peak < 1_000_000, f"{peak} bytes to read one 12 KB poke for 300 streams of one group"
