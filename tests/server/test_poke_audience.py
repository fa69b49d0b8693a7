"""A poke goes only to the streams whose agent may see what the write changed (issue 13: with
1,000 agents, a reply in one group must not make the whole company pull), and never misses one
who may: ungrouped tickets, tickets assigned across groups, tickets moved between groups, and
anything that is not a ticket's row reach everyone they may reach."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from supportdesk.domain.context import Actor
from supportdesk.server.apply import Applied
from supportdesk.server.changes import Record
from supportdesk.server.events import AUDIENCE_MAX, ServerEvents, audience_of
from supportdesk.server.visibility import record_visible
from supportdesk.store.enums import Role
from tests.live import Deployment
from tests.server.test_streams import Stream, open_stream


def _applied(*records: Record) -> Applied:
    return Applied(name="x", records=list(records))


AGENTS = [
    Actor(id="a1", name="A", role=Role.AGENT, group_ids=frozenset({"g1"})),
    Actor(id="a2", name="B", role=Role.AGENT, group_ids=frozenset({"g2"})),
    Actor(id="a3", name="C", role=Role.AGENT, group_ids=frozenset()),
    Actor(id="ad", name="D", role=Role.ADMIN, group_ids=frozenset()),
]

RECORDS = [
    Record("ticket", "t1", "upsert", {"id": "t1", "group_id": "g1", "assignee_id": None}, "g1"),
    Record("ticket", "t2", "upsert", {"id": "t2", "group_id": "g1", "assignee_id": "a2"}, "g1"),
    Record("ticket", "t3", "upsert", {"id": "t3", "group_id": None, "assignee_id": None}, None),
    Record("message", "m1", "upsert", {"id": "m1", "ticket_id": "t1"}, "g1"),
    Record("ticket_tag", "t1|x", "delete", {"ticket_id": "t1"}, "g2"),
    Record(
        "ticket",
        "t4",
        "hide",
        {"ticket_id": "t4", "from": {"group_id": "g1", "assignee_id": None}, "to": {"group_id": "g2"}},
        "g2",
    ),
    Record(
        "ticket",
        "t5",
        "reveal",
        {"ticket_id": "t5", "from": {"group_id": "g2"}, "to": {"group_id": "g1", "assignee_id": "a3"}},
        "g1",
    ),
    Record("agent", "a1", "upsert", {"id": "a1"}, None),
    Record("saved_view", "v1", "upsert", {"id": "v1", "owner_id": "a2"}, None),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"{r.entity}-{r.op}")
def test_every_agent_a_pull_would_hand_the_record_to_is_poked(record: Record) -> None:
    poke = {"type": "poke", "seq": 1}
    audience = audience_of(_applied(record))
    if audience is not None:
        poke["audience"] = sorted(audience, key=str)
    for actor in AGENTS:
        if record_visible(actor, record.entity, record.op, record.data, record.group_id):
            assert ServerEvents.visible(actor, poke), (actor.id, record)


def test_a_write_in_one_group_does_not_poke_another_group() -> None:
    poke = {"type": "poke", "seq": 1, "audience": sorted(audience_of(_applied(RECORDS[0], RECORDS[3])) or [])}
    assert ServerEvents.visible(AGENTS[0], poke)
    assert not ServerEvents.visible(AGENTS[1], poke)
    assert not ServerEvents.visible(AGENTS[2], poke)
    assert ServerEvents.visible(AGENTS[3], poke), "an admin sees every group"


def test_a_write_touching_many_tickets_pokes_everyone_and_the_payload_stays_small() -> None:
    many = [Record("ticket", f"t{n}", "upsert", {"assignee_id": None}, f"g{n}") for n in range(AUDIENCE_MAX + 1)]
    assert audience_of(_applied(*many)) is None
    assert audience_of(_applied(*many[:AUDIENCE_MAX])) is not None


def test_a_poke_with_no_audience_gathered_goes_to_everyone() -> None:
    assert all(ServerEvents.visible(actor, {"type": "poke", "seq": 3}) for actor in AGENTS)


def _push(client: httpx.Client, client_id: str, mutation_id: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "schema_version": 1,
        "mutations": [{"id": mutation_id, "name": name, "args": args}],
    }
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()["results"][0]
    assert result["ok"], result
    return dict(result)


def _next_poke(stream: Stream) -> int:
    return int(stream.next("poke")["seq"])


def _poke_at_least(stream: Stream, seq: int) -> None:
    while _next_poke(stream) < seq:
        pass


@pytest.mark.integration
def test_streams_hear_only_of_writes_they_may_see(deployment: Deployment) -> None:
    team = deployment.team
    sam, bea, ada = (open_stream(deployment, who) for who in ("sam", "bea", "ada"))
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "alice@example.com"}}
    try:
        with deployment.api("sam") as as_sam, deployment.api("ada") as as_ada:
            # (a new requester is a customer row, which every agent sees: everyone hears of these)
            tier1 = _push(as_sam, "client-sam-1", 1, "ticket.create", {**args, "group_id": team.tier1})
            billing = _push(as_ada, "client-ada-1", 1, "ticket.create", {**args, "group_id": team.billing})
            # an ungrouped ticket is everyone's: every stream hears of it, after the two above
            everyone = _push(
                as_ada, "client-ada-1", 2, "ticket.create", {**args, "requester": {"value": "b@example.com"}}
            )
            for stream in (sam, bea, ada):
                _poke_at_least(stream, everyone["seq"])
            note = {"body": "Looked into it."}
            in_tier1 = _push(
                as_sam, "client-sam-1", 2, "ticket.note", {**note, "ticket_id": tier1["result"]["ticket_id"]}
            )
            in_billing = _push(
                as_ada, "client-ada-1", 3, "ticket.note", {**note, "ticket_id": billing["result"]["ticket_id"]}
            )
            # Billing's agent is not told of Tier 1's note: the next poke she gets is Billing's.
            assert _next_poke(bea) == in_billing["seq"], "Tier 1's note reached Billing"
            assert _next_poke(sam) == in_tier1["seq"], "Tier 1 is not told of Billing's note"
            _poke_at_least(ada, in_billing["seq"])  # an admin hears of both
            # Tier 1's ticket moved to Billing: now she may see it and hears of it, and Tier 1
            # hears that it left.
            ticket_id = tier1["result"]["ticket_id"]
            moved = _push(
                as_ada, "client-ada-1", 4, "ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing}
            )
            assert _next_poke(bea) == moved["seq"]
            assert _next_poke(sam) == moved["seq"]
    finally:
        for stream in (sam, bea, ada):
            stream.close()
