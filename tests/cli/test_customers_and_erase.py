"""Customers: show, merge, export (a data-access request) and erase (the right to be forgotten)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

import pytest

from supportdesk.channels.attachments import store_bytes
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store import fts
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI

NAME = "Zyrafina Quonkwright"
EMAIL = "zyrafina.q@quonk-mail.example"
OTHER_EMAIL = "zq.old@quonk-mail.example"
PHONE = "+44 7700 900461"
STORED_PHONE = "+447700900461"
WORDS = (NAME, "Zyrafina", "Quonkwright", EMAIL, OTHER_EMAIL, STORED_PHONE, "quonk-mail")


def scalar(ws: Workspace, sql: str, *params: object) -> Any:
    with ws.reading() as connection:
        return connection.execute(sql, params).fetchone()[0]


def test_show_and_export_one_customer(cli: CLI, ws: Workspace) -> None:
    email = scalar(ws, "SELECT value FROM identity WHERE kind = 'email' ORDER BY rowid LIMIT 1")
    customer_id = scalar(ws, "SELECT customer_id FROM identity WHERE value = ?", email)
    shown = json.loads(cli("customers", "show", email.upper(), "--json", "--timeline").stdout)
    assert shown["id"] == customer_id
    assert {"kind": "email", "value": email, "primary": True} in shown["identities"]
    assert len(shown["tickets"]) == scalar(ws, "SELECT count(*) FROM ticket WHERE requester_id = ?", customer_id)
    assert all(m["ticket"] for m in shown["timeline"])
    document = json.loads(cli("customers", "export", email).stdout)
    assert document["customer"]["id"] == customer_id
    assert {t["id"] for t in document["tickets"]} >= {t["id"] for t in shown["tickets"]}
    assert cli("customers", "show", "nobody@nowhere.example").code == 3


def test_export_every_customer_as_jsonl_and_csv(cli: CLI, ws: Workspace) -> None:
    lines = cli("customers", "export", "--jsonl").stdout.splitlines()
    assert len(lines) == scalar(ws, "SELECT count(*) FROM customer")
    record = json.loads(lines[0])
    assert set(record) >= {"id", "name", "email", "phone", "chat", "social", "organization"}
    table = cli("customers", "export", "--csv", "--fields", "id,email").stdout.splitlines()
    assert table[0] == "id,email" and len(table) == len(lines) + 1


def test_merge_moves_addresses_and_tickets(cli: CLI, ws: Workspace) -> None:
    ids = [r for (r,) in _rows(ws, "SELECT id FROM customer WHERE id IN (SELECT requester_id FROM ticket) LIMIT 2")]
    source_email = scalar(ws, "SELECT value FROM identity WHERE customer_id = ? AND kind = 'email'", ids[0])
    tickets = scalar(ws, "SELECT count(*) FROM ticket WHERE requester_id IN (?, ?)", *ids)
    merged = cli("customers", "merge", source_email, ids[1])
    assert merged.code == 0, merged.stderr
    assert scalar(ws, "SELECT count(*) FROM ticket WHERE requester_id = ?", ids[1]) == tickets
    assert scalar(ws, "SELECT customer_id FROM identity WHERE value = ?", source_email) == ids[1]
    again = cli("customers", "merge", ids[0], ids[1])
    assert again.code == 0 and "already merged" in again.stdout


def _rows(ws: Workspace, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with ws.reading() as connection:
        return [tuple(r) for r in connection.execute(sql, params)]


@pytest.fixture
def person(cli: CLI, ws: Workspace) -> dict[str, Any]:
    """A customer with two merged records, three addresses, tickets, replies that name them, notes,
    a renamed subject and a message on somebody else's ticket."""
    first = cli("tickets", "create", "-s", f"Refund for {NAME}", "-r", EMAIL, "--name", NAME, "--channel", "email",
                "--body", f"Hello, this is {NAME}, call me on {PHONE}.")  # fmt: skip
    assert first.code == 0, first.stderr
    ticket_id = first.stdout.strip()
    customer_id = scalar(ws, "SELECT requester_id FROM ticket WHERE id = ?", ticket_id)
    old = cli("tickets", "create", "-s", "Old account", "-r", OTHER_EMAIL, "--name", "Z. Quonkwright", "-b", "Old one")
    old_customer = scalar(ws, "SELECT requester_id FROM ticket WHERE id = ?", old.stdout.strip())
    assert cli("customers", "merge", OTHER_EMAIL, EMAIL).code == 0
    actor = write.workspace_actor(ws)
    write.apply(ws, "customer.add_identity", {"customer_id": customer_id, "kind": "phone", "value": PHONE}, actor=actor)
    write.apply(ws, "customer.update", {"customer_id": customer_id, "notes": f"{NAME} prefers phone"}, actor=actor)
    write.apply(ws, "customer.update", {"customer_id": customer_id, "name": NAME + " Jr"}, actor=actor)
    write.apply(ws, "customer.update", {"customer_id": customer_id, "name": NAME}, actor=actor)
    write.apply(ws, "ticket.set_subject", {"ticket_id": ticket_id, "subject": f"Refund: {NAME} ({EMAIL})"}, actor=actor)
    assert cli("tickets", "reply", ticket_id, "--body", f"Hi Zyrafina, we refunded {EMAIL}.").code == 0
    assert cli("tickets", "note", ticket_id, "--body", f"{NAME} called twice").code == 0
    stored = store_bytes(ws.attachments_dir, f"Passport scan of {NAME}".encode())
    shared = store_bytes(ws.attachments_dir, b"terms and conditions, sent to everyone")
    files = [
        {"sha256": stored.sha256, "filename": "passport-zyrafina.png", "size": stored.size},
        {"sha256": shared.sha256, "filename": "terms.pdf", "size": shared.size},
    ]
    write.apply(ws, "ticket.receive", {"ticket_id": ticket_id, "body": "Here it is", "attachments": files}, actor=actor)
    someone = scalar(ws, "SELECT id FROM ticket WHERE status = 'open' AND requester_id != ? LIMIT 1", customer_id)
    write.apply(ws, "ticket.receive", {"ticket_id": someone, "body": "terms", "attachments": files[1:]}, actor=actor)
    other = scalar(ws, "SELECT id FROM ticket WHERE status = 'open' AND requester_id != ? AND id != ? LIMIT 1",
                   customer_id, someone)  # fmt: skip
    write.apply(
        ws, "ticket.receive", {"ticket_id": other, "customer_id": customer_id, "body": f"cc from {NAME}"}, actor=actor
    )
    with closing(ws.connect()) as connection:
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, 'reply', ?, '{}', '2026-01-01')",
            (ticket_id, f"Dear {NAME}"),
        )
    return {
        "customer_id": customer_id,
        "old_customer": old_customer,
        "ticket_id": ticket_id,
        "other": other,
        "files": (stored.path, shared.path),
    }


