"""What a reply is written after: the anchor a newer customer message on the server refuses."""

from __future__ import annotations

from supportdesk.store import reads
from tests.conftest import Team


def _anchor(team: Team, ticket_id: str) -> str | None:
    with team.workspace.reading() as connection:
        return reads.reply_anchor(connection, ticket_id, team.agent.id)


def _create(team: Team, author: str) -> dict[str, object]:
    return team.as_(
        team.agent,
        "ticket.create",
        {
            "subject": "Refund",
            "body": "Where is my refund?",
            "requester": {"value": "ana@example.com"},
            "group_id": team.tier1,
            "author": author,
        },
    ).result


def test_the_agents_own_later_note_never_hides_the_customers_message(team: Team) -> None:
    created = _create(team, "customer")
    team.as_(team.agent, "ticket.note", {"ticket_id": created["ticket_id"], "body": "Checking with finance."})
    assert _anchor(team, str(created["ticket_id"])) == created["message_id"]


def test_another_agents_note_is_an_anchor(team: Team) -> None:
    created = _create(team, "customer")
    note = team.as_(team.admin, "ticket.note", {"ticket_id": created["ticket_id"], "body": "Approved."}).result
    assert _anchor(team, str(created["ticket_id"])) == note["message_id"]


def test_a_ticket_of_the_agents_own_messages_is_anchored_on_its_first(team: Team) -> None:
    created = _create(team, "agent")
    team.as_(team.agent, "ticket.note", {"ticket_id": created["ticket_id"], "body": "Called her back."})
    assert _anchor(team, str(created["ticket_id"])) == created["message_id"]


def test_an_unknown_ticket_has_no_anchor(team: Team) -> None:
    assert _anchor(team, "no-such-ticket") is None
