"""``tickets list`` and ``tickets show``: what they read and print, without typer.

The typer commands (:mod:`supportdesk.cli.tickets`) and the fast path that answers the commonest
read lines before typer is imported (:mod:`supportdesk.cli.fast_reads`) both call these, so the
two print the same bytes. Reads use the plain-sqlite3 read path (no ORM import), and an agent
sees only the tickets the README says they may (:mod:`supportdesk.store.viewer`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from supportdesk.store import ticket_fields

if TYPE_CHECKING:
    from supportdesk.cli.output_flags import Output
    from supportdesk.cli.session import Session
    from supportdesk.store.reads import QueuePlan

LIST_FIELDS = (
    "number",
    "subject",
    "status",
    "priority",
    "type",
    "group",
    "assignee",
    "requester",
    "channel",
    "tags",
    "created_at",
    "updated_at",
    "id",
    *(f.name for f in ticket_fields.plain_fields()),
)
DEFAULT_TABLE_FIELDS = (
    "number",
    "subject",
    "requester",
    "status",
    "priority",
    "assignee",
    "group",
    "updated_at",
)
#: A table on a terminal stops here unless --limit says otherwise.
TABLE_LIMIT = 200


def iter_tickets(session: Session, plan: QueuePlan, limit: int | None, with_tags: bool) -> Iterator[dict[str, Any]]:
    """The tickets of ``plan`` page by page (500 rows a query), never the whole result at once."""
    from supportdesk.store import reads

    remaining = limit
    with session.workspace().reading() as connection:
        cursor = None
        while remaining is None or remaining > 0:
            size = 500 if remaining is None else min(500, remaining)
            page = reads.queue_page(connection, plan, after=cursor, limit=size)
            rows = [row.as_dict() for row in page.rows]
            if with_tags:
                tags = reads.tags_for(connection, [r["id"] for r in rows])
                for record in rows:
                    record["tags"] = tags[record["id"]]
            yield from rows
            if remaining is not None:
                remaining -= len(rows)
            if not page.more:
                break
            cursor = page.rows[-1].cursor


def list_tickets(
    session: Session, out: Output, query: str = "", sort: str | None = None, limit: int | None = None
) -> None:
    """The body of ``tickets list`` (see :func:`supportdesk.cli.tickets.list_tickets`)."""
    from supportdesk.store.query import SORTS
    from supportdesk.store.reads import plan_queue

    if sort is not None and sort not in SORTS:
        from supportdesk.cli.errors import fail

        fail(f"{sort!r} is not a sort: choose one of {', '.join(SORTS)}")
    chosen = out.columns(LIST_FIELDS, table=DEFAULT_TABLE_FIELDS)
    if out.table and limit is None:
        limit = TABLE_LIMIT
    # a bad query fails before any output; an agent lists only the tickets they may see
    plan = plan_queue(query, me=session.me(), sort=sort, viewer=session.viewer())
    out.records(iter_tickets(session, plan, limit, with_tags="tags" in chosen), chosen)


def show(session: Session, out: Output, ticket: str, summary: bool = False) -> None:
    """The body of ``tickets show`` (see :func:`supportdesk.cli.tickets.show`)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.cli.refs import visible_ticket_id
    from supportdesk.store.reads import ticket_detail

    found = visible_ticket_id(session, ticket)
    with session.workspace().reading() as connection:
        detail = ticket_detail(connection, found)
    if detail is None:
        fail(f"no ticket {ticket}", NOT_FOUND)
    document = detail.as_dict()
    from supportdesk.assist.merge_hints import merge_suggestion

    document["merge_suggestion"] = merge_suggestion(document, document["messages"])
    if summary:
        from supportdesk.cli.assist import summary_document

        document["summary"] = summary_document(session, found)
    if out.json:
        out.document(document)
    else:
        echo(ticket_text(document))


def echo(text: str) -> None:
    """``text`` and a newline on stdout, as ``typer.echo`` prints it (which strips colour codes
    when stdout is no terminal): the text is made safe first, so only an escape left in it would
    differ, and that one line goes to typer itself."""
    if "\x1b" in text:
        import typer

        typer.echo(text)
        return
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def message_kind(message: dict[str, Any]) -> str:
    """How a message's line names it: a logged call goes the way the call went (an agent logs an
    inbound call too, so the author's side is not the call's direction)."""
    call = (message.get("meta") or {}).get("call")
    if isinstance(call, dict) and call.get("direction") in ("inbound", "outbound"):
        kind = f"{call['direction']} call"
        return kind if message["visibility"] != "internal" else f"{kind} (internal)"
    return "internal note" if message["visibility"] == "internal" else str(message["direction"])


def ticket_text(document: dict[str, Any]) -> str:
    """A ticket and its timeline as people read it in a terminal."""
    from supportdesk.cli.output import cell, safe

    doc = safe(document)
    number = f"#{doc['number']}" if doc["number"] else doc["id"]
    lines = [
        f"{number}  {cell(doc['subject'])}",
        f"status {doc['status']} · priority {doc['priority']} · type {doc['type']} · "
        f"group {doc['group'] or '—'} · assignee {doc['assignee'] or '—'}",
        f"requester {cell(doc['requester'])}"
        + (f" <{doc['requester_email']}>" if doc["requester_email"] else "")
        + (f" · {cell(doc['organization'])}" if doc["organization"] else ""),
        f"channel {doc['channel']} · tags {', '.join(doc['tags']) or '—'} · "
        f"created {doc['created_at']} · updated {doc['updated_at']}",
    ]
    if doc.get("merge_suggestion"):
        hint = doc["merge_suggestion"]
        named = f"#{hint['number']}" if hint["number"] else hint["ticket_id"]
        lines.append(f"possible duplicate of {named} (merge: {hint['command']})")
    if doc.get("snoozed_until"):
        lines.append(f"snoozed until {doc['snoozed_until']} (tickets unsnooze {doc['number'] or doc['id']})")
    lines += [
        "",
    ]
    if "summary" in doc:
        summary = doc["summary"]
        lines[-1:-1] = ["", "Summary", summary["text"] if summary else "(fewer than four messages: no summary)"]
    for message in doc["messages"]:
        kind = message_kind(message)
        lines.append(f"── {message['created_at']} · {message['channel']} · {kind} · {cell(message['author'])}")
        lines.append(message["body"])
        lines.append("")
    return "\n".join(lines)
