"""The write path's shortcuts change nothing: the same random mutations, applied with them and
without them, leave the same rows in every table (issue 19, wpath19).

The shortcuts: the ticket row the mutator loaded is handed to the SLA refresh and the routing
rules instead of being read again (``tx.HAND_OVER``), and a ticket's timing row is taken from
the last computation when its history and targets are equal (``timing.REUSE_ROWS``). The
workspace has SLA policies on a business-hours calendar, rules that fire on updates and change
what later rules look at (priority, tags, status), a rule that fails half way, an auto-reply;
the mutations include refused ones (a closed ticket, a transition that is not allowed) and
batches of several in one transaction.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supportdesk.domain import timing, tx, write
from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.store import ids
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.conftest import Team, TestClock

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _admin(team: Team, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return write.apply(team.workspace, name, args, actor=team.admin).result


def _rule(team: Team, **definition: Any) -> None:
    _admin(team, "rule.create", {"definition": definition})


def _configure(team: Team) -> None:
    calendar = _admin(
        team,
        "sla.calendar.create",
        {
            "name": "Office",
            "timezone": "Europe/London",
            "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-11-26"],
        },
    )["calendar_id"]
    for priority, minutes in (("normal", 60), ("high", 30), ("urgent", 10)):
        _admin(
            team,
            "sla.policy.create",
            {
                "name": f"{priority} hours",
                "priority": priority,
                "calendar_id": calendar,
                "first_reply_minutes": minutes,
                "next_reply_minutes": minutes * 2,
                "resolution_minutes": minutes * 8,
            },
        )
    _admin(team, "sla.policy.create", {"name": "Low", "priority": "low", "resolution_minutes": 600})
    _rule(team, name="Thanks", when=["created"], conditions={"channel": "web"}, actions=[{"auto_reply": "Got it"}])
    _rule(
        team,
        name="Escalate",
        position=1,
        when=["updated"],
        conditions={"tags": "escalate"},
        actions=[{"remove_tags": "escalate"}, {"set_priority": "urgent"}],
    )
    _rule(
        team,
        name="Hot",
        position=2,
        when=["created", "updated"],
        conditions={"priority": "urgent"},
        actions=[{"add_tags": "hot"}],
    )
    _rule(
        team,
        name="Broken",
        position=3,
        when=["updated"],
        conditions={"tags": "broken"},
        actions=[{"add_tags": "half"}, {"assign": "bea@acme.test"}],
    )
    _rule(
        team,
        name="Done",
        position=4,
        when=["updated"],
        conditions={"tags": "done"},
        actions=[{"remove_tags": "done"}, {"set_status": "solved"}],
    )
    _rule(
        team,
        name="Route",
        position=5,
        when=["created"],
        conditions={"group": "none"},
        actions=[{"set_group": "Tier 1"}],
    )


class _Deterministic:
    """Stands in for ``os`` and ``time`` in :mod:`supportdesk.store.ids`: the same ids each run."""

    def __init__(self) -> None:
        self.random = random.Random(19)
        self.ns = int(START.timestamp()) * 1_000_000_000

    def urandom(self, size: int) -> bytes:
        return self.random.randbytes(size)

    def time_ns(self) -> int:
        self.ns += 1_000_000
        return self.ns


@pytest.fixture
def pair(team: Team, tmp_path: Path) -> Iterator[tuple[Workspace, Workspace, Team]]:
    """Two copies of one configured workspace."""
    _configure(team)
    source = team.workspace
    source.close()
    copies = []
    for name in ("with", "without"):
        target = tmp_path / name
        target.mkdir()
        shutil.copy(source.root / DB_NAME, target / DB_NAME)
        (target / "attachments").mkdir()
        copies.append(Workspace.open(target))
    yield copies[0], copies[1], team
    for copy in copies:
        copy.close()


def _mutations(seed: int, team: Team) -> list[list[tuple[str, dict[str, Any], Actor]]]:
    """Random batches of ticket mutations (ids chosen here, so both runs write the same rows)."""
    rng = random.Random(seed)
    tickets: list[str] = []
    batches = []
    people = [team.agent, team.admin, team.light, SYSTEM]
    for step in range(120):
        batch = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            who = rng.choice(people)
            if not tickets or rng.random() < 0.12:
                ticket_id = f"t-{seed}-{step}-{len(batch)}"
                args: dict[str, Any] = {
                    "ticket_id": ticket_id,
                    "message_id": f"m-{ticket_id}",
                    "subject": f"Case {step}",
                    "body": "Help",
                    "requester": {"value": f"c{rng.randrange(4)}@example.com"},
                    "channel": rng.choice(("web", "email")),
                    "priority": rng.choice(("low", "normal", "high", "urgent")),
                }
                if rng.random() < 0.5:
                    args["group_id"] = team.tier1
                tickets.append(ticket_id)
                batch.append(("ticket.create", args, SYSTEM))
                continue
            ticket_id = rng.choice(tickets)
            message_id = f"m-{seed}-{step}-{len(batch)}"
            kind = rng.choice(
                ("note", "note", "note", "reply", "receive", "status", "priority", "tag", "untag", "assign", "subject")
            )
            if kind == "note":
                batch.append(
                    ("ticket.note", {"ticket_id": ticket_id, "body": "checked", "message_id": message_id}, who)
                )
            elif kind == "reply":
                args = {"ticket_id": ticket_id, "body": "Hello", "message_id": message_id}
                args["followup_ticket_id"] = f"f-{message_id}"
                if rng.random() < 0.5:
                    args["status"] = rng.choice(("open", "pending", "solved", "on_hold"))
                batch.append(("ticket.reply", args, who))
            elif kind == "receive":
                args = {"ticket_id": ticket_id, "body": "More", "message_id": message_id}
                batch.append(("ticket.receive", {**args, "followup_ticket_id": f"f-{message_id}"}, SYSTEM))
            elif kind == "status":
                status = rng.choice(("open", "pending", "on_hold", "solved", "closed", "new"))
                batch.append(("ticket.set_status", {"ticket_id": ticket_id, "status": status}, who))
            elif kind == "priority":
                priority = rng.choice(("low", "normal", "high", "urgent"))
                batch.append(("ticket.set_priority", {"ticket_id": ticket_id, "priority": priority}, who))
            elif kind in ("tag", "untag"):
                tags = rng.sample(("escalate", "done", "broken", "vip", "hot"), rng.choice((1, 2)))
                batch.append((f"ticket.{kind}", {"ticket_id": ticket_id, "tags": tags}, who))
            elif kind == "assign":
                assignee = rng.choice((team.agent.id, team.admin.id, None))
                batch.append(("ticket.assign", {"ticket_id": ticket_id, "assignee_id": assignee}, who))
            else:
                batch.append(("ticket.set_subject", {"ticket_id": ticket_id, "subject": f"Now {step}"}, who))
        batches.append(batch)
    return batches


def _run(ws: Workspace, batches: list[list[tuple[str, dict[str, Any], Actor]]], clock: TestClock) -> list[Any]:
    """Apply every batch (one transaction each, one savepoint a mutation); what came back."""
    clock.freeze(START)
    seen = []
    for batch in batches:
        outcomes: list[write.Outcome] = []
        if len({id(item[2]) for item in batch}) == 1:  # one actor: one transaction for the batch
            outcomes = write.apply_many(ws, [(name, args) for name, args, _who in batch], actor=batch[0][2])
        else:
            for name, args, who in batch:
                outcomes += write.apply_many(ws, [(name, args)], actor=who)
        seen.append([(o.ok, o.result, o.error.message if o.error else None) for o in outcomes])
        clock.advance(timedelta(minutes=37))
    return seen


def _rows(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the search index's own tables too)."""
    with ws.reading() as connection:
        names = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        found = {}
        for name in names:
            try:
                rows = connection.execute(f'SELECT * FROM "{name}"').fetchall()
            except Exception:  # a virtual table's own declaration (read through its shadow tables)
                continue
            found[name] = sorted((tuple(row) for row in rows), key=repr)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_mutations_leave_the_same_rows_with_and_without_the_shortcuts(
    pair: tuple[Workspace, Workspace, Team], seed: int, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow, team = pair
    batches = _mutations(seed, team)

    def deterministic_ids() -> None:
        fake = _Deterministic()
        monkeypatch.setattr(ids, "os", fake)
        monkeypatch.setattr(ids, "time", fake)
        monkeypatch.setattr(ids, "_last_ms", 0)
        monkeypatch.setattr(ids, "_counter", 0)

    deterministic_ids()
    monkeypatch.setattr(tx, "HAND_OVER", True)
    monkeypatch.setattr(timing, "REUSE_ROWS", True)
    fast_outcomes = _run(fast, batches, clock)
    deterministic_ids()
    monkeypatch.setattr(tx, "HAND_OVER", False)
    monkeypatch.setattr(timing, "REUSE_ROWS", False)
    slow_outcomes = _run(slow, batches, clock)

    assert fast_outcomes == slow_outcomes
    refused = sum(1 for outcomes in fast_outcomes for ok, _result, _error in outcomes if not ok)
    assert 0 < refused < sum(len(outcomes) for outcomes in fast_outcomes)  # both kinds were exercised
    fast_rows, slow_rows = _rows(fast), _rows(slow)
    assert fast_rows.keys() == slow_rows.keys()
    for name in fast_rows:
        assert fast_rows[name] == slow_rows[name], name
    with fast.reading() as connection:
        fired = {r[0] for r in connection.execute("SELECT after FROM audit_event WHERE field = 'rule.fired'")}
        failed = connection.execute("SELECT count(*) FROM audit_event WHERE field = 'rule.failed'").fetchone()[0]
        clocks = connection.execute("SELECT count(*) FROM ticket_timing WHERE sla_met + sla_missed > 0").fetchone()[0]
    assert len({'"Escalate"', '"Hot"', '"Done"'} & fired) >= 2  # rules that change what later rules read ran
    assert failed > 0 and clocks > 0


def test_a_refused_lone_mutation_leaves_every_table_as_it_was(team: Team) -> None:
    """One mutation in a transaction runs without a savepoint: its refusal rolls the whole
    transaction back, which must leave exactly what rolling back to the savepoint left."""
    ws = team.workspace
    created = write.apply(
        ws, "ticket.create", {"subject": "Closed soon", "body": "Hi", "requester": {"value": "kim@example.com"}}
    )
    ticket_id = created.result["ticket_id"]
    write.apply(ws, "ticket.set_status", {"ticket_id": ticket_id, "status": "closed"}, actor=team.admin)
    before = _rows(ws)
    # refused after the outbox entry was written and inside the mutator (closed is final)
    [refused] = write.apply_many(ws, [("ticket.note", {"ticket_id": ticket_id, "body": "late"})], actor=team.agent)
    assert refused.error is not None and "closed" in refused.error.message
    [unknown] = write.apply_many(ws, [("ticket.tag", {"ticket_id": "nope", "tags": ["x"]})], actor=team.agent)
    assert unknown.error is not None
    assert _rows(ws) == before
    # and the next write goes through as usual, numbered after the last kept outbox entry
    again = write.apply(ws, "ticket.create", {"subject": "Next", "body": "Hi", "requester": {"value": "k@example.com"}})
    assert again.mutation_id == created.mutation_id + 2
