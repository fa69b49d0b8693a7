"""Time-based automations: conditions on elapsed time, fire once per ticket per condition, by the clock."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import PermissionDenied, ValidationFailed
from supportdesk.store.workspace import Workspace
from tests.conftest import Team, TestClock
from tests.domain.test_rules import new_ticket, ticket

REMIND = {
    "name": "Remind pending customers",
    "when": ["scheduled"],
    "conditions": {"query": "status:pending updated>3d -tag:reminded"},
    "actions": [
        {"auto_reply": "Hi {{ ticket.requester.first_name }}, is there anything else we can do?"},
        {"add_tags": ["reminded"]},
    ],
}
SOLVE = {
    "name": "Solve after a week",
    "when": ["scheduled"],
    "conditions": {"query": "status:pending tag:reminded updated>4d"},
    "actions": [{"set_status": "solved"}],
}


def automation(team: Team, definition: dict[str, Any]) -> str:
    return str(
        write.apply(team.workspace, "rule.create", {"definition": definition}, actor=team.admin).result["rule_id"]
    )


def run(team: Team, rule_id: str, **extra: Any) -> dict[str, Any]:
    outcome = write.apply(team.workspace, "automation.run", {"rule_id": rule_id, **extra}, actor=SYSTEM)
    assert outcome.error is None, outcome.error
    return dict(outcome.result)


def pending_ticket(team: Team, subject: str = "Printer on fire") -> str:
    ticket_id = new_ticket(team, subject, "It smokes", channel="email")
    write.apply(team.workspace, "ticket.set_status", {"ticket_id": ticket_id, "status": "pending"}, actor=team.admin)
    return ticket_id


def public_replies(ws: Workspace, ticket_id: str) -> list[str]:
    with ws.reading() as connection:
        return [
            r[0]
            for r in connection.execute(
                "SELECT body FROM message WHERE ticket_id = ? AND author_kind <> 'customer' AND public = 1 ORDER BY id",
                (ticket_id,),
            )
        ]


def firings(ws: Workspace, ticket_id: str) -> list[tuple[str, Any, str | None]]:
    with ws.reading() as connection:
        return [
            (r[0], json.loads(r[1]), r[2])
            for r in connection.execute(
                "SELECT field, after, source FROM audit_event WHERE entity_id = ? "
                "AND field IN ('automation.fired', 'rule.failed', 'rule.fired') ORDER BY id",
                (ticket_id,),
            )
        ]


def test_remind_then_solve_as_days_pass_each_firing_once(team: Team, clock: TestClock) -> None:
    clock.freeze()
    remind, solve = automation(team, REMIND), automation(team, SOLVE)
    waiting = pending_ticket(team)
    assert run(team, remind)["fired"] == []
    clock.advance(timedelta(days=3, minutes=1))
    fresh = pending_ticket(team, "Only just pending")
    first = run(team, remind)
    assert [f["ticket_id"] for f in first["fired"]] == [waiting]
    assert public_replies(team.workspace, waiting) == ["Hi Kim, is there anything else we can do?"]
    assert "reminded" in ticket(team.workspace, waiting)["tags"]
    # a replay, and the next runs, fire nothing again
    assert run(team, remind)["fired"] == [] and run(team, remind)["fired"] == []
    assert len(public_replies(team.workspace, waiting)) == 1
    assert run(team, solve)["fired"] == []
    clock.advance(timedelta(days=4, minutes=1))
    assert [f["ticket_id"] for f in run(team, solve)["fired"]] == [waiting]
    assert ticket(team.workspace, waiting)["status"] == "solved"
    assert [f["ticket_id"] for f in run(team, remind)["fired"]] == [fresh]
    assert firings(team.workspace, waiting) == [
        ("automation.fired", "Remind pending customers", "rule"),
        ("automation.fired", "Solve after a week", "rule"),
    ]
    with team.workspace.reading() as connection:
        surveys = connection.execute("SELECT count(*) FROM survey WHERE ticket_id = ?", (waiting,)).fetchone()[0]
    assert surveys == 1  # solved by an automation, surveyed like any solved ticket


def test_a_ticket_that_leaves_the_condition_fires_again_when_it_returns(team: Team, clock: TestClock) -> None:
    clock.freeze()
    nudge = automation(
        team,
        {
            "name": "Nudge",
            "when": ["scheduled"],
            "conditions": {"query": "status:pending updated>2d"},
            "actions": [{"set_priority": "high"}],
        },
    )
    pending_ticket(team)
    clock.advance(timedelta(days=2, hours=1))
    assert len(run(team, nudge)["fired"]) == 1
    # its own change moved "updated": the ticket left the condition, and the firing is forgotten
    second = run(team, nudge)
    assert (second["fired"], second["forgotten"]) == ([], 1)
    clock.advance(timedelta(days=1))
    assert run(team, nudge)["fired"] == []
    clock.advance(timedelta(days=1, hours=1))
    assert len(run(team, nudge)["fired"]) == 1  # back in the condition: fires again


def test_a_ticket_still_in_the_condition_never_fires_twice(team: Team, clock: TestClock) -> None:
    clock.freeze()
    sla_watch = automation(
        team,
        {
            "name": "Old and pending",
            "when": ["scheduled"],
            "conditions": {"query": "status:pending created>2d"},
            "actions": [{"add_tags": ["old"]}],
        },
    )
    pending_ticket(team)
    clock.advance(timedelta(days=2, hours=1))
    assert len(run(team, sla_watch)["fired"]) == 1
    for _ in range(3):
        clock.advance(timedelta(hours=5))
        again = run(team, sla_watch)
        assert (again["fired"], again["forgotten"]) == ([], 0)


def test_close_solved_tickets_and_escalate_before_a_breach(team: Team, clock: TestClock) -> None:
    clock.freeze()
    close = automation(
        team,
        {
            "name": "Close solved",
            "when": ["scheduled"],
            "conditions": {"query": "status:solved updated>4d"},
            "actions": [{"set_status": "closed"}],
        },
    )
    solved = new_ticket(team, "Thanks")
    write.apply(team.workspace, "ticket.set_status", {"ticket_id": solved, "status": "solved"}, actor=team.admin)
    clock.advance(timedelta(days=4, seconds=1))
    assert len(run(team, close)["fired"]) == 1
    assert ticket(team.workspace, solved)["status"] == "closed"
    again = run(team, close)
    assert (again["fired"], again["forgotten"]) == ([], 1)  # closed: out of the condition, and final


def test_conditions_beside_the_query_keep_to_a_group(team: Team, clock: TestClock) -> None:
    clock.freeze()
    billing_only = automation(
        team,
        {
            "name": "Billing follow-up",
            "when": ["scheduled"],
            "conditions": {"all": {"query": "status:pending updated>1d", "group": "Billing"}},
            "actions": [{"set_priority": "high"}],
        },
    )
    theirs = pending_ticket(team, "Invoice")
    write.apply(team.workspace, "ticket.assign", {"ticket_id": theirs, "group_id": team.billing}, actor=team.admin)
    ours = pending_ticket(team, "Password")
    write.apply(team.workspace, "ticket.assign", {"ticket_id": ours, "group_id": team.tier1}, actor=team.admin)
    clock.advance(timedelta(days=1, minutes=5))
    assert [f["ticket_id"] for f in run(team, billing_only)["fired"]] == [theirs]
    assert ticket(team.workspace, ours)["priority"] != "high"


def test_a_failing_action_is_audited_once_not_every_run(team: Team, clock: TestClock) -> None:
    clock.freeze()
    broken = automation(
        team,
        {
            "name": "Reopen on hold",
            "when": ["scheduled"],
            "conditions": {"query": "status:on_hold updated>1h"},
            # an auto-reply that renders empty is refused when it runs
            "actions": [{"add_tags": ["held"]}, {"auto_reply": "{{ '' }}"}],
        },
    )
    held = new_ticket(team, "Billing question")
    write.apply(team.workspace, "ticket.assign", {"ticket_id": held, "group_id": team.billing}, actor=team.admin)
    write.apply(team.workspace, "ticket.set_status", {"ticket_id": held, "status": "on_hold"}, actor=team.admin)
    clock.advance(timedelta(hours=2))
    first = run(team, broken)
    second = run(team, broken)
    assert (first["fired"], [f["ticket_id"] for f in first["failed"]]) == ([], [held])
    assert (second["fired"], second["failed"]) == ([], [])
    assert "held" not in ticket(team.workspace, held)["tags"]  # the failed firing's actions rolled back alone
    assert [f[0] for f in firings(team.workspace, held)] == ["rule.failed"]


def test_an_automation_cannot_loop_or_start_triggers(team: Team, clock: TestClock) -> None:
    """Its changes start no trigger pass; a rule re-entering its own condition waits for a run."""
    clock.freeze()
    write.apply(
        team.workspace,
        "rule.create",
        {
            "definition": {
                "name": "Tag every update",
                "when": ["updated"],
                "actions": [{"add_tags": ["touched-by-trigger"]}],
            }
        },
        actor=team.admin,
    )
    flip = automation(
        team,
        {
            "name": "Flip",
            "when": ["scheduled"],
            "conditions": {"query": "status:pending updated>1h"},
            "actions": [{"set_status": "open"}, {"set_status": "pending"}],
        },
    )
    waiting = pending_ticket(team)
    clock.advance(timedelta(hours=2))
    with team.workspace.writing() as connection:
        connection.execute("DELETE FROM ticket_tag WHERE ticket_id = ?", (waiting,))
    assert len(run(team, flip)["fired"]) == 1
    assert "touched-by-trigger" not in ticket(team.workspace, waiting)["tags"]
    assert run(team, flip)["fired"] == []


def test_only_admins_run_or_write_automations(team: Team) -> None:
    rule_id = automation(team, REMIND)
    with pytest.raises(PermissionDenied):
        write.apply(team.workspace, "automation.run", {"rule_id": rule_id}, actor=team.agent)
    with pytest.raises(PermissionDenied):
        write.apply(team.workspace, "rule.create", {"definition": {**REMIND, "name": "x"}}, actor=team.agent)


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        ({"conditions": {}}, "needs one query"),
        ({"conditions": {"query": "status:pending"}}, "no condition on time"),
        ({"conditions": {"query": "status:pending -updated>3d"}}, "no condition on time"),
        ({"conditions": {"query": "status:bogus updated>3d"}}, "status"),
        ({"conditions": {"query": 'updated>3d ~"refund please"'}}, "meaning"),
        ({"conditions": {"query": "assignee:me updated>3d"}}, "assignee:me"),
        ({"conditions": {"query": "updated>3d " + "x" * 600}}, "1 to 500"),
        ({"when": ["scheduled", "created"]}, "cannot be mixed"),
        ({"actions": [{"set_status": "new"}]}, "not a status to set"),
        ({"actions": [{"set_status": "deleted"}]}, "not a status to set"),
    ],
)
def test_malformed_automations_are_refused_when_saved(team: Team, definition: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationFailed, match=re.escape(says)):
        write.apply(team.workspace, "rule.create", {"definition": {**REMIND, **definition}}, actor=team.admin)


def test_a_routing_rule_is_not_run_as_an_automation(team: Team) -> None:
    trigger = write.apply(
        team.workspace,
        "rule.create",
        {"definition": {"name": "T", "when": ["created"], "actions": [{"add_tags": ["t"]}]}},
        actor=team.admin,
    ).result["rule_id"]
    with pytest.raises(ValidationFailed, match="not an automation"):
        write.apply(team.workspace, "automation.run", {"rule_id": trigger}, actor=SYSTEM)


def test_a_query_condition_works_in_a_trigger_too(team: Team) -> None:
    write.apply(
        team.workspace,
        "rule.create",
        {
            "definition": {
                "name": "Urgent words",
                "when": ["created"],
                "conditions": {"query": "outage"},
                "actions": [{"set_priority": "urgent"}],
            }
        },
        actor=team.admin,
    )
    assert ticket(team.workspace, new_ticket(team, "Total outage", "everything is down"))["priority"] == "urgent"
    assert ticket(team.workspace, new_ticket(team, "Invoice", "copy please"))["priority"] != "urgent"


def test_an_automation_runs_in_a_process_that_loaded_only_its_own_mutator(team: Team, clock: TestClock) -> None:
    """A process loads only the mutators it runs (``domain/catalog.py``): the server's scheduler
    runs ``automation.run`` alone, so the actions' own mutations (``ticket.auto_reply``,
    ``ticket.add_tags``) must be found through the catalog, not assumed loaded."""
    import os
    import subprocess
    import sys
    import textwrap

    from supportdesk.store.times import iso

    clock.freeze()
    remind = automation(team, REMIND)
    waiting = pending_ticket(team)
    script = textwrap.dedent(
        f"""
        import json
        from supportdesk.domain import write
        from supportdesk.domain.context import SYSTEM
        from supportdesk.store.workspace import Workspace
        workspace = Workspace.open({str(team.workspace.root)!r}, create=False)
        outcome = write.apply(workspace, "automation.run", {{"rule_id": {remind!r}}}, actor=SYSTEM)
        print(json.dumps({{"error": str(outcome.error) if outcome.error else None, "result": outcome.result}},
                         default=str))
        """
    )
    env = {**os.environ, "SUPPORTDESK_NOW": str(iso(clock() + timedelta(days=4)))}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["error"] is None
    assert [fired["ticket_id"] for fired in outcome["result"]["fired"]] == [waiting]
    assert outcome["result"]["failed"] == []
    [reminder] = public_replies(team.workspace, waiting)
    assert "is there anything else we can do?" in reminder
