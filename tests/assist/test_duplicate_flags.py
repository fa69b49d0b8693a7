"""Duplicate detection on arrival in a workspace: ``ticket.flag_duplicate`` and the offline
``--triage`` path (issue 15). The mutation checks every pair it is given, whoever sends it, so
the hostile cases here are what a forged push meets on the server as well."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

import pytest

from supportdesk.assist import arrival, duplicates
from supportdesk.assist.merge_hints import merge_suggestion
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.domain.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from supportdesk.domain.mutations.triage import duplicate_note_id
from supportdesk.store.reads import ticket_detail
from tests.cli.helpers import supportdesk
from tests.conftest import Team

FIRST = ("Charged twice", "My card was charged twice for the March invoice, please refund one of them.")
REPEAT = ("Still charged twice", "I still see two payments for the March invoice on my card statement.")


def _create(team: Team, subject: str, body: str, email: str = "ana@example.com", **extra: Any) -> str:
    args = {"subject": subject, "body": body, "requester": {"value": email}, **extra}
    return str(team.as_(team.admin, "ticket.create", args).result["ticket_id"])


def _apply(team: Team, actor: Actor, name: str, args: dict[str, Any]) -> write.Outcome:
    """The outcome, with a refusal in ``error`` (``write.apply`` raises it)."""
    try:
        return team.as_(actor, name, args)
    except DomainError as error:
        return write.Outcome(name, args, error=error)


def _flag(team: Team, actor: Actor, ticket_id: str, duplicate_of: str, score: float = 0.9) -> write.Outcome:
    return _apply(
        team, actor, "ticket.flag_duplicate", {"ticket_id": ticket_id, "duplicate_of": duplicate_of, "score": score}
    )


def _notes(team: Team, ticket_id: str) -> list[dict[str, Any]]:
    with closing(team.workspace.connect()) as connection:
        detail = ticket_detail(connection, ticket_id)
    assert detail is not None
    return [m.as_dict() for m in detail.messages if m.author_kind == "system"]


def test_the_offline_triage_path_notes_a_repeat_once_with_a_merge_suggestion(team: Team) -> None:
    first = _create(team, *FIRST, group_id=team.tier1)
    other = _create(team, "Slack", "Slack notifications are posted twice in our channel.", group_id=team.tier1)
    repeat = _create(team, *REPEAT, group_id=team.tier1)
    written = arrival.triage_new(team.workspace, [first, other, repeat], actor=team.agent)
    assert {w["ticket_id"] for w in written} == {first, other, repeat}
    (note,) = _notes(team, repeat)
    assert note["visibility"] == "internal" and note["body"].startswith("Possible duplicate of ")
    assert note["meta"]["duplicate_of"]["ticket_id"] == first
    assert _notes(team, first) == [] and _notes(team, other) == []
    with closing(team.workspace.connect()) as connection:
        detail = ticket_detail(connection, repeat)
        assert detail is not None
        document = detail.as_dict()
    hint = merge_suggestion(document, document["messages"])
    assert hint is not None and hint["ticket_id"] == first and hint["command"].startswith("supportdesk tickets merge ")
    # triage again (a second --triage, a replay): still one note
    arrival.triage_new(team.workspace, [repeat], actor=team.agent)
    assert len(_notes(team, repeat)) == 1
    # once merged, there is nothing left to suggest
    team.as_(team.agent, "ticket.merge", {"source_id": repeat, "target_id": first})
    with closing(team.workspace.connect()) as connection:
        detail = ticket_detail(connection, repeat)
        assert detail is not None
        document = detail.as_dict()
    assert merge_suggestion(document, document["messages"]) is None


def test_a_flag_is_once_per_ticket_and_a_replay_changes_nothing(team: Team) -> None:
    first = _create(team, *FIRST)
    second = _create(team, "Charged twice again", "Two charges for March on my card.")
    repeat = _create(team, *REPEAT)
    done = _flag(team, SYSTEM, repeat, first)
    assert done.error is None and done.result["flagged"] is True
    assert done.result["note_id"] == duplicate_note_id(repeat)
    for target in (first, second):  # the same again, or another ticket: the first flag stays
        again = _flag(team, team.agent, repeat, target)
        assert again.error is None and again.result["flagged"] is False
    (note,) = _notes(team, repeat)
    assert note["meta"]["duplicate_of"]["ticket_id"] == first
    with team.workspace.reading() as connection:
        audits = connection.execute(
            "SELECT mutation, field FROM audit_event WHERE entity_id = ? AND entity = 'ticket' "
            "AND mutation = 'ticket.flag_duplicate'",
            (repeat,),
        ).fetchall()
    assert [tuple(a) for a in audits] == [("ticket.flag_duplicate", "message.note")]


def test_forged_flags_are_refused(team: Team) -> None:
    first = _create(team, *FIRST, group_id=team.tier1)
    repeat = _create(team, *REPEAT, group_id=team.tier1)
    stranger = _create(team, *REPEAT, email="bo@example.com", group_id=team.tier1)
    billing = _create(team, *FIRST, group_id=team.billing)
    billing_repeat = _create(team, *REPEAT, group_id=team.billing)
    ungrouped_repeat = _create(team, *REPEAT)
    later = _create(team, *FIRST, group_id=team.tier1)
    cases: list[tuple[Actor, str, str, type[Exception]]] = [
        (team.agent, stranger, first, ValidationFailed),  # another requester's ticket
        (team.agent, repeat, repeat, ValidationFailed),  # itself
        (team.agent, repeat, later, ValidationFailed),  # a newer ticket
        (SYSTEM, repeat, billing, NotFound),  # a group whoever reads the new ticket may not see
        (SYSTEM, ungrouped_repeat, first, NotFound),  # an ungrouped ticket is everybody's: not into a group
        (team.agent, repeat, billing, NotFound),  # Sam is not in Billing
        (team.agent, billing_repeat, billing, NotFound),  # nor may Sam flag Billing's tickets
        (team.agent, repeat, "0190c0de-0000-7000-8000-000000000000", NotFound),
    ]
    for actor, ticket_id, target, error in cases:
        outcome = _flag(team, actor, ticket_id, target)
        assert isinstance(outcome.error, error), (ticket_id, target, outcome.error)
    assert _flag(team, SYSTEM, billing_repeat, billing).error is None  # the same group is fine
    for bad in ({"score": 7}, {"score": -1}, {"note": "x"}, {"duplicate_of": "x" * 500}):
        args = {"ticket_id": repeat, "duplicate_of": first, "score": 0.9, **bad}
        assert isinstance(_apply(team, team.agent, "ticket.flag_duplicate", args).error, ValidationFailed)
    team.as_(team.agent, "ticket.set_status", {"ticket_id": first, "status": "solved"})
    assert isinstance(_flag(team, team.agent, repeat, first).error, InvalidTransition)  # only open ones
    assert _notes(team, repeat) == [] and _notes(team, stranger) == []


def test_find_never_crosses_groups_and_skips_erased_customers(team: Team) -> None:
    billing = _create(team, *FIRST, group_id=team.billing)
    repeat = _create(team, *REPEAT, group_id=team.tier1)
    with closing(team.workspace.connect()) as connection:
        assert duplicates.find(connection, repeat) == []
    first = _create(team, *FIRST, email="zoe@example.com", group_id=team.tier1)
    again = _create(team, *REPEAT, email="zoe@example.com", group_id=team.tier1)
    with closing(team.workspace.connect()) as connection:
        assert [c.ticket_id for c in duplicates.find(connection, again)] == [first]
        customer = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (again,)).fetchone()[0]
    assert team.as_(team.admin, "customer.erase", {"customer_id": customer}).error is None
    with closing(team.workspace.connect()) as connection:
        assert duplicates.find(connection, again) == []
    assert arrival.flag_duplicates(team.workspace, [again, repeat], actor=team.admin) == []
    assert isinstance(_flag(team, SYSTEM, again, first).error, ValidationFailed)
    assert _notes(team, again) == [] and billing


@pytest.mark.parametrize("meta", [None, {}, {"duplicate_of": "x"}, {"duplicate_of": {"ticket_id": 5}}])
def test_merge_suggestion_ignores_notes_that_are_not_flags(meta: Any) -> None:
    ticket = {"id": "t", "number": 2, "status": "open"}
    messages = [{"author_kind": "system", "meta": meta}, {"author_kind": "agent", "meta": {"duplicate_of": {}}}]
    assert merge_suggestion(ticket, messages) is None


def test_tickets_show_carries_the_merge_suggestion(team: Team) -> None:
    first = _create(team, *FIRST)
    repeat = _create(team, *REPEAT)
    assert _flag(team, SYSTEM, repeat, first).error is None
    with team.workspace.reading() as connection:
        numbers = dict(connection.execute("SELECT id, number FROM ticket WHERE id IN (?, ?)", (first, repeat)))
    shown = supportdesk("tickets", "show", str(numbers[repeat]), "--json", workspace=team.workspace.root)
    assert shown.returncode == 0, shown.stderr
    hint = json.loads(shown.stdout)["merge_suggestion"]
    assert hint == {
        "ticket_id": first,
        "number": numbers[first],
        "score": 0.9,
        "command": f"supportdesk tickets merge {numbers[repeat]} {numbers[first]}",
    }
    plain = supportdesk("tickets", "show", str(numbers[repeat]), workspace=team.workspace.root)
    assert f"possible duplicate of #{numbers[first]} (merge: supportdesk tickets merge" in plain.stdout
    other = supportdesk("tickets", "show", str(numbers[first]), "--json", workspace=team.workspace.root)
    assert json.loads(other.stdout)["merge_suggestion"] is None
