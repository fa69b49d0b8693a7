"""Issue 12's domain harms: customer takeover by merge, merges across requesters, log_call into
another group's ticket. Each test fails on the code before the fix; hostile variants included."""

from __future__ import annotations

import json

import pytest

from supportdesk.domain.errors import NeedsConfirmation, NotFound, PermissionDenied
from tests.conftest import Team
from tests.domain.test_mutations import new_ticket, row, ticket


def _customer_of(team: Team, created: dict[str, object]) -> str:
    return str(ticket(team, created["ticket_id"])["requester_id"])


# --- customer.merge ------------------------------------------------------------------------------


def test_an_agent_cannot_merge_another_groups_customer_into_their_own(team: Team) -> None:
    """The takeover: Sam (Tier 1) makes a customer, then merges Billing's customer into it."""
    victim = new_ticket(team, requester={"value": "bob@example.com", "name": "Bob"}, group_id=team.billing)
    attacker = new_ticket(team, requester={"value": "mallory@evil.test", "name": "Bob"}, group_id=team.tier1)
    source, target = _customer_of(team, victim), _customer_of(team, attacker)
    with pytest.raises(PermissionDenied, match="ask an admin"):
        team.as_(team.agent, "customer.merge", {"source_id": source, "target_id": target})
    # nor the other way round: Billing's customer as the target
    with pytest.raises(PermissionDenied, match="ask an admin"):
        team.as_(team.agent, "customer.merge", {"source_id": target, "target_id": source})
    still = row(team, "SELECT merged_into_id FROM customer WHERE id = ?", source)
    assert still["merged_into_id"] is None
    assert ticket(team, victim["ticket_id"])["requester_id"] == source


def test_a_customer_who_only_wrote_in_another_groups_ticket_counts(team: Team) -> None:
    """A customer CC'd on Billing's ticket (a message of theirs there) is Billing's too."""
    billing = new_ticket(team, requester={"value": "carol@example.com"}, group_id=team.billing)
    mine = new_ticket(team, requester={"value": "dave@example.com"}, group_id=team.tier1)
    dave = _customer_of(team, mine)
    team.as_(team.admin, "ticket.receive", {"ticket_id": billing["ticket_id"], "body": "me too", "customer_id": dave})
    other = new_ticket(team, requester={"value": "erin@example.com"}, group_id=team.tier1)
    with pytest.raises(PermissionDenied):
        team.as_(team.agent, "customer.merge", {"source_id": dave, "target_id": _customer_of(team, other)})


def test_an_agent_merges_customers_whose_tickets_they_all_see(team: Team) -> None:
    first = new_ticket(team, requester={"value": "f1@example.com"}, group_id=team.tier1)
    second = new_ticket(team, requester={"value": "f2@example.com"}, group_id=None)
    source, target = _customer_of(team, first), _customer_of(team, second)
    team.as_(team.agent, "customer.merge", {"source_id": source, "target_id": target})
    assert ticket(team, first["ticket_id"])["requester_id"] == target


def test_an_admin_merges_anyone(team: Team) -> None:
    billing = new_ticket(team, requester={"value": "g1@example.com"}, group_id=team.billing)
    tier1 = new_ticket(team, requester={"value": "g2@example.com"}, group_id=team.tier1)
    source, target = _customer_of(team, billing), _customer_of(team, tier1)
    team.as_(team.admin, "customer.merge", {"source_id": source, "target_id": target})
    assert ticket(team, billing["ticket_id"])["requester_id"] == target


def test_a_light_agent_cannot_merge_customers(team: Team) -> None:
    first = new_ticket(team, requester={"value": "h1@example.com"}, group_id=team.tier1)
    second = new_ticket(team, requester={"value": "h2@example.com"}, group_id=team.tier1)
    with pytest.raises(PermissionDenied, match="light agent"):
        team.as_(
            team.light,
            "customer.merge",
            {"source_id": _customer_of(team, first), "target_id": _customer_of(team, second)},
        )


# --- ticket.merge across requesters -------------------------------------------------------------


