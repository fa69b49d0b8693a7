"""Every mutation's success and every rule's refusal, on a real workspace file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from supportdesk.domain import catalog, write
from supportdesk.domain.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    UnknownMutation,
    ValidationFailed,
)
from supportdesk.store import reads
from tests.conftest import Team


def new_ticket(team: Team, **extra: object) -> dict[str, object]:
    args: dict[str, object] = {
        "subject": "Refund for my last invoice",
        "body": "I was charged twice, please refund one of the charges.",
        "requester": {"value": "alice@example.com", "name": "Alice Adams"},
        "channel": "email",
        "group_id": team.tier1,
    }
    args.update(extra)
    return team.as_(team.agent, "ticket.create", args).result


def row(team: Team, sql: str, *params: object) -> sqlite3.Row:
    with team.workspace.reading() as connection:
        found = connection.execute(sql, params).fetchone()
    assert found is not None
    return found


def ticket(team: Team, ticket_id: object) -> sqlite3.Row:
    return row(team, "SELECT * FROM ticket WHERE id = ?", ticket_id)


def test_registry_has_every_mutation_the_design_names() -> None:
    expected = {
        "ticket.create",
        "ticket.reply",
        "ticket.note",
        "ticket.set_status",
        "ticket.set_priority",
        "ticket.set_type",
        "ticket.assign",
        "ticket.tag",
        "ticket.untag",
        "ticket.merge",
        "ticket.link_problem",
        "customer.update",
        "customer.add_identity",
        "customer.merge",
        "macro.apply",
        "macro.create",
        "macro.update",
        "macro.delete",
        "article.create",
        "article.update",
        "article.delete",
        "view.create",
        "view.update",
        "view.delete",
    }
    assert expected <= set(catalog.names())
    with pytest.raises(UnknownMutation):
        catalog.get("ticket.explode")


def test_create_numbers_the_ticket_and_writes_change_audit_and_outbox_together(team: Team) -> None:
    result = new_ticket(team, tags=["Billing", "refund"])
    created = ticket(team, result["ticket_id"])
    assert created["number"] == 1
    assert created["status"] == "new"
    assert created["subject"] == "Refund for my last invoice"
    customer = row(team, "SELECT name FROM customer WHERE id = ?", created["requester_id"])
    assert customer["name"] == "Alice Adams"
    identity = row(team, "SELECT kind, value FROM identity WHERE customer_id = ?", created["requester_id"])
    assert tuple(identity) == ("email", "alice@example.com")
    outbox = row(team, "SELECT name, args FROM outbox ORDER BY id DESC LIMIT 1")
    assert outbox["name"] == "ticket.create"
    assert json.loads(outbox["args"])["ticket_id"] == result["ticket_id"]
    audit = row(team, "SELECT count(*) AS n FROM audit_event WHERE entity_id = ?", result["ticket_id"])
    assert audit["n"] >= 2
    with team.workspace.reading() as connection:
        assert reads.tags_for(connection, [str(result["ticket_id"])])[str(result["ticket_id"])] == ["billing", "refund"]


def test_known_address_reuses_the_customer(team: Team) -> None:
    first = new_ticket(team)
    second = new_ticket(team, requester={"value": "ALICE@example.com "})
    assert first["requester_id"] == second["requester_id"]


def test_refused_mutation_leaves_no_trace(team: Team) -> None:
    before = row(team, "SELECT (SELECT count(*) FROM outbox) AS o, (SELECT count(*) FROM audit_event) AS a")
    with pytest.raises(ValidationFailed):
        new_ticket(team, body="   ")
    after = row(team, "SELECT (SELECT count(*) FROM outbox) AS o, (SELECT count(*) FROM audit_event) AS a")
    assert tuple(before) == tuple(after)


def test_reply_opens_records_first_response_and_submits_as(team: Team) -> None:
    created = new_ticket(team)
    team.as_(team.agent, "ticket.reply", {"ticket_id": created["ticket_id"], "body": "Refunded!"})
    after_reply = ticket(team, created["ticket_id"])
    assert after_reply["status"] == "open"
    assert after_reply["first_response_at"] is not None
    team.as_(team.agent, "ticket.reply", {"ticket_id": created["ticket_id"], "body": "Done.", "status": "solved"})
    solved = ticket(team, created["ticket_id"])
    assert solved["status"] == "solved"
    assert solved["solved_at"] is not None
    assert solved["assignee_id"] == team.agent.id  # solving assigns the solver
    assert solved["first_response_at"] == after_reply["first_response_at"]


def test_reply_to_a_closed_ticket_opens_a_linked_follow_up(team: Team) -> None:
    created = new_ticket(team)
    team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "closed"})
    result = team.as_(team.agent, "ticket.reply", {"ticket_id": created["ticket_id"], "body": "One more thing"}).result
    assert result["follow_up"] is True
    follow_up = ticket(team, result["ticket_id"])
    assert follow_up["follow_up_of_id"] == created["ticket_id"]
    assert follow_up["number"] == 2
    message = row(team, "SELECT ticket_id FROM message WHERE id = ?", result["message_id"])
    assert message["ticket_id"] == result["ticket_id"]


def test_closed_is_final(team: Team) -> None:
    created = new_ticket(team)
    team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "closed"})
    with pytest.raises(InvalidTransition, match="closed is final"):
        team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "open"})
    with pytest.raises(InvalidTransition):
        team.as_(team.agent, "ticket.note", {"ticket_id": created["ticket_id"], "body": "hello"})


def test_nothing_goes_back_to_new(team: Team) -> None:
    created = new_ticket(team)
    team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "open"})
    with pytest.raises(InvalidTransition, match="from open back to new"):
        team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "new"})


def test_customer_message_reopens_a_solved_ticket(team: Team) -> None:
    created = new_ticket(team)
    team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "solved"})
    team.as_(team.agent, "ticket.receive", {"ticket_id": created["ticket_id"], "body": "Still broken"})
    reopened = ticket(team, created["ticket_id"])
    assert reopened["status"] == "open"
    assert reopened["solved_at"] is None


def test_reply_drafted_before_a_newer_customer_message_is_refused(team: Team) -> None:
    created = new_ticket(team)
    seen = created["message_id"]
    team.as_(team.agent, "ticket.receive", {"ticket_id": created["ticket_id"], "body": "Actually, never mind"})
    with pytest.raises(Conflict, match="newer message"):
        team.as_(
            team.agent,
            "ticket.reply",
            {"ticket_id": created["ticket_id"], "body": "Refunded", "seen_message_id": seen},
        )


def test_light_agent_may_only_write_internal_notes(team: Team) -> None:
    created = new_ticket(team)
    note = team.as_(team.light, "ticket.note", {"ticket_id": created["ticket_id"], "body": "Looked at logs"}).result
    assert row(team, "SELECT public FROM message WHERE id = ?", note["message_id"])["public"] == 0
    for name, args in (
        ("ticket.reply", {"ticket_id": created["ticket_id"], "body": "hi"}),
        ("ticket.set_status", {"ticket_id": created["ticket_id"], "status": "solved"}),
        ("ticket.tag", {"ticket_id": created["ticket_id"], "tags": ["x"]}),
    ):
        with pytest.raises(PermissionDenied, match="light agent"):
            team.as_(team.light, name, args)


def test_agents_do_not_see_other_groups_tickets(team: Team) -> None:
    created = new_ticket(team, group_id=team.billing)
    with pytest.raises(NotFound):
        team.as_(team.agent, "ticket.note", {"ticket_id": created["ticket_id"], "body": "peek"})
    team.as_(team.other, "ticket.note", {"ticket_id": created["ticket_id"], "body": "mine"})


def test_enums_and_references_are_validated(team: Team) -> None:
    created = new_ticket(team)
    with pytest.raises(ValidationFailed, match="status"):
        team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "done"})
    with pytest.raises(ValidationFailed, match="priority"):
        team.as_(team.agent, "ticket.set_priority", {"ticket_id": created["ticket_id"], "priority": "meh"})
    with pytest.raises(NotFound, match="no group"):
        team.as_(team.agent, "ticket.assign", {"ticket_id": created["ticket_id"], "group_id": "nope"})
    with pytest.raises(NotFound, match="no ticket"):
        team.as_(team.agent, "ticket.note", {"ticket_id": "0190-missing", "body": "x"})
    with pytest.raises(ValidationFailed, match=r"number is not an argument of ticket\.note"):
        team.as_(team.agent, "ticket.note", {"ticket_id": created["ticket_id"], "body": "x", "number": 7})


def test_priority_type_and_subject(team: Team) -> None:
    created = new_ticket(team)
    tid = created["ticket_id"]
    team.as_(team.agent, "ticket.set_priority", {"ticket_id": tid, "priority": "urgent"})
    team.as_(team.agent, "ticket.set_type", {"ticket_id": tid, "type": "incident"})
    team.as_(team.agent, "ticket.set_subject", {"ticket_id": tid, "subject": "Double charge\non card"})
    changed = ticket(team, tid)
    assert (changed["priority"], changed["priority_rank"], changed["type"]) == ("urgent", 4, "incident")
    assert changed["subject"] == "Double charge on card"


def test_changed_meanwhile_is_reported_but_last_writer_wins(team: Team) -> None:
    created = new_ticket(team)
    tid = created["ticket_id"]
    team.as_(team.admin, "ticket.set_priority", {"ticket_id": tid, "priority": "high"})
    outcome = team.as_(team.agent, "ticket.set_priority", {"ticket_id": tid, "priority": "low", "seen": "normal"})
    assert ticket(team, tid)["priority"] == "low"
    assert outcome.warnings and "changed meanwhile by Ada Admin" in outcome.warnings[0]


def test_assign_checks_group_membership_and_claim_is_compare_and_set(team: Team) -> None:
    created = new_ticket(team)
    tid = created["ticket_id"]
    with pytest.raises(ValidationFailed, match="not in group"):
        team.as_(team.agent, "ticket.assign", {"ticket_id": tid, "assignee_id": team.other.id})
    claim = {"ticket_id": tid, "assignee_id": team.agent.id, "expect_assignee": True, "expected_assignee_id": None}
    team.as_(team.agent, "ticket.assign", claim)
    assigned = ticket(team, tid)
    assert assigned["assignee_id"] == team.agent.id
    assert assigned["status"] == "open"
    with pytest.raises(Conflict, match="taken meanwhile by Sam Agent"):
        team.as_(team.admin, "ticket.assign", {**claim, "assignee_id": team.admin.id})
    moved = team.as_(team.admin, "ticket.assign", {"ticket_id": tid, "group_id": team.billing}).result
    after_move = ticket(team, tid)
    assert after_move["group_id"] == team.billing
    assert after_move["assignee_id"] is None  # Sam is not in Billing
    assert "assignee_id" in moved["changed"]


def test_tags_are_added_and_removed_one_by_one(team: Team) -> None:
    created = new_ticket(team, tags=["refund"])
    tid = str(created["ticket_id"])
    added = team.as_(team.agent, "ticket.tag", {"ticket_id": tid, "tags": ["Refund", "VIP customer"]}).result
    assert added["added"] == ["vip_customer"]
    team.as_(team.agent, "ticket.untag", {"ticket_id": tid, "tags": ["refund"]})
    with team.workspace.reading() as connection:
        assert reads.tags_for(connection, [tid])[tid] == ["vip_customer"]
    with pytest.raises(ValidationFailed, match="not a tag"):
        team.as_(team.agent, "ticket.tag", {"ticket_id": tid, "tags": ["no;way"]})


def test_merge_moves_messages_and_closes_the_source(team: Team) -> None:
    target = new_ticket(team)
    source = new_ticket(team, subject="Same problem again", body="Hello again")
    team.as_(team.agent, "ticket.merge", {"source_id": source["ticket_id"], "target_id": target["ticket_id"]})
    merged = ticket(team, source["ticket_id"])
    assert merged["status"] == "closed"
    assert merged["merged_into_id"] == target["ticket_id"]
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, str(target["ticket_id"]))
    assert detail is not None
    bodies = [m.body for m in detail.messages]
    assert "Hello again" in bodies
    assert any("was merged into this ticket" in b for b in bodies)
    with pytest.raises(InvalidTransition):
        team.as_(team.agent, "ticket.merge", {"source_id": source["ticket_id"], "target_id": target["ticket_id"]})
    with pytest.raises(ValidationFailed):
        team.as_(team.agent, "ticket.merge", {"source_id": target["ticket_id"], "target_id": target["ticket_id"]})


def test_link_problem(team: Team) -> None:
    problem = new_ticket(team, type="problem", subject="Outage")
    incident = new_ticket(team)
    team.as_(
        team.agent, "ticket.link_problem", {"ticket_id": incident["ticket_id"], "problem_id": problem["ticket_id"]}
    )
    linked = ticket(team, incident["ticket_id"])
    assert (linked["problem_id"], linked["type"]) == (problem["ticket_id"], "incident")
    with pytest.raises(ValidationFailed, match="not a problem"):
        team.as_(
            team.agent, "ticket.link_problem", {"ticket_id": problem["ticket_id"], "problem_id": incident["ticket_id"]}
        )
    with pytest.raises(ValidationFailed, match="unlink them first"):
        team.as_(team.agent, "ticket.set_type", {"ticket_id": problem["ticket_id"], "type": "question"})


def test_customer_update_identity_and_merge(team: Team) -> None:
    email_ticket = new_ticket(team)
    phone_ticket = new_ticket(
        team, channel="phone", requester={"kind": "phone", "value": "+44 20 7946 0018", "name": "A. Adams"}
    )
    alice, caller = email_ticket["requester_id"], phone_ticket["requester_id"]
    assert alice != caller
    team.as_(team.agent, "customer.update", {"customer_id": alice, "name": "Alice B. Adams"})
    team.as_(team.agent, "customer.add_identity", {"customer_id": alice, "kind": "chat", "value": "alice_a"})
    with pytest.raises(Conflict, match="merge the two customers"):
        team.as_(team.agent, "customer.add_identity", {"customer_id": alice, "kind": "phone", "value": "+442079460018"})
    team.as_(team.agent, "customer.merge", {"source_id": caller, "target_id": alice})
    assert ticket(team, phone_ticket["ticket_id"])["requester_id"] == alice
    assert row(team, "SELECT merged_into_id FROM customer WHERE id = ?", caller)["merged_into_id"] == alice
    with team.workspace.reading() as connection:
        detail = reads.customer_detail(connection, str(alice))
        timeline = reads.customer_timeline(connection, str(alice))
    assert detail is not None
    assert {i["kind"] for i in detail.identities} == {"email", "phone", "chat"}
    assert {entry.channel for entry in timeline} == {"email", "phone"}
    # a ticket for the old address now lands on the merged customer
    again = new_ticket(team, requester={"kind": "phone", "value": "+442079460018"})
    assert again["requester_id"] == alice


def test_team_mutations_are_for_admins(team: Team) -> None:
    with pytest.raises(PermissionDenied):
        team.as_(team.agent, "group.create", {"name": "Sneaky"})
    team.as_(team.admin, "group.create", {"name": "VIP", "email": "vip@acme.test"})
    with pytest.raises(Conflict):
        team.as_(team.admin, "group.create", {"name": "Other", "email": "VIP@acme.test"})


def test_articles_and_views(team: Team) -> None:
    article = team.as_(team.agent, "article.create", {"title": "How refunds work", "body": "Five to ten days."}).result
    assert article["slug"] == "how-refunds-work"
    with pytest.raises(Conflict):
        team.as_(team.agent, "article.create", {"title": "How refunds work!", "body": "dup"})
    team.as_(team.agent, "article.update", {"article_id": article["article_id"], "body": "Usually a week."})
    with team.workspace.reading() as connection:
        assert [hit.title for hit in reads.search_articles(connection, "week")] == ["How refunds work"]
    team.as_(team.agent, "article.delete", {"id": article["article_id"]})
    with team.workspace.reading() as connection:
        assert reads.search_articles(connection, "week") == []

    view = team.as_(team.agent, "view.create", {"name": "Mine", "query": "assignee:me status<solved"}).result
    with pytest.raises(ValidationFailed, match="does not parse"):
        team.as_(team.agent, "view.create", {"name": "Broken", "query": "status:nope"})
    with pytest.raises(PermissionDenied):
        team.as_(team.agent, "view.create", {"name": "Team", "query": "", "shared": True})
    team.as_(team.agent, "view.update", {"view_id": view["view_id"], "name": "My queue"})
    with pytest.raises(NotFound):
        team.as_(team.other, "view.delete", {"id": view["view_id"]})
    team.as_(team.agent, "view.delete", {"id": view["view_id"]})


def test_dry_run_reports_changes_and_writes_nothing(team: Team) -> None:
    created = new_ticket(team)
    before = row(team, "SELECT (SELECT count(*) FROM outbox) AS o, (SELECT count(*) FROM audit_event) AS a")
    outcomes = write.apply_many(
        team.workspace,
        [("ticket.set_status", {"ticket_id": created["ticket_id"], "status": "solved"})],
        actor=team.agent,
        dry_run=True,
    )
    assert outcomes[0].ok
    fields = {change["field"]: change["after"] for change in outcomes[0].changes}
    assert fields["status"] == "solved"
    assert ticket(team, created["ticket_id"])["status"] == "new"
    after = row(team, "SELECT (SELECT count(*) FROM outbox) AS o, (SELECT count(*) FROM audit_event) AS a")
    assert tuple(before) == tuple(after)


def test_a_batch_applies_what_it_can_and_reports_the_rest(team: Team) -> None:
    first, second = new_ticket(team), new_ticket(team)
    outcomes = write.apply_many(
        team.workspace,
        [
            ("ticket.set_status", {"ticket_id": first["ticket_id"], "status": "solved"}),
            ("ticket.set_status", {"ticket_id": "missing", "status": "solved"}),
            ("ticket.set_status", {"ticket_id": second["ticket_id"], "status": "pending"}),
        ],
        actor=team.agent,
    )
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, NotFound)
    assert ticket(team, second["ticket_id"])["status"] == "pending"
    ids = [o.mutation_id for o in outcomes if o.ok]
    assert ids[1] == ids[0] + 1  # the refused one consumed no local mutation id


def test_log_call_opens_a_ticket_for_an_unknown_caller_then_logs_on_it(team: Team) -> None:
    opened = team.as_(
        team.agent,
        "ticket.log_call",
        {"direction": "inbound", "number": "+1 (555) 010-2030", "duration_seconds": 240, "notes": "Cannot log in"},
    ).result
    assert opened["created"] is True
    created = ticket(team, opened["ticket_id"])
    assert (created["channel"], created["status"], created["assignee_id"]) == ("phone", "open", team.agent.id)
    caller = row(team, "SELECT value FROM identity WHERE customer_id = ?", created["requester_id"])
    assert caller["value"] == "+15550102030"
    again = team.as_(
        team.agent,
        "ticket.log_call",
        {
            "ticket_id": opened["ticket_id"],
            "direction": "outbound",
            "number": "+15550102030",
            "duration_seconds": 60,
            "notes": "Called back, fixed",
            "status": "solved",
        },
    ).result
    message = row(team, "SELECT channel, meta FROM message WHERE id = ?", again["message_id"])
    assert message["channel"] == "phone"
    assert json.loads(message["meta"])["call"] == {
        "direction": "outbound",
        "number": "+15550102030",
        "duration_seconds": 60,
    }
    assert ticket(team, opened["ticket_id"])["status"] == "solved"
    with pytest.raises(ValidationFailed, match="not a phone number"):
        team.as_(
            team.agent,
            "ticket.log_call",
            {"direction": "inbound", "number": "abc", "duration_seconds": 1, "notes": "x"},
        )
