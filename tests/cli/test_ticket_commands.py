"""One ticket at a time: create, reply, note, assign, tag, untag, close, reopen, merge, link, log-call."""

from __future__ import annotations

import json
from typing import Any

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def one(ws: Workspace, sql: str, *params: Any) -> Any:
    with ws.reading() as connection:
        row = connection.execute(sql, params).fetchone()
    return row[0] if row is not None and len(row) == 1 else row


def number_with(ws: Workspace, where: str) -> int:
    return int(one(ws, f"SELECT number FROM ticket WHERE {where} AND merged_into_id IS NULL ORDER BY number LIMIT 1"))


def test_create_prints_the_id_and_json_shows_the_ticket(cli: CLI, ws: Workspace) -> None:
    created = cli(
        "tickets", "create", "-s", "Parcel never arrived", "-r", "Nora.Quist@Example.com", "--name", "Nora Quist",
        "--tag", "shipping", "--priority", "high", "--group", "Billing", stdin="Where is my parcel?\n",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    ticket_id = created.stdout.strip()
    assert one(ws, "SELECT subject FROM ticket WHERE id = ?", ticket_id) == "Parcel never arrived"
    shown = cli("tickets", "show", ticket_id, "--json")
    ticket = json.loads(shown.stdout)
    assert ticket["requester"] == "Nora Quist"
    assert ticket["requester_email"] == "nora.quist@example.com"
    assert ticket["priority"] == "high" and ticket["group"] == "Billing" and ticket["tags"] == ["shipping"]
    assert [m["body"] for m in ticket["messages"]] == ["Where is my parcel?"]
    assert ticket["messages"][0]["direction"] == "inbound"
    again = cli("tickets", "create", "-s", "Second one", "-r", "nora.quist@example.com", "--json", "--body", "Hi")
    document = json.loads(again.stdout)
    assert document["requester"] == "Nora Quist" and document["subject"] == "Second one"
    assert one(ws, "SELECT count(*) FROM identity WHERE value = 'nora.quist@example.com'") == 1


def test_create_refuses_bad_input_with_one_line(cli: CLI) -> None:
    no_body = cli("tickets", "create", "-s", "x", "-r", "a@example.com")
    assert no_body.code == 2 and "--body" in no_body.stderr and no_body.stderr.count("\n") == 1
    bad_channel = cli("tickets", "create", "-s", "x", "-r", "a@example.com", "--channel", "fax", "-b", "hi")
    assert bad_channel.code == 2 and "not a channel" in bad_channel.stderr
    bad_address = cli("tickets", "create", "-s", "x", "-r", "not an address@", "-b", "hi")
    assert bad_address.code == 2
    no_group = cli("tickets", "create", "-s", "x", "-r", "a@example.com", "--group", "Nope", "-b", "hi")
    assert no_group.code == 3 and "no group Nope" in no_group.stderr


def test_reply_and_note_append_messages(cli: CLI, ws: Workspace) -> None:
    number = number_with(ws, "status = 'open'")
    replied = cli("tickets", "reply", str(number), "--status", "pending", stdin="We are on it.\n")
    assert replied.code == 0, replied.stderr
    assert replied.stdout.strip() == f"replied on #{number}"
    noted = cli("tickets", "note", f"#{number}", "--body", "Escalated to finance")
    assert noted.code == 0
    ticket = json.loads(cli("tickets", "show", str(number), "--json").stdout)
    assert ticket["status"] == "pending"
    last_two = ticket["messages"][-2:]
    assert [m["body"] for m in last_two] == ["We are on it.", "Escalated to finance"]
    assert [m["visibility"] for m in last_two] == ["public", "internal"]
    empty = cli("tickets", "reply", str(number), "--body", "   ")
    assert empty.code == 2 and "empty" in empty.stderr
    missing = cli("tickets", "note", "999999", "--body", "x")
    assert missing.code == 3 and missing.stderr.strip() == "supportdesk: error: no ticket 999999"


def test_reply_to_a_closed_ticket_opens_a_follow_up(cli: CLI, ws: Workspace) -> None:
    number = number_with(ws, "status = 'closed'")
    result = cli("tickets", "reply", str(number), "--body", "Following up")
    assert result.code == 0, result.stderr
    assert "follow-up" in result.stdout
    assert one(
        ws, "SELECT count(*) FROM ticket WHERE follow_up_of_id = (SELECT id FROM ticket WHERE number = ?)", number
    )


def test_assign_tag_untag_and_reruns_that_change_nothing(cli: CLI, ws: Workspace) -> None:
    number = number_with(ws, "status = 'open' AND group_id = (SELECT id FROM groups WHERE name = 'Billing')")
    assigned = cli("tickets", "assign", str(number), "me")
    assert assigned.code == 0, assigned.stderr
    assert one(ws, "SELECT a.name FROM ticket t JOIN agent a ON a.id = t.assignee_id WHERE number = ?", number) == (
        "Dana Whitfield"
    )
    assert cli("tickets", "tag", str(number), "Needs Review", "vip").code == 0
    tags = {
        r
        for (r,) in _rows(
            ws, "SELECT tag FROM ticket_tag WHERE ticket_id = (SELECT id FROM ticket WHERE number = ?)", number
        )
    }
    assert {"needs_review", "vip"} <= tags
    again = cli("tickets", "tag", str(number), "vip")
    assert again.stdout.strip() == "changed 0 tickets, 1 already as asked"
    assert cli("tickets", "untag", str(number), "needs_review").code == 0
    assert "needs_review" not in {
        r
        for (r,) in _rows(
            ws, "SELECT tag FROM ticket_tag WHERE ticket_id = (SELECT id FROM ticket WHERE number = ?)", number
        )
    }
    nobody = cli("tickets", "assign", str(number), "none")
    assert nobody.code == 0 and one(ws, "SELECT assignee_id FROM ticket WHERE number = ?", number) is None
    stranger = cli("tickets", "assign", str(number), "nobody@nowhere.example")
    assert stranger.code == 3


def _rows(ws: Workspace, sql: str, *params: Any) -> list[Any]:
    with ws.reading() as connection:
        return [tuple(row) for row in connection.execute(sql, params)]


def test_assigning_an_agent_outside_the_group_is_refused(cli: CLI, ws: Workspace) -> None:
    number = number_with(ws, "status = 'open' AND group_id = (SELECT id FROM groups WHERE name = 'Tier 1')")
    refused = cli("tickets", "assign", str(number), "Aisha Bello")  # Billing only
    assert refused.code == 1
    assert "not in group" in refused.stderr


def test_close_reopen_and_final(cli: CLI, ws: Workspace) -> None:
    first = number_with(ws, "status = 'open'")
    second = number_with(ws, f"status = 'pending' AND number != {first}")
    closed = cli("tickets", "close", str(first), str(second))
    assert closed.code == 0, closed.stderr
    assert {s for (s,) in _rows(ws, "SELECT status FROM ticket WHERE number IN (?, ?)", first, second)} == {"solved"}
    assert cli("tickets", "reopen", str(first)).code == 0
    assert one(ws, "SELECT status FROM ticket WHERE number = ?", first) == "open"
    assert cli("tickets", "close", str(first), "--final").code == 0
    assert one(ws, "SELECT status FROM ticket WHERE number = ?", first) == "closed"
    refused = cli("tickets", "reopen", str(first))
    assert refused.code == 1
    assert f"#{first}" in refused.stderr and "closed is final" in refused.stderr


def test_merge_and_link(cli: CLI, ws: Workspace) -> None:
    source = number_with(ws, "status = 'open'")
    target = number_with(
        ws,
        f"status = 'open' AND number > {source} AND requester_id != "
        f"(SELECT requester_id FROM ticket WHERE number = {source})",
    )
    refused = cli("tickets", "merge", str(source), str(target))
    assert refused.code == 2
    assert "different requesters: pass --yes to confirm" in refused.stderr
    assert one(ws, "SELECT merged_into_id FROM ticket WHERE number = ?", source) is None
    merged = cli("tickets", "merge", str(source), str(target), "--comment", "same issue", "--yes")
    assert merged.code == 0, merged.stderr
    assert one(ws, "SELECT status FROM ticket WHERE number = ?", source) == "closed"
    again = cli("tickets", "merge", str(source), str(target))
    assert again.code == 0 and "already merged" in again.stdout
    problem = number_with(ws, "type = 'problem' AND status != 'closed'")
    incident = number_with(ws, f"type = 'question' AND status = 'open' AND number NOT IN ({source}, {target})")
    assert cli("tickets", "link", str(incident), str(problem)).code == 0
    assert one(ws, "SELECT type FROM ticket WHERE number = ?", incident) == "incident"
    assert "already linked" in cli("tickets", "link", str(incident), str(problem)).stdout
    assert cli("tickets", "link", str(incident), "--unlink").code == 0
    assert one(ws, "SELECT problem_id FROM ticket WHERE number = ?", incident) is None
    assert cli("tickets", "link", str(incident)).code == 2


def test_merge_of_one_requesters_tickets_asks_nothing(cli: CLI, ws: Workspace) -> None:
    live = "status IN ('new', 'open', 'pending', 'on_hold') AND merged_into_id IS NULL"
    source = number_with(
        ws,
        f"{live} AND requester_id IN (SELECT requester_id FROM ticket WHERE {live} "
        "GROUP BY requester_id HAVING count(*) > 1)",
    )
    same = f"(SELECT requester_id FROM ticket WHERE number = {source})"
    target = number_with(ws, f"{live} AND number != {source} AND requester_id = {same}")
    merged = cli("tickets", "merge", str(source), str(target))
    assert merged.code == 0, merged.stderr
    assert one(ws, "SELECT status FROM ticket WHERE number = ?", source) == "closed"


def test_log_call_on_a_ticket_and_for_a_new_caller(cli: CLI, ws: Workspace) -> None:
    number = number_with(ws, "status = 'open'")
    logged = cli(
        "tickets", "log-call", str(number), "-n", "+44 20 7946 0000", "-d", "6m", "--body", "Walked through it"
    )
    assert logged.code == 0, logged.stderr
    meta = json.loads(
        one(ws, "SELECT meta FROM message WHERE ticket_id = (SELECT id FROM ticket WHERE number = ?) "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1", number)
    )  # fmt: skip
    assert meta["call"] == {"direction": "inbound", "number": "+442079460000", "duration_seconds": 360}
    opened = cli("tickets", "log-call", "-n", "+1 555 0100 222", "--caller-name", "Pat Caller", stdin="Lost password")
    assert opened.code == 0 and opened.stdout.startswith("opened #")
    assert one(ws, "SELECT count(*) FROM customer WHERE name = 'Pat Caller'") == 1
    bad = cli("tickets", "log-call", str(number), "-n", "+1 555 0100", "-d", "ages", "--body", "x")
    assert bad.code == 2 and "duration" in bad.stderr
