"""A push writes its tickets' SLA clocks once, at its end: the outcome is that of single pushes.

The same ten mutations run on one ticket as one push, on another as ten pushes of one and on a
third as ten writes of the server's own (:func:`apply_as`, whose clocks are written right after
each mutator), at the same frozen instant, under two SLA policies and three rules (one of which fails half
way and is rolled back). Everything the clocks, the rules and the surveys leave behind must be
the same for the three tickets: the timing row (history, clocks, due times, report facts), the ticket,
its tags, its surveys and the audit trail's fields.
"""

from __future__ import annotations

import contextlib
from typing import Any

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from supportdesk.server.trust import pushed_args
from tests.conftest import TestClock
from tests.server.test_push_batch import Pusher

RULES = [
    # tagging "escalate" moves the ticket to pending, then fails (Bea is not in Tier 1): the
    # status change it made is rolled back, and must leave no event in the clocks either
    {
        "name": "Broken escalation",
        "when": ["updated"],
        "conditions": {"tags": "escalate"},
        "actions": [{"set_status": "pending"}, {"assign": "bea@example.com"}],
    },
    {
        "name": "Urgent words",
        "when": ["created"],
        "conditions": {"words": ["outage"]},
        "actions": [{"set_priority": "high"}],
    },
    {"name": "Seen", "when": ["created", "updated"], "conditions": {}, "actions": [{"add_tags": ["seen"]}]},
]


def script(ticket: str, group: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "ticket.create",
            {
                "ticket_id": ticket,
                "subject": "Outage",
                "body": "down",
                "group_id": group,
                "requester": {"value": "c@example.com"},
            },
        ),
        ("ticket.note", {"ticket_id": ticket, "body": "looking"}),
        ("ticket.reply", {"ticket_id": ticket, "body": "on it"}),
        ("ticket.tag", {"ticket_id": ticket, "tags": ["escalate"]}),
        ("ticket.set_priority", {"ticket_id": ticket, "priority": "urgent"}),
        ("ticket.set_priority", {"ticket_id": ticket, "priority": "bogus"}),  # refused
        ("ticket.set_status", {"ticket_id": ticket, "status": "on_hold"}),
        ("ticket.reply", {"ticket_id": ticket, "body": "fixed", "status": "solved"}),
        ("ticket.set_status", {"ticket_id": ticket, "status": "open"}),
        ("ticket.note", {"ticket_id": ticket, "body": "reopened"}),
    ]


TIMING = (
    "policy_id, history, clocks, due_at, breach_at, paused, first_reply_due, next_reply_due, resolution_due, "
    "sla_met, sla_missed, first_reply_s, replies, next_reply_total_s, next_reply_count, resolution_s, reopens, "
    "created_at, solved_at, done_at, channel, group_id, assignee_id, handle_s"
)


def left_behind(pusher: Pusher, ticket: str) -> dict[str, Any]:
    def one(sql: str) -> list[tuple[Any, ...]]:
        return pusher.rows(sql, t=ticket)

    return {
        "timing": one(f"SELECT {TIMING} FROM ticket_timing WHERE ticket_id = :t"),
        "ticket": one(
            "SELECT status, priority, group_id, assignee_id, first_response_at, solved_at, updated_at "
            "FROM ticket WHERE id = :t"
        ),
        "tags": one("SELECT tag FROM ticket_tag WHERE ticket_id = :t ORDER BY tag"),
        "surveys": one("SELECT issued_at FROM survey WHERE ticket_id = :t"),
        "audit": [
            (field, before if field in PLAIN else None, after if field in PLAIN else None)
            for field, before, after in one(
                "SELECT field, before, after FROM audit_event WHERE entity_id = :t ORDER BY id"
            )
        ],
    }


#: Audit fields whose values are the same for both tickets (not ids of rows each one got).
PLAIN = frozenset({"status", "priority", "group_id", "assignee_id", "rule.fired", "rule.failed"})