def _statistics(ws: Workspace) -> list[tuple[Any, ...]]:
    return _rows(
        ws,
        "SELECT t.id, t.number, t.status, t.priority, t.type, t.channel, t.group_id, t.assignee_id, t.requester_id, "
        "t.created_at, t.solved_at, t.first_response_at, (SELECT count(*) FROM message m WHERE m.ticket_id = t.id), "
        "(SELECT group_concat(tag) FROM ticket_tag g WHERE g.ticket_id = t.id) FROM ticket t ORDER BY t.id",
    )


def _every_text(ws: Workspace) -> list[tuple[str, str]]:
    """Every text or blob value of every table of the file (FTS shadow tables included)."""
    found: list[tuple[str, str]] = []
    with closing(sqlite3.connect(ws.db_path)) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table.endswith(("_fts", "_vocab")):
                continue  # external-content FTS tables read through their views; the shadow tables are scanned
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        found.append((table, value.decode("utf-8", "replace")))
                    elif isinstance(value, str):
                        found.append((table, value))
    return found


def test_erase_leaves_no_trace_and_keeps_the_statistics(cli: CLI, ws: Workspace, person: dict[str, Any]) -> None:
    before = _statistics(ws)
    with ws.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket_fts WHERE ticket_fts MATCH 'quonkwright'").fetchone()[0]
    refused = cli("customers", "erase", EMAIL)
    assert refused.code == 2 and "--yes" in refused.stderr  # no terminal to ask on
    dry = cli("customers", "erase", EMAIL, "--dry-run")
    assert dry.code == 0 and dry.stdout.startswith(f"would erase {person['customer_id']}: 2 tickets")
    assert dry.stdout.strip().endswith("2 attachments")  # both rows of her message
    assert scalar(ws, "SELECT name FROM customer WHERE id = ?", person["customer_id"]) == NAME

    erased = cli("customers", "erase", PHONE, "--yes")
    assert erased.code == 0, erased.stderr
    assert NAME not in erased.stdout

    leaks = [(t, v[:80]) for t, v in _every_text(ws) for w in WORDS if w.lower() in v.lower()]
    assert leaks == []
    with ws.reading() as connection:
        for word in ("quonkwright", "zyrafina", '"quonk-mail"', "7700900461"):
            for index in ("ticket_fts", "customer_fts"):
                hits = connection.execute(f"SELECT count(*) FROM {index} WHERE {index} MATCH ?", (word,)).fetchone()[0]
                assert hits == 0, (index, word)
    with closing(sqlite3.connect(ws.db_path)) as connection:
        connection.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, ticket_fts, row)")
        connection.execute("CREATE VIRTUAL TABLE temp.names USING fts5vocab(main, customer_fts, row)")
        terms = {r[0] for r in connection.execute("SELECT term FROM temp.words UNION SELECT term FROM temp.names")}
        assert not {"zyrafina", "quonkwright", "quonk", "7700900461", "447700900461"} & terms
        fts.integrity_check(connection)
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw = ws.db_path.read_bytes() + (ws.db_path.with_name("supportdesk.db-wal").read_bytes()
                                     if ws.db_path.with_name("supportdesk.db-wal").exists() else b"")  # fmt: skip
    assert b"Quonkwright" not in raw and EMAIL.encode() not in raw

    passport, terms = person["files"]
    assert not passport.exists() and terms.exists()  # the shared file is still another ticket's

    after = _statistics(ws)
    assert after == before
    assert scalar(ws, "SELECT name FROM customer WHERE id = ?", person["customer_id"]) == "Erased customer"
    assert scalar(ws, "SELECT erased_at FROM customer WHERE id = ?", person["customer_id"]) is not None
    assert (
        scalar(
            ws,
            "SELECT count(*) FROM identity WHERE customer_id IN (?, ?)",
            person["customer_id"],
            person["old_customer"],
        )
        == 0
    )
    assert (
        scalar(ws, "SELECT body FROM message WHERE ticket_id = ? ORDER BY rowid DESC LIMIT 1", person["other"])
        == "(erased)"
    )
    record = _rows(ws, "SELECT mutation, after FROM audit_event WHERE entity = 'customer' AND entity_id = ? "
                       "AND field = 'erased'", person["customer_id"])  # fmt: skip
    assert len(record) == 1 and json.loads(record[0][1])["tickets"] == 2
    assert cli("customers", "erase", person["customer_id"], "--yes").stdout.strip().endswith("was already erased")
    listed = cli("tickets", "list", "--query", f"requester:{EMAIL}", "--json")
    assert json.loads(listed.stdout) == []


