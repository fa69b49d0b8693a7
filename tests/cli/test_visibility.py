"""An agent's reads show only the tickets they may see, in a standalone workspace too.

The README's rule (agents see their groups' tickets, ungrouped ones and their own; admins see
all) is the write path's ``domain.rules.can_access_ticket``. The CLI's reads apply it in SQL
(``store.viewer``) without loading the domain; these tests hold the SQL and the check to the
domain's rule for every kind of agent, and hold ``tickets list`` / ``tickets show`` to it: the
fast path gives what filtering the admin's whole listing through the domain's rule gives.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.domain.rules import can_access_ticket
from supportdesk.domain.write import load_actor
from supportdesk.store import reads
from supportdesk.store.viewer import EVERYONE, Viewer, ticket_visible, workspace_viewer
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def _agent(connection: sqlite3.Connection, role: str) -> str:
    return str(
        connection.execute(
            "SELECT a.id FROM agent a WHERE a.role = ? "
            "AND EXISTS (SELECT 1 FROM agent_group g WHERE g.agent_id = a.id) ORDER BY a.email LIMIT 1",
            (role,),
        ).fetchone()[0]
    )


def _all_tickets(connection: sqlite3.Connection) -> list[dict[str, object]]:
    return [dict(r) for r in connection.execute("SELECT id, number, group_id, assignee_id FROM ticket")]


def _kinds(ws: Workspace) -> list[tuple[str, str | None]]:
    """(label, the 'me' setting): an admin, an agent of some groups, a light agent, an agent of no
    group, an agent id that names nobody any more, and nobody chosen yet."""
    with ws.writing() as connection:
        admin, agent, light = (_agent(connection, role) for role in ("admin", "agent", "light_agent"))
        loner = str(
            connection.execute("SELECT id FROM agent WHERE role = 'agent' ORDER BY email DESC LIMIT 1").fetchone()[0]
        )
        connection.execute("DELETE FROM agent_group WHERE agent_id = ?", (loner,))
        # the demo files every ticket in a group: one without, which every agent sees
        connection.execute("UPDATE ticket SET group_id = NULL WHERE number = (SELECT min(number) FROM ticket)")
    return [
        ("admin", admin),
        ("agent", agent),
        ("light", light),
        ("no group", loner),
        ("gone", "0" * 36),
        ("nobody", None),
    ]


def _domain_actor(connection: sqlite3.Connection, me: str | None) -> Actor:
    if me is None:
        return SYSTEM
    if connection.execute("SELECT 1 FROM agent WHERE id = ?", (me,)).fetchone() is None:
        return Actor(id=me, name="", email="", role="agent")  # type: ignore[arg-type]
    return load_actor(connection, me)


def test_the_viewer_is_the_domains_rule_for_every_kind_of_agent(ws: Workspace) -> None:
    kinds = _kinds(ws)
    with ws.reading() as connection:
        tickets = _all_tickets(connection)
        for label, me in kinds:
            viewer = _viewer_as(ws, me)
            actor = _domain_actor(connection, me)
            expected = {t["id"] for t in tickets if can_access_ticket(actor, t)}
            condition, params = viewer.condition("t")
            in_sql = {r[0] for r in connection.execute(f"SELECT t.id FROM ticket t WHERE {condition}", params)}
            by_check = {t["id"] for t in tickets if ticket_visible(connection, viewer, str(t["id"]))}
            assert in_sql == expected == by_check, label
            if label in ("agent", "light", "no group", "gone"):
                assert 0 < len(expected) < len(tickets), label  # the case means something
            else:
                assert len(expected) == len(tickets), label


def _viewer_as(ws: Workspace, me: str | None) -> Viewer:
    if me is None:
        with ws.writing() as connection:
            connection.execute("DELETE FROM workspace_setting WHERE key = 'me'")
    else:
        ws.set_setting("me", me)
    with ws.reading() as connection:
        return workspace_viewer(connection)


def _across_groups(ws: Workspace) -> tuple[str, Actor, dict[str, dict[str, object]], dict[str, list[str]]]:
    """An agent, and the customers with tickets both inside and outside that agent's view: each
    customer's ticket ids, and every ticket by id."""
    with ws.reading() as connection:
        agent = _agent(connection, "agent")
        actor = load_actor(connection, agent)
        tickets = {str(t["id"]): t for t in _all_tickets(connection)}
        by_customer: dict[str, list[str]] = {}
        for ticket_id, customer in connection.execute("SELECT id, requester_id FROM ticket"):
            by_customer.setdefault(customer, []).append(ticket_id)
    assert actor is not None
    crossing = {
        c: ids
        for c, ids in by_customer.items()
        if any(can_access_ticket(actor, tickets[i]) for i in ids)
        and not all(can_access_ticket(actor, tickets[i]) for i in ids)
    }
    return agent, actor, tickets, crossing