def test_a_push_of_ten_leaves_the_clocks_and_rules_as_ten_single_pushes(
    database: ServerDatabase, clock: TestClock
) -> None:
    clock.freeze()
    tier1 = admin.add_group(database, "Tier 1")
    admin.add_agent(database, "Bea", "bea@example.com", "agent", [])
    pusher = Pusher(database)
    for priority, minutes in (("normal", 60), ("urgent", 15)):
        policy = {
            "name": priority,
            "priority": priority,
            "first_reply_minutes": minutes,
            "next_reply_minutes": minutes,
            "resolution_minutes": 8 * minutes,
        }
        apply_as(database, SYSTEM, "sla.policy.create", policy)
    for position, rule in enumerate(RULES):
        apply_as(database, SYSTEM, "rule.create", {"definition": {**rule, "position": position}})

    together, alone, reference = (f"0190a000-0000-7000-8000-00000000000{n}" for n in "abc")
    in_one = pusher.push(*script(together, tier1))
    one_by_one = [outcome for step in script(alone, tier1) for outcome in pusher.push(step)]
    for name, args in script(reference, tier1):  # the server's own writes: clocks written at once
        trusted, refusal = pushed_args(pusher.actor, name, args)  # as a push takes them
        assert refusal is None
        with contextlib.suppress(DomainError):
            apply_as(database, pusher.actor, name, trusted, after_write=pusher.state.after_write)

    assert [o.ok for o in in_one] == [o.ok for o in one_by_one] == [True] * 5 + [False] + [True] * 4
    batched = left_behind(pusher, together)
    # the rules did what the script meant them to (so the comparison covers them)
    assert any(field == "rule.failed" for field, _b, _a in batched["audit"])
    assert [tag for (tag,) in batched["tags"]] == ["escalate", "seen"]
    assert len(batched["surveys"]) == 1 and batched["timing"][0][-1] == 0
    assert batched == left_behind(pusher, alone) == left_behind(pusher, reference)
    # the timing row written at the push's end goes out to the clients, once, and the outcome of
    # every mutation that moved its clocks covers it (a client waits for that seq)
    sent = pusher.rows("SELECT seq FROM change_log WHERE entity = 'ticket_timing' AND entity_id = :t", t=together)
    assert len(sent) == 1
    assert all(o.seq >= sent[0][0] for o in in_one if o.ok)


def test_a_rule_on_the_sla_sees_the_clocks_of_the_mutation_that_woke_it(
    database: ServerDatabase, clock: TestClock
) -> None:
    """A rule whose query asks about the SLA (``sla:active``) reads ``ticket_timing``: in a push
    it must see the clocks the mutation that woke it moved, as the server's own write does."""
    clock.freeze()
    tier1 = admin.add_group(database, "Tier 1")
    pusher = Pusher(database)
    policy = {
        "name": "all",
        "priority": "normal",
        "first_reply_minutes": 60,
        "next_reply_minutes": 60,
        "resolution_minutes": 480,
    }
    apply_as(database, SYSTEM, "sla.policy.create", policy)
    rule = {
        "name": "Clock running",
        "when": ["created", "updated"],
        "conditions": {"query": "sla:active"},
        "actions": [{"add_tags": ["clocked"]}],
    }
    apply_as(database, SYSTEM, "rule.create", {"definition": rule})

    pushed, served = "0190a000-0000-7000-8000-00000000000d", "0190a000-0000-7000-8000-00000000000e"
    ((name, args),) = script(pushed, tier1)[:1]
    assert pusher.push((name, args))[0].ok
    ((name, args),) = script(served, tier1)[:1]
    trusted, _refusal = pushed_args(pusher.actor, name, args)
    apply_as(database, pusher.actor, name, trusted, after_write=pusher.state.after_write)

    tags = "SELECT tag FROM ticket_tag WHERE ticket_id = :t ORDER BY tag"
    assert pusher.rows(tags, t=served) == [("clocked",)]
    assert pusher.rows(tags, t=pushed) == [("clocked",)]


def test_a_merge_amid_deferred_clocks_leaves_the_clocks_the_servers_writes_do(
    database: ServerDatabase, clock: TestClock
) -> None:
    clock.freeze()
    tier1 = admin.add_group(database, "Tier 1")
    pusher = Pusher(database)
    apply_as(
        database,
        SYSTEM,
        "sla.policy.create",
        {
            "name": "n",
            "priority": "normal",
            "first_reply_minutes": 60,
            "next_reply_minutes": 60,
            "resolution_minutes": 480,
        },
    )

    def steps(a: str, b: str, customer: str) -> list[tuple[str, dict[str, Any]]]:
        create_a, create_b = script(a, tier1)[0], script(b, tier1)[0]
        create_b[1]["requester"] = {"value": customer}
        create_a[1]["requester"] = {"value": customer}
        return [
            create_a,
            create_b,
            ("ticket.reply", {"ticket_id": a, "body": "hi", "status": "pending"}),
            ("ticket.merge", {"source_id": a, "target_id": b}),
            ("ticket.reply", {"ticket_id": b, "body": "merged", "status": "on_hold"}),
            ("ticket.set_status", {"ticket_id": b, "status": "open"}),
        ]

    ids = [f"0190a000-0000-7000-8000-0000000000{n}" for n in ("a1", "b1", "a2", "b2")]
    outcomes = pusher.push(*steps(ids[0], ids[1], "p@example.com"))
    assert all(o.ok for o in outcomes), outcomes
    for name, args in steps(ids[2], ids[3], "q@example.com"):
        trusted, refusal = pushed_args(pusher.actor, name, args)
        assert refusal is None
        apply_as(database, pusher.actor, name, trusted, after_write=pusher.state.after_write)
    for pushed, served in ((ids[0], ids[2]), (ids[1], ids[3])):
        assert left_behind(pusher, pushed)["timing"] == left_behind(pusher, served)["timing"]
        sent = pusher.rows("SELECT seq FROM change_log WHERE entity = 'ticket_timing' AND entity_id = :t", t=pushed)
        assert sent
