"""Pokes that carry the new records (``/v1/events?records=true``, issue 13): a stream is handed
exactly the records of (from, seq] that a pull by its agent would hand out — never another
group's ticket, someone else's saved view, a ticket's move it may not see, nor anything once its
token is revoked or its agent's groups changed — and a stream that did not ask gets plain pokes.

Each poke with records is checked against a real pull from its ``from`` by the same agent, on a
real server on both backends."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.events import RECORDS_MAX, ServerEvents, Subscriber
from supportdesk.server.tokens import load_actor
from supportdesk.sync.client import ServerClient
from tests.live import Deployment, Team, make_team, server_database

pytestmark = pytest.mark.integration


class RecordStream:
    """One ``GET /v1/events`` (``records=true`` unless told) read on a thread."""

    def __init__(self, url: str, token: str, *, records: bool = True) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = ServerClient(url, token)
        self.records = records
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.next_event("hello")[0] == "hello"

    def _read(self) -> None:
        try:
            for event in self.client.events(read_timeout=60, records=self.records):
                self.events.put(event)
        except Exception as error:
            self.events.put(("error", {"error": str(error)}))
        finally:
            self.events.put(("end", {}))

    def next_event(self, *kinds: str, timeout: float = 60.0) -> tuple[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            event, data = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if event in kinds or event in ("end", "error", "closed"):
                return event, data

    def pokes_until(self, seq: int) -> list[dict[str, Any]]:
        """Every poke up to the first whose seq reaches ``seq``."""
        found: list[dict[str, Any]] = []
        while True:
            event, data = self.next_event("poke")
            assert event == "poke", (event, data)
            found.append(data)
            if int(data["seq"]) >= seq:
                return found

    def close(self) -> None:
        self.client.close()


def _push(client: httpx.Client, client_id: str, mutation_id: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {"client_id": client_id, "schema_version": 1, "mutations": [{"id": mutation_id, "name": name, "args": args}]}
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()["results"][0]
    assert result["ok"], result
    return dict(result)


def _pulled(client: httpx.Client, first: int, last: int) -> list[dict[str, Any]]:
    """What a pull from ``first`` hands the agent, up to ``last``."""
    changes: list[dict[str, Any]] = []
    cursor = first
    while True:
        page = client.get("/v1/pull", params={"cursor": cursor, "limit": 500}).json()
        changes += [change for change in page["changes"] if change["seq"] <= last]
        cursor = page["cursor"]
        if not page["more"] or cursor >= last:
            return changes


def _mentions(changes: list[dict[str, Any]], text: str) -> bool:
    import json

    return text in json.dumps(changes)


@pytest.fixture
def streams(deployment: Deployment) -> Iterator[dict[str, RecordStream]]:
    url, tokens = deployment.server.url, deployment.team.tokens
    opened = {who: RecordStream(url, tokens[who]) for who in ("sam", "bea", "ada", "lee")}
    opened["tom"] = RecordStream(url, tokens["tom"], records=False)  # an old client: no opt-in
    try:
        yield opened
    finally:
        for stream in opened.values():
            stream.close()


def test_each_poke_holds_exactly_what_a_pull_by_its_agent_would(
    deployment: Deployment, streams: dict[str, RecordStream]
) -> None:
    team = deployment.team
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "alice@example.com"}}
    with deployment.api("sam") as as_sam, deployment.api("ada") as as_ada:
        tier1 = _push(as_sam, "client-sam", 1, "ticket.create", {**args, "group_id": team.tier1})
        tier1_id = tier1["result"]["ticket_id"]
        billing = _push(
            as_ada, "client-ada", 1, "ticket.create", {**args, "group_id": team.billing, "subject": "Refund"}
        )
        billing_id = billing["result"]["ticket_id"]
        _push(as_sam, "client-sam", 2, "ticket.note", {"ticket_id": tier1_id, "body": "Tier one secret note"})
        _push(as_ada, "client-ada", 2, "ticket.reply", {"ticket_id": billing_id, "body": "Billing secret reply"})
        view = _push(as_sam, "client-sam", 3, "view.create", {"name": "Sam's own", "query": "status:open"})
        _push(as_ada, "client-ada", 3, "ticket.assign", {"ticket_id": tier1_id, "group_id": team.billing})
        # an ungrouped ticket with a new requester: every stream hears of it, last
        last = _push(
            as_ada,
            "client-ada",
            4,
            "ticket.create",
            {**args, "requester": {"value": "zed@example.com"}, "group_id": None},
        )
    heard = {who: stream.pokes_until(last["seq"]) for who, stream in streams.items()}

    assert all(set(poke) == {"seq"} for poke in heard["tom"]), "a stream that did not ask got records"
    for who in ("sam", "bea", "ada", "lee"):
        with deployment.api(who) as api:
            carried = [poke for poke in heard[who] if "changes" in poke]
            assert carried, f"{who} was never handed records"
            for poke in carried:
                assert poke["from"] < poke["seq"]
                assert poke["changes"] == _pulled(api, poke["from"], poke["seq"]), (who, poke["from"], poke["seq"])

    def records(who: str, before: int | None = None) -> list[dict[str, Any]]:
        return [c for poke in heard[who] for c in poke.get("changes", []) if before is None or c["seq"] < before]

    # Billing saw nothing of Tier 1's ticket before the push that moved it; Tier 1 nothing of Billing's
    leaked = [c for c in records("bea", view["seq"] + 1) if _mentions([c], tier1_id)]
    assert not leaked, leaked
    assert not _mentions(records("bea"), "Tier one secret note") or _mentions(records("bea"), '"reveal"')
    assert not _mentions(records("sam"), billing_id) and not _mentions(records("lee"), billing_id)
    assert not _mentions(records("sam"), "Billing secret reply")
    # a personal view is its owner's alone
    assert _mentions(records("sam"), "Sam's own")
    for who in ("bea", "lee"):
        assert not _mentions(records(who), "Sam's own"), who
    assert not _mentions(records("bea"), view["result"]["view_id"])
    # the move: Tier 1 is told the ticket left (hide), Billing that it arrived (reveal), never the reverse
    assert {c["data"]["ticket_id"] for c in records("sam") + records("bea") if c["op"] in ("hide", "reveal")} <= {
        tier1_id
    }
    assert not [c for c in records("sam") if c["op"] == "reveal"]
    assert not [c for c in records("bea") if c["op"] == "hide"]
    assert [c for c in records("bea") if c["op"] == "reveal"], "the move's poke carried no reveal"


def test_a_range_too_large_goes_as_a_plain_poke(deployment: Deployment) -> None:
    stream = RecordStream(deployment.server.url, deployment.team.tokens["sam"])
    try:
        opened = {"subject": "Many", "body": "x", "requester": {"value": "m@example.com"}}
        with deployment.api("sam") as as_sam:
            created = _push(as_sam, "client-big", 1, "ticket.create", {**opened, "group_id": deployment.team.tier1})
            ticket_id = created["result"]["ticket_id"]
            notes = [
                {"id": 2 + n, "name": "ticket.note", "args": {"ticket_id": ticket_id, "body": f"n{n}"}}
                for n in range(RECORDS_MAX + 5)
            ]
            answer = as_sam.post("/v1/push", json={"client_id": "client-big", "schema_version": 1, "mutations": notes})
            assert answer.status_code == 200, answer.text
            seq = max(r["seq"] for r in answer.json()["results"])
        pokes = stream.pokes_until(seq)
        assert "changes" in pokes[0], "a small push went without its records"
        assert "changes" not in pokes[-1], "a push of many records went in a poke"
    finally:
        stream.close()


def test_a_token_limited_to_scopes_or_groups_opens_no_stream(deployment: Deployment) -> None:
    """Streams (and so records) are for full tokens, as pulls are: a REST token limited to
    Billing is refused, with or without ``records``."""
    token = admin.new_token(
        deployment.team.db, "ada@acme.test", "billing", scopes=["tickets:read"], groups=["Billing"]
    )[1]
    with httpx.Client(base_url=deployment.server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        for path in ("/v1/events?records=true", "/v1/events", "/v1/pull?cursor=0"):
            answer = client.get(path)
            assert answer.status_code == 403, (path, answer.status_code)
            assert answer.json()["error"]


# --- the checks made when the records are read: a revoked token, a changed agent ---------------


@pytest.fixture(params=["sqlite", "postgresql"])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    with server_database(request.param, tmp_path) as url:
        made = make_team(url)
        try:
            yield made
        finally:
            made.db.dispose()


def _subscriber(team: Team, who: str, token_id: str) -> Subscriber:
    with team.db.engine.connect() as connection:
        actor = load_actor(connection, team.ids[who])
    assert actor is not None
    return Subscriber(actor, token_id, records=True)


def _counter(team: Team) -> int:
    from sqlalchemy import text

    with team.db.engine.connect() as connection:
        return int(connection.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar() or 0)


def _wrote(team: Team, name: str, args: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
    """A write by the server; its seqs (first, last] and its result."""
    before = _counter(team)
    result = apply_as(team.db, SYSTEM, name, args)[0]
    return before, _counter(team), result


def _note_range(team: Team) -> tuple[int, int]:
    """A Tier 1 ticket, and the seqs of a note on it."""
    opened = {"subject": "Locked out", "body": "Help", "requester": {"value": "q@example.com"}}
    ticket = _wrote(team, "ticket.create", {**opened, "group_id": team.tier1})[2]
    first, last, _result = _wrote(team, "ticket.note", {"ticket_id": ticket["ticket_id"], "body": "Tier one only"})
    return first, last


def test_records_go_only_to_tokens_that_still_hold_what_they_held(team: Team) -> None:
    events = ServerEvents(team.db, recheck=0)
    tokens = {who: admin.new_token(team.db, f"{who}@acme.test")[0] for who in ("sam", "tom", "lee", "bea")}
    sam, tom, lee, bea = (_subscriber(team, who, tokens[who]) for who in ("sam", "tom", "lee", "bea"))
    first, last = _note_range(team)

    [read], stale = events._records_for([(first, last, [sam, tom, lee, bea])])
    carried = {stream: b"".join(parts) for stream, parts in read.records.items()}
    assert {sam, tom, lee} <= set(carried) and not stale
    assert b"Tier one only" in carried[sam] and b"Tier one only" not in carried[bea], "another group's note"
    # one encoding of the records per audience; each stream's own scope in front
    assert carried[sam].split(b'",', 1)[1] == carried[tom].split(b'",', 1)[1]
    assert carried[sam].split(b'",', 1)[0] != carried[tom].split(b'",', 1)[0], "tom was handed sam's scope"

    # the streams are still open (not re-checked yet) when the next poke's records are read
    admin.revoke_tokens(team.db, token_id=tokens["sam"])
    admin.update_agent(team.db, "tom@acme.test", groups=["Billing"])  # tom's stream still says Tier 1
    admin.update_agent(team.db, "lee@acme.test", active=False)
    [read], stale = events._records_for([(first, last, [sam, tom, lee, bea])])
    assert set(read.records) == {bea}
    assert {s.actor.id: reason for s, reason in stale} == {
        team.ids["sam"]: "token",
        team.ids["tom"]: "scope",
        team.ids["lee"]: "token",
    }


def test_a_range_not_yet_committed_is_never_handed_out(team: Team) -> None:
    events = ServerEvents(team.db, recheck=0)
    token = admin.new_token(team.db, "sam@acme.test")[0]
    first, last = _note_range(team)
    sam = _subscriber(team, "sam", token)
    [early, ready], _stale = events._records_for([(first, last + 3, [sam]), (first, last, [sam])])
    assert early.records == {}, "records handed out for seqs past the counter (a cursor gap)"
    assert early.seen is None, "unread rows must count as seen by everyone"
    assert sam in ready.records


async def _listening(team: Team, stream: Subscriber) -> None:
    """On PostgreSQL a process that starts listening pokes its streams with the counter as it
    is (a catch-up for the NOTIFYs it missed): take that plain poke first."""
    if team.db.is_postgres:
        assert "body" not in await asyncio.wait_for(stream.queue.get(), 30)


def test_a_stream_is_told_from_its_last_poke_while_pokes_follow_on_and_from_the_write_after_a_gap(team: Team) -> None:
    """The mark: another group's write between two pokes is not handed to a stream, and its next
    poke starts where its last one ended (so a client at the log's end applies it); a poke that
    does not follow on forgets it. Each poke's records equal a pull from its ``from``."""
    import orjson

    from supportdesk.server.reads import pull

    opened = {"subject": "Locked out", "body": "Help", "requester": {"value": "q@example.com"}}
    t1 = _wrote(team, "ticket.create", {**opened, "group_id": team.tier1})[2]["ticket_id"]
    t2 = _wrote(team, "ticket.create", {**opened, "group_id": team.billing})[2]["ticket_id"]
    r1 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "one"})[:2]
    r2 = _wrote(team, "ticket.note", {"ticket_id": t2, "body": "billing only"})[:2]
    r3 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "three"})[:2]
    r4 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "four"})[:2]
    tier1, billing = [[team.tier1, None]], [[team.billing, None]]

    async def run() -> list[dict[str, Any]]:
        events = ServerEvents(team.db, recheck=0)
        events.start(asyncio.get_running_loop())
        try:
            token = admin.new_token(team.db, "sam@acme.test")[0]
            sam = events.subscribe(_subscriber(team, "sam", token).actor, token, records=True)
            await _listening(team, sam)
            events._deliver({"type": "poke", "from": r1[0], "seq": r1[1], "audience": tier1})
            events._deliver({"type": "poke", "from": r2[0], "seq": r2[1], "audience": billing})  # not sam's
            events._deliver({"type": "poke", "from": r3[0], "seq": r3[1], "audience": tier1})
            events._deliver({"type": "poke", "seq": r3[1]})  # no range (a REST write on PostgreSQL)
            events._deliver({"type": "poke", "from": r4[0], "seq": r4[1], "audience": tier1})
            return [await asyncio.wait_for(sam.queue.get(), 30) for _ in range(4)]
        finally:
            events.stop()

    seen = asyncio.run(run())
    bodies = [orjson.loads(b"".join(event["body"])) if "body" in event else None for event in seen]
    assert [event["seq"] for event in seen] == [r1[1], r3[1], r3[1], r4[1]]
    assert bodies[0] is not None and bodies[0]["from"] == r1[0]
    assert bodies[1] is not None and bodies[1]["from"] == r1[1], "the next poke starts at the last one's end"
    assert bodies[2] is None
    assert bodies[3] is not None and bodies[3]["from"] == r4[0], "after a gap a poke starts at its own write"
    actor = _subscriber(team, "sam", "").actor
    for body in bodies:
        if body is not None:
            page = pull(team.db, actor, cursor=body["from"], limit=500, client_id=None)
            expected = [c.model_dump(mode="json") for c in page.changes if c.seq <= body["seq"]]
            assert body["changes"] == expected
    assert not any("billing only" in str(body) for body in bodies)


