"""Logged time travels like any change: pushed, pulled by agents who see the ticket and by nobody
else; an automation run sent from an admin's replica runs on the server, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import PermissionDenied
from supportdesk.server.apply import apply_as
from tests.conftest import TestClock
from tests.live import Deployment
from tests.sync.compare import server_count


def test_logged_time_syncs_to_who_may_see_the_ticket(deployment: Deployment) -> None:
    team = deployment.team
    sam, tom, bea = deployment.replica("sam"), deployment.replica("tom"), deployment.replica("bea")
    try:
        ticket_id = sam.apply(
            "ticket.create",
            {
                "subject": "Printer on fire",
                "body": "It smokes",
                "requester": {"value": "alice@example.com", "name": "Alice Jones"},
                "group_id": team.tier1,
            },
        ).result["ticket_id"]
        entry = sam.apply("ticket.log_time", {"ticket_id": ticket_id, "seconds": 900, "note": "call"}).result
        assert not sam.sync().refused
        assert server_count(team.db, "SELECT count(*) FROM time_entry WHERE id = :e", e=entry["entry_id"]) == 1
        tom.sync()
        bea.sync()
        assert tom.rows("SELECT seconds, note, agent_id FROM time_entry") == [(900, "call", sam.agent_id)]
        assert bea.rows("SELECT count(*) FROM time_entry") == [(0,)]  # Billing does not see Tier 1's ticket
        sam.apply("time.correct", {"entry_id": entry["entry_id"], "seconds": 1200})
        sam.sync()
        tom.sync()
        assert tom.rows("SELECT seconds FROM time_entry") == [(1200,)]
        with pytest.raises(PermissionDenied):  # Tom may not change Sam's entry
            tom.apply("time.delete", {"entry_id": entry["entry_id"]})
        sam.apply("time.delete", {"entry_id": entry["entry_id"]})
        sam.sync()
        tom.sync()
        assert tom.rows("SELECT count(*) FROM time_entry") == [(0,)]
        assert server_count(team.db, "SELECT count(*) FROM time_entry") == 0
    finally:
        for replica in (sam, tom, bea):
            replica.close()


def test_an_automation_run_from_an_admins_replica_runs_on_the_server_once(
    deployment: Deployment, clock: TestClock
) -> None:
    team = deployment.team
    clock.freeze(clock() - timedelta(days=3))  # the ticket was made three days ago
    args = {"subject": "Waiting", "body": "hm", "requester": {"value": "kim@example.com", "name": "Kim Park"}}
    ticket_id = str(apply_as(team.db, SYSTEM, "ticket.create", args)[0]["ticket_id"])
    apply_as(team.db, SYSTEM, "ticket.set_status", {"ticket_id": ticket_id, "status": "pending"})
    clock.freeze(clock() + timedelta(days=3))
    apply_as(
        team.db,
        SYSTEM,
        "rule.create",
        {
            "definition": {
                "name": "Tag old pending tickets",
                "when": ["scheduled"],
                "conditions": {"query": "status:pending created>2d"},
                "actions": [{"add_tags": ["old"]}],
            }
        },
    )
    ada = deployment.replica("ada")
    try:
        rule_id = ada.rows("SELECT id FROM trigger_rule")[0][0]
        for _ in range(2):
            outcome = ada.apply("automation.run", {"rule_id": rule_id})
            assert outcome.result["deferred"] is True  # a synced workspace runs nothing itself
        assert ada.rows("SELECT count(*) FROM automation_firing") == [(0,)]
        assert not ada.sync().refused
        fired = "SELECT count(*) FROM audit_event WHERE entity_id = :t AND field = 'automation.fired'"
        assert server_count(team.db, fired, t=ticket_id) == 1  # two runs (and maybe the scheduler's): once
        ada.sync()
        assert ada.rows("SELECT tag FROM ticket_tag WHERE ticket_id = ?", ticket_id) == [("old",)]
    finally:
        ada.close()
