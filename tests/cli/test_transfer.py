"""Export and import: the round trip reproduces the data exactly; Zendesk's export comes in."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from supportdesk.cli.ticket_files import CSV_FIELD_LIMIT
from supportdesk.cli.transfer import count_tickets
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI

ZENDESK_SAMPLE = Path(__file__).parent / "data" / "zendesk_export.jsonl"

COMPARED = {
    "ticket": "SELECT id, number, subject, status, priority, type, channel, group_id, assignee_id, requester_id, "
    "problem_id, merged_into_id, follow_up_of_id, fields, created_at, updated_at, first_response_at, solved_at "
    "FROM ticket ORDER BY id",
    "message": "SELECT id, ticket_id, channel, direction, public, author_kind, author_agent_id, author_customer_id, "
    "body, meta, created_at FROM message ORDER BY ticket_id, created_at, rowid",
    "ticket_tag": "SELECT ticket_id, tag FROM ticket_tag ORDER BY ticket_id, tag",
    "customer": "SELECT id, name, organization_id, notes, locale, erased_at, created_at, updated_at FROM customer "
    "WHERE id IN (SELECT requester_id FROM ticket UNION SELECT author_customer_id FROM message) ORDER BY id",
    "identity": "SELECT id, customer_id, kind, value, is_primary, created_at FROM identity WHERE customer_id IN "
    "(SELECT requester_id FROM ticket UNION SELECT author_customer_id FROM message) ORDER BY id",
    "organization": "SELECT id, name, domain FROM organization WHERE id IN (SELECT organization_id FROM customer "
    "WHERE id IN (SELECT requester_id FROM ticket)) ORDER BY id",
}


def table(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    with ws.reading() as connection:
        return [tuple(row) for row in connection.execute(sql)]


def test_jsonl_round_trip_is_exact(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    exported = cli("export", "-o", str(first))
    assert exported.code == 0, exported.stderr
    records = [json.loads(line) for line in first.read_text().splitlines()]
    assert len(records) == table(ws, "SELECT count(*) FROM ticket")[0][0]
    assert {"id", "number", "messages", "customers", "agents", "groups", "tags"} <= set(records[0])
    assert count_tickets(first, csv_rows=False) == len(records)  # the progress bar's total
    target = tmp_path / "empty"
    imported = cli("import", str(first), workspace=target)
    assert imported.code == 0, imported.stderr
    assert imported.stdout.startswith(f"imported {len(records):,} tickets")
    second = tmp_path / "second.jsonl"
    assert cli("export", "-o", str(second), workspace=target).code == 0
    assert second.read_bytes() == first.read_bytes()
    copy = Workspace.open(target)
    try:
        for name, sql in COMPARED.items():
            assert table(copy, sql) == table(ws, sql), name
        rerun = cli("import", str(first), workspace=target)
        assert (
            rerun.code == 0
            and rerun.stdout.strip() == f"imported 0 tickets (0 messages), {len(records):,} already here"
        )
        # a ticket created afterwards does not collide with an imported number
        fresh = cli("tickets", "create", "-s", "After import", "-r", "late@example.com", "-b", "x", workspace=target)
        number = table(copy, f"SELECT number FROM ticket WHERE id = '{fresh.stdout.strip()}'")[0][0]
        assert number == max(r["number"] for r in records) + 1
    finally:
        copy.close()


def test_csv_round_trip_is_exact(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    number = table(ws, "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1")[0][0]
    for subject in ('=HYPERLINK("http://evil.example")', "'quoted on purpose", "-5 degrees, +2 later"):
        assert cli("tickets", "create", "-s", subject, "-r", "formula@example.com", "-b", "=1+2\n\tindented").code == 0
    assert cli("tickets", "reply", str(number), "--body", 'line one\nline two, with "quotes"\n').code == 0
    first = tmp_path / "first.csv"
    assert cli("export", "--csv", "-o", str(first)).code == 0
    csv.field_size_limit(CSV_FIELD_LIMIT)
    rows = list(csv.reader(io.StringIO(first.read_text())))
    assert rows[0][:3] == ["id", "number", "subject"] and "message_body" in rows[0]
    assert len(rows) - 1 == table(ws, "SELECT count(*) FROM message")[0][0]
    assert count_tickets(first, csv_rows=True) == table(ws, "SELECT count(DISTINCT ticket_id) FROM message")[0][0]
    assert count_tickets(tmp_path / "missing.csv", csv_rows=True) is None
    assert not any(cell and cell[0] in "=+-@" for row in rows[1:] for cell in row if not _number(cell))
    target = tmp_path / "empty"
    imported = cli("import", str(first), workspace=target)
    assert imported.code == 0, imported.stderr
    second = tmp_path / "second.csv"
    assert cli("export", "--csv", "-o", str(second), workspace=target).code == 0
    assert second.read_bytes() == first.read_bytes()
    copy = Workspace.open(target)
    try:
        for name, sql in COMPARED.items():
            assert table(copy, sql) == table(ws, sql), name
    finally:
        copy.close()


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_import_refuses_what_it_cannot_read(cli: CLI, tmp_path: Path) -> None:
    assert cli("import", str(tmp_path / "missing.jsonl")).code == 3
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n")
    result = cli("import", str(garbage))
    assert result.code == 2 and "line 1" in result.stderr
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"id": "x", "subject": "no requester", "created_at": "2026-01-01T00:00:00Z"}) + "\n")
    refused = cli("import", str(wrong))
    assert refused.code == 1 and "requester_id" in refused.stderr
    assert cli("import", str(garbage), "--from", "elsewhere").code == 2


def test_zendesk_import_maps_the_documented_fields(cli: CLI, tmp_path: Path) -> None:
    target = tmp_path / "from-zendesk"
    result = cli("import", "--from", "zendesk", str(ZENDESK_SAMPLE), workspace=target)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "imported 3 tickets (6 messages), 2 agents and 2 groups added"
    listed = {t["number"]: t for t in json.loads(cli("tickets", "list", "--json", workspace=target).stdout)}
    assert set(listed) == {4101, 4102, 4103}  # the deleted ticket stays out
    invoice, export_limit, problem = listed[4101], listed[4102], listed[4103]
    assert (invoice["status"], invoice["priority"], invoice["type"], invoice["channel"]) == (
        "solved", "high", "incident", "email",
    )  # fmt: skip
    assert (export_limit["status"], export_limit["priority"], export_limit["type"]) == ("on_hold", "normal", "question")
    assert invoice["group"] == "Billing desk" and invoice["assignee"] == "Ines Carvalho"
    assert invoice["tags"] == ["billing", "vat"] and invoice["created_at"] == "2025-03-03T08:15:00Z"
    shown = json.loads(cli("tickets", "show", "4101", "--json", workspace=target).stdout)
    assert shown["requester"] == "Lena Brandt" and shown["requester_email"] == "lena.brandt@kestrel.example"
    assert shown["organization"] == "Kestrel Logistik GmbH"
    assert [(m["direction"], m["visibility"], m["author"]) for m in shown["messages"]] == [
        ("inbound", "public", "Lena Brandt"),
        ("outbound", "internal", "Ines Carvalho"),
        ("outbound", "public", "Ines Carvalho"),
    ]
    assert "\x1b" not in shown["messages"][2]["body"] and "⟨U+001B⟩" in shown["messages"][2]["body"]
    assert shown["fields"]["external_id"] == "ORD-88812" and shown["fields"]["zendesk_field_360001"] == "invoice"
    assert shown["problem_id"] == problem["id"]  # linked after the problem ticket arrived
    assert shown["solved_at"] == "2025-03-04T16:40:12Z" and shown["first_response_at"] == "2025-03-04T16:40:12Z"
    assert shown["messages"][0]["meta"]["zendesk"]["attachments"][0]["file_name"] == "invoice-2025-03.pdf"
    hold = json.loads(cli("tickets", "show", "4102", "--json", workspace=target).stdout)
    assert hold["fields"]["zendesk_field_360003"] == "csv,large"
    customer = json.loads(cli("customers", "show", "+49 30 901820", "--json", workspace=target).stdout)
    assert customer["name"] == "Lena Brandt" and customer["locale"] == "de"
    rerun = cli("import", "--from", "zendesk", str(ZENDESK_SAMPLE), workspace=target)
    assert rerun.stdout.strip() == "imported 0 tickets (0 messages), 3 already here"


def test_zendesk_import_refuses_a_file_that_is_not_an_export(cli: CLI, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2, 3]")
    result = cli("import", "--from", "zendesk", str(bad))
    assert result.code == 2 and "JSON object" in result.stderr