def _listing(cli: CLI, *args: str) -> list[dict[str, object]]:
    result = cli("tickets", "list", "--jsonl", "--fields", "id,number,group,assignee", *args)
    assert result.code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status<solved",
        "refund",  # free text: driven from the FTS index
        "refund status:open,new,pending",  # free text within unsolved statuses (the 'rest' path)
        "sort:sla-asc status<solved",  # walked from the SLA timing index
        "sort:priority-desc",
        "-refund tag:billing",
    ],
)
def test_an_agent_lists_only_what_the_domain_lets_them_see(cli: CLI, ws: Workspace, query: str) -> None:
    with ws.reading() as connection:
        agent = _agent(connection, "agent")
        tickets = {t["id"]: t for t in _all_tickets(connection)}
        actor = load_actor(connection, agent)
    everything = _listing(cli, "-q", query)  # the admin's listing (the demo acts as an admin)
    assert everything
    ws.set_setting("me", agent)
    mine = _listing(cli, "-q", query)
    expected = [row for row in everything if can_access_ticket(actor, tickets[str(row["id"])])]
    assert mine == expected  # same rows, same order, same fields
    assert len(mine) < len(everything) or query == "sort:sla-asc status<solved"


def test_another_groups_ticket_is_not_found_by_show_and_looks_like_a_missing_one(cli: CLI, ws: Workspace) -> None:
    with ws.reading() as connection:
        agent = _agent(connection, "agent")
        actor = load_actor(connection, agent)
        tickets = _all_tickets(connection)
    hidden = next(t for t in tickets if not can_access_ticket(actor, t) and t["number"])
    seen = next(t for t in tickets if t["group_id"] in actor.group_ids and t["number"])
    ungrouped = next((t for t in tickets if t["group_id"] is None and t["number"]), None)
    before = cli("tickets", "show", str(hidden["number"]))
    assert before.code == 0  # the admin sees it
    ws.set_setting("me", agent)
    for ref in (str(hidden["number"]), f"#{hidden['number']}", str(hidden["id"]), str(hidden["id"])[:13]):
        for extra in ((), ("--json",), ("--summary",)):
            result = cli("tickets", "show", ref, *extra)
            assert (result.code, result.stdout, result.stderr) == (3, "", f"supportdesk: error: no ticket {ref}\n"), (
                ref,
                extra,
            )
    missing = cli("tickets", "show", "999999")
    assert (missing.code, missing.stderr) == (3, "supportdesk: error: no ticket 999999\n")
    assert cli("tickets", "show", str(seen["number"])).code == 0
    if ungrouped is not None:
        assert cli("tickets", "show", str(ungrouped["number"])).code == 0


def test_the_admins_show_is_the_same_with_and_without_the_viewer(cli: CLI, ws: Workspace) -> None:
    """The fast path changes nothing for whoever sees everything (the slow path: the detail read)."""
    with ws.reading() as connection:
        number = connection.execute("SELECT number FROM ticket WHERE group_id IS NOT NULL LIMIT 1").fetchone()[0]
        ticket = reads.resolve_ticket(connection, str(number))
        assert ticket is not None
        detail = reads.ticket_detail(connection, ticket)
        assert workspace_viewer(connection) == Viewer(id=workspace_viewer(connection).id, sees_all=True)
    assert detail is not None
    shown = cli("tickets", "show", str(number), "--json")
    assert shown.code == 0 and json.loads(shown.stdout)["id"] == ticket
    assert EVERYONE.condition() == ("1 = 1", {})


def test_group_names_that_look_like_sql_stay_parameters(ws: Workspace) -> None:
    """The viewer's groups are parameters, never text in the SQL (hostile ids from a sync)."""
    viewer = Viewer(id="x' OR 1=1 --", sees_all=False, group_ids=frozenset({"g') OR (1=1", "plain"}))
    condition, params = viewer.condition("t")
    assert "OR 1=1" not in condition and "1=1" not in condition
    assert set(params.values()) == {"x' OR 1=1 --", "g') OR (1=1", "plain"}
    with ws.reading() as connection:
        assert (
            connection.execute(f"SELECT count(*) FROM ticket t WHERE {condition}", params).fetchone()[0]
            == (connection.execute("SELECT count(*) FROM ticket WHERE group_id IS NULL").fetchone()[0])
        )


