"""SLAs on the team server, on both engines: SLA rows (clocks, surveys, handle time) travel only
with their ticket, policies and rules are team-wide, the survey signing secret never leaves the
server, the query language's ``sla:`` terms work over REST, and round-robin survives a rush."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlmodel.sql.sqltypes import UTCDateTime

from supportdesk.domain import feedback
from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.store.times import utcnow
from supportdesk.sync.rows import TICKET_SCOPED
from tests.live import Deployment
from tests.server.test_api import customer_ticket, push
from tests.sync.compare import differences, replica_view, server_view

SLA_TICKET_ROWS = ("ticket_timing", "survey", "handle_time")
RULE = {
    "name": "Tag VIP mail",
    "when": ["created"],
    "conditions": {"words": ["vip"]},
    "actions": [{"add_tags": ["vip"]}],
}


def team_wide_setup(deployment: Deployment) -> None:
    db = deployment.team.db
    apply_as(db, SYSTEM, "sla.policy.create", {"name": "Normal", "priority": "normal", "first_reply_minutes": 60})
    apply_as(db, SYSTEM, "rule.create", {"definition": RULE})


def billing_ticket_with_sla_rows(deployment: Deployment) -> tuple[str, dict[str, list[Any]]]:
    """A Billing ticket Bea answered, solved (a survey) and spent time on: its id and SLA row keys."""
    ticket = customer_ticket(deployment, group_id=deployment.team.billing, subject="Invoice wrong")
    with deployment.api("bea") as bea:
        ticket_id = ticket["ticket_id"]
        mutations = [
            {"id": 1, "name": "ticket.reply", "args": {"ticket_id": ticket_id, "body": "Fixed.", "status": "solved"}},
            {"id": 2, "name": "ticket.record_handle_time", "args": {"ticket_id": ticket_id, "seconds": 300}},
        ]
        assert all(r["ok"] for r in push(bea, "bea-sla-client", mutations).json()["results"])
    keys: dict[str, list[Any]] = {"ticket_timing": [[ticket_id]]}
    with deployment.team.db.engine.connect() as connection:
        for table_name in ("survey", "handle_time"):
            found = connection.execute(text(f"SELECT id FROM {table_name} WHERE ticket_id = :t"), {"t": ticket_id})
            keys[table_name] = [[row[0]] for row in found]
    assert all(keys.values()), keys
    return ticket_id, keys


def about(changes: list[dict[str, Any]], ticket_id: str) -> list[str]:
    """The SLA tables of the pulled records that concern ``ticket_id``."""
    return [c["entity"] for c in changes if c["entity"] in SLA_TICKET_ROWS and c["data"].get("ticket_id") == ticket_id]


def bootstrap_rows(client: httpx.Client) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for line in client.get("/v1/bootstrap").text.splitlines():
        item = json.loads(line)
        if item["type"] == "rows":
            rows.setdefault(item["table"], []).extend(dict(zip(item["columns"], r, strict=True)) for r in item["rows"])
    return rows


def test_sla_tables_of_a_ticket_are_scoped_like_the_ticket() -> None:
    assert {"ticket_timing", "survey", "handle_time"} <= TICKET_SCOPED
    assert not {"sla_policy", "sla_calendar", "trigger_rule"} & TICKET_SCOPED


def test_another_groups_clocks_surveys_and_handle_time_are_never_sent(deployment: Deployment) -> None:
    team_wide_setup(deployment)
    ticket_id, keys = billing_ticket_with_sla_rows(deployment)
    with deployment.api("sam") as sam, deployment.api("bea") as bea:
        pulled = sam.get("/v1/pull", params={"cursor": 0}).json()["changes"]
        assert about(pulled, ticket_id) == []
        assert {"sla_policy", "trigger_rule"} <= {c["entity"] for c in pulled}  # team-wide
        assert sorted(set(about(bea.get("/v1/pull", params={"cursor": 0}).json()["changes"], ticket_id))) == sorted(
            SLA_TICKET_ROWS
        )
        snapshot = bootstrap_rows(sam)
        assert all(row["ticket_id"] != ticket_id for name in SLA_TICKET_ROWS for row in snapshot.get(name, []))
        assert [row["name"] for row in snapshot["sla_policy"]] == ["Normal"]
        assert [row["name"] for row in snapshot["trigger_rule"]] == ["Tag VIP mail"]
        assert {row["ticket_id"] for row in bootstrap_rows(bea)["survey"]} == {ticket_id}
        asked = [{"table": name, "key": key} for name, found in keys.items() for key in found]
        assert [state["row"] for state in sam.post("/v1/rows", json={"keys": asked}).json()["rows"]] == [None] * 3
        assert all(state["row"] for state in bea.post("/v1/rows", json={"keys": asked}).json()["rows"])


def test_sla_rows_arrive_and_leave_with_their_ticket(deployment: Deployment) -> None:
    team = deployment.team
    team_wide_setup(deployment)
    sam = deployment.replica("sam")
    try:
        ticket_id, _keys = billing_ticket_with_sla_rows(deployment)
        sam.sync()
        assert sam.rows("SELECT count(*) FROM ticket_timing WHERE ticket_id = ?", ticket_id) == [(0,)]
        # moved to Tier 1: the ticket arrives with its clocks, survey and handle time
        apply_as(team.db, SYSTEM, "ticket.assign", {"ticket_id": ticket_id, "group_id": team.tier1})
        sam.sync()
        for table_name in SLA_TICKET_ROWS:
            assert sam.rows(f"SELECT count(*) FROM {table_name} WHERE ticket_id = ?", ticket_id) == [(1,)], table_name
        assert not differences(server_view(team.db, sam.agent_id), replica_view(sam.workspace))
        # and back to Billing: every row of it leaves Sam's replica
        apply_as(team.db, SYSTEM, "ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing})
        sam.sync()
        for table_name in ("ticket", *SLA_TICKET_ROWS):
            column = "id" if table_name == "ticket" else "ticket_id"
            assert sam.rows(f"SELECT count(*) FROM {table_name} WHERE {column} = ?", ticket_id) == [(0,)], table_name
        assert not differences(server_view(team.db, sam.agent_id), replica_view(sam.workspace))
    finally:
        sam.close()


def test_the_survey_secret_never_leaves_the_server(deployment: Deployment) -> None:
    ticket_id, _keys = billing_ticket_with_sla_rows(deployment)
    with deployment.team.db.engine.begin() as connection:
        survey_id = connection.execute(text("SELECT id FROM survey WHERE ticket_id = :t"), {"t": ticket_id}).scalar()
        feedback.survey_token(connection, str(survey_id))  # makes the secret, as sending a link does
        secret = feedback.stored_secret(connection)
    assert secret is not None
    with deployment.api("ada") as admin:  # an admin sees everything there is to sync
        everything = admin.get("/v1/bootstrap").text + admin.get("/v1/pull", params={"cursor": 0}).text
        everything += admin.get("/v1/tickets/1").text
    assert "survey_secret" not in everything
    assert secret.hex() not in everything


def test_sla_terms_of_the_query_language_work_over_rest(deployment: Deployment) -> None:
    db = deployment.team.db
    apply_as(db, SYSTEM, "sla.policy.create", {"name": "Normal", "priority": "normal", "first_reply_minutes": 30})
    apply_as(db, SYSTEM, "sla.policy.create", {"name": "High", "priority": "high", "first_reply_minutes": 300})
    customer_ticket(deployment, subject="Soon")
    customer_ticket(deployment, subject="Later", priority="high")
    paused = customer_ticket(deployment, subject="Paused")
    customer_ticket(deployment, subject="No policy", priority="low")
    with deployment.api("sam") as sam:
        change = {"ticket_id": paused["ticket_id"], "status": "on_hold"}
        assert push(sam, "sam-sla-queries", [{"id": 1, "name": "ticket.set_status", "args": change}]).json()["results"][
            0
        ]["ok"]

        def subjects(query: str) -> list[str]:
            found = sam.get("/v1/tickets", params={"query": query})
            assert found.status_code == 200, found.text
            return sorted(t["subject"] for t in found.json()["tickets"])

        assert subjects("sla:due<1h") == ["Soon"]
        assert subjects("sla:due>1h") == ["Later"]
        assert subjects("sla:paused") == ["Paused"]
        assert subjects("sla:active") == ["Later", "Soon"]
        assert subjects("sla:none") == ["No policy"]
        assert subjects("sla:breached") == []
        soon = sam.get("/v1/tickets", params={"query": "sla:due<1h"}).json()["tickets"][0]["id"]
        with db.engine.begin() as connection:  # as if its half hour had passed
            hour_ago = utcnow() - timedelta(hours=1)
            connection.execute(
                text("UPDATE ticket_timing SET breach_at = :at WHERE ticket_id = :t").bindparams(
                    bindparam("at", type_=UTCDateTime())
                ),
                {"at": hour_ago, "t": soon},
            )
        assert subjects("sla:breached") == ["Soon"]


def test_round_robin_gives_tickets_moved_in_at_once_to_each_agent_in_turn(deployment: Deployment) -> None:
    """Moving tickets into a group does not take the ticket-number lock that serialises
    creations, so only the cursor's own row lock keeps two of them from going to one agent."""
    team = deployment.team
    tickets = [
        apply_as(
            team.db, SYSTEM, "ticket.create", {"subject": f"Rush {n}", "body": "?", "requester": {"value": "r@x.test"}}
        )[0]["ticket_id"]
        for n in range(8)
    ]
    rule = {
        "name": "Tier 1 round robin",
        "when": ["updated"],
        "conditions": {"group": "Tier 1"},
        "actions": [{"assign": "round_robin"}],
    }
    apply_as(team.db, SYSTEM, "rule.create", {"definition": rule})
    start = threading.Barrier(len(tickets))
    outcomes: list[bool] = []

    def move(index: int) -> None:
        with deployment.api("ada") as client:
            mutation = {"id": 1, "name": "ticket.assign", "args": {"ticket_id": tickets[index], "group_id": team.tier1}}
            start.wait()
            outcomes.append(push(client, f"rush-client-{index}", [mutation]).json()["results"][0]["ok"])

    threads = [threading.Thread(target=move, args=(index,)) for index in range(len(tickets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [True] * len(tickets)
    with team.db.engine.connect() as connection:
        assignees = Counter(row[0] for row in connection.execute(text("SELECT assignee_id FROM ticket")))
    assert assignees == {team.ids["sam"]: 4, team.ids["tom"]: 4}