def test_two_pokes_that_arrive_the_other_way_round_keep_the_streams_marks(team: Team) -> None:
    """Each write's poke is published after its commit (on PostgreSQL by its own NOTIFY), so a
    later write's poke can come first: it waits a moment for the earlier one, and both go out
    in seq order with the stream's mark kept. (The wait is made long here, so a loaded machine
    that is slow to deliver the earlier poke does not turn this into the case where it expires:
    that one resets the marks, and the client pulls.)"""
    import orjson

    opened = {"subject": "Locked out", "body": "Help", "requester": {"value": "q@example.com"}}
    t1 = _wrote(team, "ticket.create", {**opened, "group_id": team.tier1})[2]["ticket_id"]
    r1 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "one"})[:2]
    r2 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "two"})[:2]
    r3 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "three"})[:2]
    tier1 = [[team.tier1, None]]

    async def run() -> list[dict[str, Any]]:
        events = ServerEvents(team.db, recheck=0, gap_wait=30.0)
        events.start(asyncio.get_running_loop())
        try:
            token = admin.new_token(team.db, "sam@acme.test")[0]
            sam = events.subscribe(_subscriber(team, "sam", token).actor, token, records=True)
            await _listening(team, sam)
            events._deliver({"type": "poke", "from": r1[0], "seq": r1[1], "audience": tier1})
            first = await asyncio.wait_for(sam.queue.get(), 30)
            events._deliver({"type": "poke", "from": r3[0], "seq": r3[1], "audience": tier1})
            await asyncio.sleep(0.01)
            events._deliver({"type": "poke", "from": r2[0], "seq": r2[1], "audience": tier1})
            return [first] + [await asyncio.wait_for(sam.queue.get(), 30) for _ in range(2)]
        finally:
            events.stop()

    seen = asyncio.run(run())
    assert [event["seq"] for event in seen] == [r1[1], r2[1], r3[1]], "handed out out of order"
    bodies = [orjson.loads(b"".join(event["body"])) for event in seen]
    assert [body["from"] for body in bodies] == [r1[0], r1[1], r2[1]]


