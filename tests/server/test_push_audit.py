"""A push holds the audit events of its plain ticket mutations and writes them in one statement
at once (issue 19): the trail must be the one single pushes leave, row for row and in order.

The same script runs on one ticket as one push and on another as single pushes: held mutations
(create, notes, replies, tags), a rule that fails half way inside a held one (its events are
forgotten), a held mutation refused after it audited (its events are forgotten), and a status
change told what the client saw, which reads the trail (so what the push held must be written
before it runs: its "changed meanwhile by …" warning names the author of the held change).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from supportdesk.domain import registry
from supportdesk.domain.catalog import get
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import ValidationFailed
from supportdesk.server import admin
from supportdesk.server.apply import HELD_AUDITS, apply_as
from supportdesk.server.db import ServerDatabase
from tests.server.test_push_batch import Pusher

RULES = [
    {  # moves the ticket to pending, then fails (Bea is not in Tier 1): rolled back, events and all
        "name": "Broken escalation",
        "when": ["updated"],
        "conditions": {"tags": "escalate"},
        "actions": [{"set_status": "pending"}, {"assign": "bea@example.com"}],
    },
    {"name": "Seen", "when": ["created", "updated"], "conditions": {}, "actions": [{"add_tags": ["seen"]}]},
]


def script(ticket: str, group: str) -> list[tuple[str, dict[str, Any]]]:
    created = {"ticket_id": ticket, "subject": "S", "body": "b", "group_id": group, "requester": {"value": "c@x.org"}}
    return [
        ("ticket.create", created),
        ("ticket.note", {"ticket_id": ticket, "body": "looking"}),
        ("ticket.tag", {"ticket_id": ticket, "tags": ["escalate"]}),
        ("ticket.note", {"ticket_id": ticket, "body": "refuse me"}),  # refused after it wrote
        ("ticket.reply", {"ticket_id": ticket, "body": "on it", "status": "pending"}),
        # reads the trail: the held reply's status change must be written by now
        ("ticket.set_status", {"ticket_id": ticket, "status": "on_hold", "seen": "open"}),
        ("ticket.note", {"ticket_id": ticket, "body": "after"}),
        ("ticket.untag", {"ticket_id": ticket, "tags": ["seen"]}),
    ]


def numberless(warnings: list[str]) -> list[str]:
    return [re.sub(r"#\d+", "#N", warning) for warning in warnings]


def trail(pusher: Pusher, ticket: str) -> list[tuple[Any, ...]]:
    """The ticket's audit rows in id order, without what differs between two tickets."""
    rows = pusher.rows(
        "SELECT mutation, entity, field, before, after, source, actor_id, mutation_ref FROM audit_event "
        "WHERE entity_id = :t ORDER BY id",
        t=ticket,
    )
    plain = {"status", "priority", "assignee_id", "rule.fired", "rule.failed", "tags"}
    return [
        (*row[:3], row[3] if row[2] in plain else None, row[4] if row[2] in plain else None, row[5], row[6])
        for row in rows
    ]


def test_held_audit_events_are_the_trail_single_pushes_leave(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = get("ticket.note")

    def refusing(tx: Any, args: Any) -> Any:
        result = note.run(tx, args)  # writes its message and its audit event first
        if args.body == "refuse me":
            raise ValidationFailed("refused after writing", field="body")
        return result

    monkeypatch.setitem(registry.registered(), "ticket.note", replace(note, run=refusing))
    tier1 = admin.add_group(database, "Tier 1")
    admin.add_agent(database, "Bea", "bea@example.com", "agent", [])
    pusher = Pusher(database)
    for position, rule in enumerate(RULES):
        apply_as(database, SYSTEM, "rule.create", {"definition": {**rule, "position": position}})

    together, alone = "0190a000-0000-7000-8000-00000000000a", "0190a000-0000-7000-8000-00000000000b"
    in_one = pusher.push(*script(together, tier1))
    one_by_one = [outcome for step in script(alone, tier1) for outcome in pusher.push(step)]

    assert [o.ok for o in in_one] == [o.ok for o in one_by_one] == [True] * 3 + [False] + [True] * 4
    assert [numberless(o.warnings) for o in in_one] == [numberless(o.warnings) for o in one_by_one]
    assert any("changed meanwhile by Ada" in w for w in in_one[5].warnings), in_one[5].warnings
    batched = trail(pusher, together)
    fields = [row[2] for row in batched]
    assert "rule.failed" in fields
    assert fields.count("message.note") == 3  # the first message, "looking" and "after": not the refused note
    assert batched == trail(pusher, alone)
    # the refused note's event is gone, from the push as from the single push
    refused = ("admin-client:4", "admin-client:12")
    assert pusher.rows("SELECT id FROM audit_event WHERE mutation_ref IN (:a, :b)", a=refused[0], b=refused[1]) == []
    # the failed rule's status change is gone too (its rule.failed event stays)
    rule_status = "SELECT id FROM audit_event WHERE mutation_ref LIKE :r AND field = 'status'"
    assert pusher.rows(rule_status, r="admin-client:3/rule:%") == []


def test_only_mutations_that_read_no_trail_are_held() -> None:
    # what reads audit_event on the write path: a field setter told what the client saw, an
    # erasure (it scrubs the trail), an SLA rebuild. None of them may be held.
    assert not HELD_AUDITS & {
        "ticket.set_status",
        "ticket.set_priority",
        "ticket.set_type",
        "ticket.assign",
        "customer.erase",
        "sla.rebuild",
    }