def test_the_other_ticket_reads_keep_to_the_agents_tickets_too(cli: CLI, ws: Workspace) -> None:
    """History, SLA clocks and the attachment list of another group's ticket: 'no ticket N'."""
    with ws.reading() as connection:
        agent = _agent(connection, "agent")
        actor = load_actor(connection, agent)
        tickets = _all_tickets(connection)
    hidden = next(t for t in tickets if not can_access_ticket(actor, t) and t["number"])
    seen = next(t for t in tickets if t["group_id"] in actor.group_ids and t["number"])
    reads_of = (("tickets", "history"), ("sla", "show"), ("tickets", "attachments"))
    for command in reads_of:
        assert cli(*command, str(hidden["number"])).code == 0, command  # the admin sees it
    ws.set_setting("me", agent)
    for command in reads_of:
        refused = cli(*command, str(hidden["number"]))
        assert (refused.code, refused.stdout) == (3, ""), command
        assert refused.stderr == f"supportdesk: error: no ticket {hidden['number']}\n", command
        assert cli(*command, str(seen["number"])).code == 0, command
    refused = cli("tickets", "attachment", str(hidden["number"]), "invoice.pdf", "--save", str(ws.root))
    assert refused.code == 3 and refused.stderr == f"supportdesk: error: no ticket {hidden['number']}\n"


def test_a_customers_record_lists_only_the_tickets_the_agent_may_see(cli: CLI, ws: Workspace) -> None:
    agent, actor, tickets, by_customer = _across_groups(ws)
    customer = next(iter(by_customer))
    everything = json.loads(cli("customers", "show", customer, "--json", "--timeline").stdout)
    ws.set_setting("me", agent)
    mine = json.loads(cli("customers", "show", customer, "--json", "--timeline").stdout)
    assert [t["id"] for t in mine["tickets"]] == [
        t["id"] for t in everything["tickets"] if can_access_ticket(actor, tickets[t["id"]])
    ]
    numbers = {tickets[t["id"]]["number"] for t in mine["tickets"]}
    assert mine["timeline"] and {m["ticket"] for m in mine["timeline"]} <= numbers
    assert len(mine["timeline"]) < len(everything["timeline"])
    text = cli("customers", "show", customer).stdout
    assert f"{len(mine['tickets'])} tickets:" in text


def test_namesakes_are_listed_with_the_count_of_the_agents_tickets(cli: CLI, ws: Workspace) -> None:
    """A name two customers share lists both, each with a ticket count: an agent's is of the
    tickets they may see, as ``customers show`` lists them."""
    agent, actor, tickets, by_customer = _across_groups(ws)
    crossing = list(by_customer)[:2]
    with ws.writing() as connection:
        for customer in crossing:
            connection.execute("UPDATE customer SET name = 'Ottoline Namesake' WHERE id = ?", (customer,))
    ws.set_setting("me", agent)
    result = cli("customers", "show", "Ottoline Namesake")
    assert result.code != 0 and "2 customers are named" in result.stderr
    for customer in crossing:
        seen = sum(can_access_ticket(actor, tickets[i]) for i in by_customer[customer])
        assert seen < len(by_customer[customer])
        assert f"({seen} ticket{'s' if seen != 1 else ''}, id {customer})" in result.stderr, result.stderr


def test_an_agent_exports_only_what_they_may_see(cli: CLI, ws: Workspace) -> None:
    with ws.reading() as connection:
        agent = _agent(connection, "agent")
        actor = load_actor(connection, agent)
        tickets = {t["id"]: t for t in _all_tickets(connection)}
    everything = [json.loads(line)["id"] for line in cli("export", "-q", "tag:billing").stdout.splitlines()]
    ws.set_setting("me", agent)
    mine = [json.loads(line)["id"] for line in cli("export", "-q", "tag:billing").stdout.splitlines()]
    assert mine == [i for i in everything if can_access_ticket(actor, tickets[i])]
    assert 0 < len(mine) < len(everything)


def test_an_agents_view_counts_are_of_the_tickets_they_may_see(cli: CLI, ws: Workspace) -> None:
    """``views list --counts``: each count is the length of the agent's listing of that view."""
    with ws.reading() as connection:
        agent = _agent(connection, "agent")
    ws.set_setting("me", agent)
    result = cli("views", "list", "--counts", "--jsonl", "--fields", "name,query,count")
    assert result.code == 0, result.stderr
    views = [json.loads(line) for line in result.stdout.splitlines()]
    assert views
    shown_fewer = False
    for view in views:
        listed = _listing(cli, "-q", str(view["query"]), "-n", "100000")
        assert view["count"] == len(listed), view["name"]
        with ws.reading() as connection:
            everything = reads.queue_count(connection, reads.plan_queue(str(view["query"]), me=agent))
        shown_fewer = shown_fewer or len(listed) < everything
    assert shown_fewer  # the case means something: some view holds other groups' tickets
