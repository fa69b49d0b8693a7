"""A push is one transaction: what its mutations see of each other, and what its records say.

Runs the push route's own function on a real database of each engine (no HTTP: the route adds
only parsing), with the app's after-write hooks.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.protocol import MutationIn, MutationOutcome
from supportdesk.server import admin
from supportdesk.server.app import create_app
from supportdesk.server.apply import Applied, apply_as, apply_push
from supportdesk.server.db import ServerDatabase
from supportdesk.server.tokens import load_actor

pytestmark = pytest.mark.integration


class Pusher:
    """An admin's client pushing consecutive ids through :func:`apply_push`."""

    def __init__(self, database: ServerDatabase) -> None:
        self.database = database
        self.state = create_app(database).state.server
        self.next_id = 1
        agent_id = admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
        with database.engine.connect() as connection:
            actor = load_actor(connection, str(agent_id))
        assert actor is not None
        self.actor = actor

    def push(self, *mutations: tuple[str, dict[str, Any]]) -> list[MutationOutcome]:
        batch = [MutationIn(id=self.next_id + n, name=name, args=args) for n, (name, args) in enumerate(mutations)]
        self.next_id += len(batch)
        return apply_push(
            self.database,
            self.actor,
            "admin-client",
            batch,
            before_write=self.state.before_write,
            after_write=self.state.after_write,
            after_commit=self.state.after_commit,
        )

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.database.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]


def new_ticket(pusher: Pusher, subject: str = "S") -> str:
    created = pusher.push(("ticket.create", {"subject": subject, "body": "b", "requester": {"value": "c@example.com"}}))
    assert created[0].ok, created
    return str(created[0].result["ticket_id"])


def test_each_row_goes_out_once_and_every_outcome_covers_its_changes(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    first, second = new_ticket(pusher), new_ticket(pusher)
    (start,) = pusher.rows("SELECT value FROM counter WHERE name = 'seq'")[0]
    outcomes = pusher.push(
        ("ticket.note", {"ticket_id": first, "body": "one"}),
        ("ticket.note", {"ticket_id": first, "body": "two"}),
        ("ticket.tag", {"ticket_id": second, "tags": ["vip"]}),
        ("ticket.set_priority", {"ticket_id": first, "priority": "bogus"}),  # refused: consumes its id
        ("ticket.note", {"ticket_id": first, "body": "three"}),
    )
    assert [o.ok for o in outcomes] == [True, True, True, False, True]
    records = pusher.rows("SELECT seq, entity, entity_id, op FROM change_log WHERE seq > :s ORDER BY seq", s=start)
    # seqs are consecutive from the counter, and end where it stands
    assert [r[0] for r in records] == list(range(start + 1, start + 1 + len(records)))
    assert pusher.rows("SELECT value FROM counter WHERE name = 'seq'")[0][0] == records[-1][0]
    # the first ticket changed three times: one record, holding the row as committed
    assert [r for r in records if r[1] == "ticket" and r[2] == first and r[3] == "upsert"].__len__() == 1
    assert len([r for r in records if r[1] == "message"]) == 3
    seq_of = {(r[1], r[2]): r[0] for r in records}
    assert outcomes[0].seq >= seq_of[("ticket", first)] and outcomes[1].seq >= seq_of[("ticket", first)]
    assert outcomes[2].seq >= seq_of[("ticket", second)]
    assert outcomes[3].seq == 0
    assert pusher.rows("SELECT last_mutation_id FROM sync_client WHERE client_id = 'admin-client'") == [
        (pusher.next_id - 1,)
    ]
    assert len(pusher.rows("SELECT mutation_id FROM mutation_result WHERE client_id = 'admin-client'")) == (
        pusher.next_id - 1
    )


def test_a_rule_made_in_a_push_runs_for_the_mutations_after_it(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher, subject="Refund request")
    rule = {
        "name": "Refunds",
        "when": ["updated"],
        "conditions": {"words": ["refund"]},
        "actions": [{"add_tags": ["refund"]}],
    }
    outcomes = pusher.push(
        ("ticket.set_priority", {"ticket_id": ticket, "priority": "low"}),  # reads the (no) rules
        ("rule.create", {"definition": rule}),
        ("ticket.set_priority", {"ticket_id": ticket, "priority": "high"}),
    )
    assert all(o.ok for o in outcomes), outcomes
    assert pusher.rows("SELECT tag FROM ticket_tag WHERE ticket_id = :t", t=ticket) == [("refund",)]


def test_a_replayed_push_answers_from_the_stored_results(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    first = pusher.push(("ticket.note", {"ticket_id": ticket, "body": "once"}))
    pusher.next_id -= 1
    again = pusher.push(("ticket.note", {"ticket_id": ticket, "body": "once"}))
    assert again[0].replayed and again[0].seq == first[0].seq
    assert pusher.rows("SELECT count(*) FROM message WHERE body = 'once'") == [(1,)]


class HookFailed(Exception):
    pass


def test_one_failing_after_commit_hook_costs_no_other_work_its_turn(
    database: ServerDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    # the write is committed and nothing runs these hooks again: every hook of every mutation,
    # and the poke, runs; the failure is logged and counted, never raised (the answer must say
    # what committed: a client reading an error would take committed work for failed)
    from supportdesk.server.hook_failures import counts

    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    ran: list[str] = []

    def failing(_database: ServerDatabase, applied: Applied) -> None:
        ran.append(f"failing {applied.name}")
        raise HookFailed("the hook broke")

    def recording(_database: ServerDatabase, applied: Applied) -> None:
        ran.append(f"recording {applied.name}")

    name = failing.__qualname__
    before = counts().get(name, 0)
    batch = [
        MutationIn(id=pusher.next_id + n, name="ticket.note", args={"ticket_id": ticket, "body": f"n{n}"})
        for n in range(2)
    ]
    with caplog.at_level("ERROR", logger="supportdesk.server.after_commit"):
        outcomes = apply_push(database, pusher.actor, "admin-client", batch, after_commit=[failing, recording])
    assert [o.ok for o in outcomes] == [True, True] and all(o.seq for o in outcomes), outcomes
    assert ran == ["failing ticket.note", "recording ticket.note"] * 2
    assert pusher.rows("SELECT count(*) FROM message WHERE body IN ('n0', 'n1')") == [(2,)]
    assert counts()[name] == before + 2
    failures = [r for r in caplog.records if r.levelname == "ERROR" and name in r.getMessage()]
    # each names the write it came after (the push's client and mutation id) and keeps its traceback
    assert [f"admin-client:{m.id}" in r.getMessage() for r, m in zip(failures, batch, strict=True)] == [True, True]
    assert all(r.exc_info is not None for r in failures)

    ran.clear()
    poked: list[int] = []
    result, _warnings = apply_as(
        database,
        pusher.actor,
        "ticket.note",
        {"ticket_id": ticket, "body": "by the server"},
        poke=poked.append,
        after_commit=[failing, recording],
    )
    assert result["message_id"]
    assert ran == ["failing ticket.note", "recording ticket.note"]
    assert len(poked) == 1 and poked[0] > 0
    assert counts()[name] == before + 3