def test_a_poke_whose_audience_misses_a_write_in_its_range_takes_the_marks_of_those_it_missed(team: Team) -> None:
    """The marks do not trust a poke's audience: the rows read say who may see something of its
    range. A poke claiming (from, seq] for Tier 1 while a Billing note lies in that range (a
    write miscounted its records) leaves Billing's stream without a mark, so its next poke
    starts at its own write and a Billing console at the log's end pulls."""
    import orjson

    opened = {"subject": "Locked out", "body": "Help", "requester": {"value": "q@example.com"}}
    t1 = _wrote(team, "ticket.create", {**opened, "group_id": team.tier1})[2]["ticket_id"]
    t2 = _wrote(team, "ticket.create", {**opened, "group_id": team.billing})[2]["ticket_id"]
    r1 = _wrote(team, "ticket.note", {"ticket_id": t2, "body": "billing first"})[:2]
    r2 = _wrote(team, "ticket.note", {"ticket_id": t1, "body": "tier one"})[:2]
    r3 = _wrote(team, "ticket.note", {"ticket_id": t2, "body": "billing again"})[:2]
    tier1, billing = [[team.tier1, None]], [[team.billing, None]]

    async def run() -> list[dict[str, Any]]:
        events = ServerEvents(team.db, recheck=0)
        events.start(asyncio.get_running_loop())
        try:
            token = admin.new_token(team.db, "bea@acme.test")[0]
            bea = events.subscribe(_subscriber(team, "bea", token).actor, token, records=True)
            await _listening(team, bea)
            events._deliver({"type": "poke", "from": r1[0] - 1, "seq": r1[0], "audience": None})
            first = await asyncio.wait_for(bea.queue.get(), 30)
            # the lie: Tier 1 only, over Billing's note and Tier 1's
            events._deliver({"type": "poke", "from": r1[0], "seq": r2[1], "audience": tier1})
            events._deliver({"type": "poke", "from": r2[1], "seq": r3[1], "audience": billing})
            return [first, await asyncio.wait_for(bea.queue.get(), 30)]
        finally:
            events.stop()

    seen = asyncio.run(run())
    assert seen[1]["seq"] == r3[1]
    body = orjson.loads(b"".join(seen[1]["body"]))
    assert body["from"] == r2[1], "a mark kept over a range holding Billing's note: the note would be skipped"
