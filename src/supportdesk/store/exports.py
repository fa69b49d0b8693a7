"""Whole tickets as plain records, for ``supportdesk export`` and a customer's data request.

A record holds everything needed to make the ticket again elsewhere, with the same ids,
number and times: the ticket's own columns, its tags, every message (with attachment
metadata), and the customers, agents and group it names. Times keep their microseconds
(``2026-11-25T12:00:00.123456Z``) so an export, imported and exported again, is the same file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from supportdesk.store import ticket_fields
from supportdesk.store.selection import PAGE

#: The ticket's own columns, as the ticket field table lists them for exports (its order).
TICKET_COLUMNS = ticket_fields.columns(export=True)
MESSAGE_COLUMNS = (
    "id",
    "channel",
    "direction",
    "public",
    "author_kind",
    "author_agent_id",
    "author_customer_id",
    "body",
    "meta",
    "created_at",
)
_TIMES = frozenset({*(f.store_column for f in ticket_fields.FIELDS if f.kind == "time"), "erased_at"})


def export_time(stored: str | None) -> str | None:
    """A stored time (``2026-11-25 12:00:00.123456``) as ISO 8601 UTC with its microseconds."""
    if stored is None:
        return None
    date, _, clock = stored.partition(" ")
    if not clock:
        return stored
    if "." not in clock:
        clock += ".000000"
    return f"{date}T{clock}Z"


def _plain(row: sqlite3.Row, columns: Iterable[str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name in columns:
        value = row[name]
        if name in _TIMES:
            value = export_time(value)
        elif name in ("fields", "meta"):
            value = json.loads(value) if value else {}
        elif name == "public":
            value = bool(value)
        record[name] = value
    return record


def _in(connection: sqlite3.Connection, sql: str, ids: list[str]) -> list[sqlite3.Row]:
    """Run ``sql`` (with one ``IN ({marks})``) over ``ids`` in chunks SQLite accepts."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(ids), PAGE):
        chunk = ids[start : start + PAGE]
        rows.extend(connection.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall())
    return rows


def customer_records(connection: sqlite3.Connection, customer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Customers with their organization and every address, by id."""
    customers: dict[str, dict[str, Any]] = {}
    organizations: dict[str, str] = {}
    for row in _in(connection, "SELECT * FROM customer WHERE id IN ({marks})", customer_ids):
        record = _plain(row, ("id", "name", "locale", "notes"))
        record["organization"] = row["organization_id"]
        record["identities"] = []
        record.update(_plain(row, ("erased_at", "created_at", "updated_at")))
        customers[row["id"]] = record
        if row["organization_id"]:
            organizations[row["id"]] = row["organization_id"]
    found = {
        row["id"]: {"id": row["id"], "name": row["name"], "domain": row["domain"]}
        for row in _in(
            connection,
            "SELECT id, name, domain FROM organization WHERE id IN ({marks})",
            sorted(set(organizations.values())),
        )
    }
    for customer_id, organization_id in organizations.items():
        customers[customer_id]["organization"] = found.get(organization_id)
    for row in _in(
        connection,
        "SELECT * FROM identity WHERE customer_id IN ({marks}) ORDER BY rowid",
        list(customers),
    ):
        identity = _plain(row, ("id", "kind", "value"))
        identity["is_primary"] = bool(row["is_primary"])
        identity["created_at"] = export_time(row["created_at"])
        customers[row["customer_id"]]["identities"].append(identity)
    return customers


def ticket_records(connection: sqlite3.Connection, ticket_ids: list[str]) -> list[dict[str, Any]]:
    """Full records of ``ticket_ids``, in the order given (ids that do not exist are left out)."""
    tickets = {
        row["id"]: _plain(row, TICKET_COLUMNS)
        for row in _in(connection, "SELECT * FROM ticket WHERE id IN ({marks})", ticket_ids)
    }
    if not tickets:
        return []
    present = list(tickets)
    for record in tickets.values():
        record["tags"] = []
        record["messages"] = []
    for row in _in(
        connection, "SELECT ticket_id, tag FROM ticket_tag WHERE ticket_id IN ({marks}) ORDER BY tag", present
    ):
        tickets[row[0]]["tags"].append(row[1])
    messages: dict[str, dict[str, Any]] = {}
    for row in _in(
        connection,
        "SELECT * FROM message WHERE ticket_id IN ({marks}) ORDER BY ticket_id, created_at, rowid",
        present,
    ):
        message = _plain(row, MESSAGE_COLUMNS)
        message["attachments"] = []
        messages[row["id"]] = message
        tickets[row["ticket_id"]]["messages"].append(message)
    for row in _in(
        connection,
        "SELECT id, message_id, filename, size, content_type, sha256, created_at FROM attachment "
        "WHERE message_id IN ({marks}) ORDER BY rowid",
        list(messages),
    ):
        messages[row["message_id"]]["attachments"].append(
            _plain(row, ("id", "filename", "size", "content_type", "sha256", "created_at"))
        )
    _attach_people(connection, list(tickets.values()))
    return [tickets[ticket_id] for ticket_id in ticket_ids if ticket_id in tickets]


def _attach_people(connection: sqlite3.Connection, records: list[dict[str, Any]]) -> None:
    """Give each record the customers, agents and group it names (repeated per ticket, so a
    record stands on its own)."""
    customer_ids: set[str] = set()
    agent_ids: set[str] = set()
    group_ids: set[str] = set()
    for record in records:
        customer_ids.add(record["requester_id"])
        customer_ids.update(m["author_customer_id"] for m in record["messages"] if m["author_customer_id"])
        agent_ids.update(m["author_agent_id"] for m in record["messages"] if m["author_agent_id"])
        if record["assignee_id"]:
            agent_ids.add(record["assignee_id"])
        if record["group_id"]:
            group_ids.add(record["group_id"])
    customers = customer_records(connection, sorted(customer_ids))
    agents = {
        row["id"]: {"id": row["id"], "name": row["name"], "email": row["email"], "role": row["role"]}
        for row in _in(connection, "SELECT id, name, email, role FROM agent WHERE id IN ({marks})", sorted(agent_ids))
    }
    groups = {
        row["id"]: {"id": row["id"], "name": row["name"], "email": row["email"]}
        for row in _in(connection, "SELECT id, name, email FROM groups WHERE id IN ({marks})", sorted(group_ids))
    }
    for record in records:
        named_customers = [record["requester_id"]]
        named_agents = [record["assignee_id"]] if record["assignee_id"] else []
        for message in record["messages"]:
            if message["author_customer_id"] and message["author_customer_id"] not in named_customers:
                named_customers.append(message["author_customer_id"])
            if message["author_agent_id"] and message["author_agent_id"] not in named_agents:
                named_agents.append(message["author_agent_id"])
        record["customers"] = [customers[c] for c in named_customers if c in customers]
        record["agents"] = [agents[a] for a in named_agents if a in agents]
        record["groups"] = [groups[record["group_id"]]] if record["group_id"] in groups else []


def customer_ticket_ids(connection: sqlite3.Connection, customer_id: str) -> list[str]:
    """Every ticket a customer asked for or wrote in, oldest first."""
    return [
        row[0]
        for row in connection.execute(
            "SELECT id FROM ticket WHERE requester_id = ? OR id IN "
            "(SELECT ticket_id FROM message WHERE author_customer_id = ?) ORDER BY created_at, id",
            (customer_id, customer_id),
        )
    ]
