"""What the REST API answers: tickets, messages, customers, articles and macros as JSON.

Rows are read in their wire form (:func:`supportdesk.server.changes.read_row`: times as UTC
text, JSON columns as objects), the form a sync client already receives, so an integration and
a replica see the same values. Callers check visibility first; these functions only shape rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from supportdesk.server.changes import read_row
from supportdesk.server.versions import current_version
from supportdesk.sync.rows import spec, wire_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.server.apply import Applied

#: The most messages a ticket answer carries (the newest are left out beyond it).
MAX_MESSAGES = 1000


def _rows(connection: Connection, table_name: str, condition: str, params: dict[str, Any], order: str) -> list[Any]:
    table = spec(table_name)
    found = connection.execute(
        text(f"SELECT {', '.join(table.columns)} FROM {table_name} WHERE {condition} ORDER BY {order}"), params
    )
    return [wire_row(table, tuple(values)) for values in found]


def ticket_view(connection: Connection, ticket_id: str, *, messages: bool = True) -> dict[str, Any] | None:
    """A ticket with its tags, its version (the ``ETag``) and, with ``messages``, its timeline."""
    ticket = read_row(connection, "ticket", (ticket_id,))
    if ticket is None:
        return None
    tags = connection.execute(
        text("SELECT tag FROM ticket_tag WHERE ticket_id = :t ORDER BY tag"), {"t": ticket_id}
    ).scalars()
    view = {**ticket, "tags": list(tags), "version": current_version(connection, ticket_id)}
    if messages:
        view["messages"] = _rows(
            connection, "message", "ticket_id = :t", {"t": ticket_id}, f"created_at, id LIMIT {MAX_MESSAGES}"
        )
    return view


def created_view(applied: Sequence[Applied], last_seq: int, ticket_id: str) -> dict[str, Any] | None:
    """:func:`ticket_view` (without messages) of a ticket the write ``applied`` created, from the
    change records it just logged — its row as written, its tags, the seq of its last ``upsert``
    (its version) — instead of three more queries. Only for a ticket that did not exist before
    the write (every change to it is then among these records); None when the records do not
    say it all (no row of it, a tag removed), and the caller reads it."""
    records = [record for done in applied for record in done.records]
    first = last_seq - len(records) + 1
    ticket: dict[str, Any] | None = None
    version = 0
    tags: set[str] = set()
    for index, record in enumerate(records):
        if record.entity_id != ticket_id:
            continue
        if record.entity == "ticket" and record.op == "upsert":
            ticket, version = record.data, first + index
        elif record.entity == "ticket_tag" and record.op == "upsert" and "tag" in record.data:
            tags.add(str(record.data["tag"]))
        elif record.entity in ("ticket", "ticket_tag"):
            return None  # a removal, a move, an erasure: read what stands
    if ticket is None or last_seq <= 0:
        return None
    return {**ticket, "tags": sorted(tags), "version": version}


def message_view(connection: Connection, message_id: str) -> dict[str, Any] | None:
    return read_row(connection, "message", (message_id,))


def customer_view(connection: Connection, customer_id: str) -> dict[str, Any] | None:
    """A customer with their addresses (email, phone, chat and social identities)."""
    customer = read_row(connection, "customer", (customer_id,))
    if customer is None:
        return None
    identities = _rows(connection, "identity", "customer_id = :c", {"c": customer_id}, "kind, value")
    customer["identities"] = [
        {"id": row["id"], "kind": row["kind"], "value": row["value"], "primary": row["is_primary"]}
        for row in identities
    ]
    return customer


def article_view(connection: Connection, article_id: str) -> dict[str, Any] | None:
    article = read_row(connection, "kb_article", (article_id,))
    if article is not None:
        article["tags"] = [tag for tag in str(article.get("tags") or "").split(",") if tag]
    return article


def macro_view(connection: Connection, macro_id: str) -> dict[str, Any] | None:
    return read_row(connection, "macro", (macro_id,))