def test_only_an_admin_may_erase(cli: CLI, person: dict[str, Any]) -> None:
    assert cli("config", "set", "me", "marcus.oyelaran@brightline.example").code == 0
    refused = cli("customers", "erase", EMAIL, "--yes")
    assert refused.code == 4


def test_show_by_a_name_several_customers_share_lists_them(cli: CLI, ws: Workspace) -> None:
    unique = "FROM customer WHERE name != '' AND merged_into_id IS NULL GROUP BY lower(name) HAVING count(*) = 1"
    first = scalar(ws, f"SELECT min(id) {unique} ORDER BY 1 LIMIT 1")
    name = scalar(ws, "SELECT name FROM customer WHERE id = ?", first)
    shown = json.loads(cli("customers", "show", name.upper(), "--json").stdout)  # one of that name: shown
    assert shown["id"] == first
    second = scalar(ws, "SELECT id FROM customer WHERE id != ? AND merged_into_id IS NULL ORDER BY id LIMIT 1", first)
    address = scalar(ws, "SELECT value FROM identity WHERE customer_id = ? ORDER BY is_primary DESC LIMIT 1", second)
    write.apply(ws, "customer.update", {"customer_id": second, "name": name}, actor=SYSTEM)
    result = cli("customers", "show", name)
    assert result.code == 2, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "2 customers are named" in line
    assert first in line and second in line and address in line
    assert cli("customers", "show", "Nobody Of That Name").code == 3