def test_merging_tickets_of_different_requesters_needs_confirmation_and_is_audited(team: Team) -> None:
    source = new_ticket(team, requester={"value": "ivy@example.com", "name": "Ivy"})
    target = new_ticket(team, requester={"value": "jim@example.com", "name": "Jim"})
    args = {"source_id": source["ticket_id"], "target_id": target["ticket_id"]}
    with pytest.raises(NeedsConfirmation, match=r"from Ivy .* from Jim") as refused:
        team.as_(team.agent, "ticket.merge", args)
    assert refused.value.field == "different_requesters"
    assert ticket(team, source["ticket_id"])["merged_into_id"] is None
    team.as_(team.agent, "ticket.merge", {**args, "different_requesters": True})
    assert ticket(team, source["ticket_id"])["merged_into_id"] == target["ticket_id"]
    audit = row(
        team,
        "SELECT actor_id, after FROM audit_event WHERE entity_id = ? AND field = 'merged_requester'",
        target["ticket_id"],
    )
    assert audit["actor_id"] == team.agent.id
    assert json.loads(audit["after"]) == {
        "source_id": source["ticket_id"],
        "requester_id": _customer_of(team, source),
    }


def test_merging_tickets_of_one_requester_needs_no_confirmation(team: Team) -> None:
    source, target = new_ticket(team), new_ticket(team)
    team.as_(team.agent, "ticket.merge", {"source_id": source["ticket_id"], "target_id": target["ticket_id"]})
    with team.workspace.reading() as connection:
        audited = connection.execute("SELECT count(*) FROM audit_event WHERE field = 'merged_requester'").fetchone()
    assert audited[0] == 0


def test_a_ticket_of_another_group_cannot_be_merged_into_even_when_confirmed(team: Team) -> None:
    mine = new_ticket(team, group_id=team.tier1)
    theirs = new_ticket(team, requester={"value": "kim@example.com"}, group_id=team.billing)
    with pytest.raises(NotFound):
        team.as_(
            team.agent,
            "ticket.merge",
            {"source_id": theirs["ticket_id"], "target_id": mine["ticket_id"], "different_requesters": True},
        )


# --- ticket.log_call ----------------------------------------------------------------------------


CALL = {"direction": "inbound", "number": "+1 555 010 9999", "duration_seconds": 30, "notes": "Called about an order"}


def test_log_call_cannot_put_the_caller_on_another_groups_ticket(team: Team) -> None:
    with pytest.raises(PermissionDenied, match="not in group Billing") as refused:
        team.as_(team.agent, "ticket.log_call", {**CALL, "group_id": team.billing})
    assert refused.value.field == "group_id"
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket WHERE channel = 'phone'").fetchone()[0] == 0


def test_log_call_in_ones_own_group_or_none_assigns_the_caller(team: Team) -> None:
    own = team.as_(team.agent, "ticket.log_call", {**CALL, "group_id": team.tier1}).result
    assert (ticket(team, own["ticket_id"])["group_id"], ticket(team, own["ticket_id"])["assignee_id"]) == (
        team.tier1,
        team.agent.id,
    )
    ungrouped = team.as_(team.agent, "ticket.log_call", {**CALL, "number": "+1 555 010 8888"}).result
    assert ticket(team, ungrouped["ticket_id"])["group_id"] is None


def test_an_admin_logs_a_call_into_any_group(team: Team) -> None:
    opened = team.as_(team.admin, "ticket.log_call", {**CALL, "group_id": team.billing}).result
    assert ticket(team, opened["ticket_id"])["assignee_id"] == team.admin.id


def test_log_call_on_another_groups_existing_ticket_is_not_found(team: Team) -> None:
    theirs = new_ticket(team, group_id=team.billing)
    with pytest.raises(NotFound):
        team.as_(team.agent, "ticket.log_call", {**CALL, "ticket_id": theirs["ticket_id"]})


def test_log_call_with_a_forged_group_id_is_not_found(team: Team) -> None:
    with pytest.raises(NotFound, match="no group"):
        team.as_(team.agent, "ticket.log_call", {**CALL, "group_id": "0190c0de-0000-7000-8000-000000000000"})
