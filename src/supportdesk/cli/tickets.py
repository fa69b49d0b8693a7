"""``supportdesk tickets …``: the group, and ``list`` and ``show`` from the local workspace.

Reads use the plain-sqlite3 read path (no ORM import), so a listing starts in a blink. The
commands that change tickets live in :mod:`~supportdesk.cli.ticket_writes` (one ticket, one
mutation) and :mod:`~supportdesk.cli.ticket_bulk` (many tickets, the bulk runner).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, Output, TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.startup import lazy_command
from supportdesk.cli.wiring import command
from supportdesk.store import ticket_fields

if TYPE_CHECKING:
    from supportdesk.store.reads import QueuePlan

app = typer.Typer(help="List, show and change tickets.", no_args_is_help=True)

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


@app.command("list")
@command(LISTING)
def list_tickets(
    session: Session,
    out: Output,
    query: Annotated[
        str, typer.Option("--query", "-q", metavar="QUERY", help="Query language, e.g. 'status:open tag:refund'.")
    ] = "",
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort", metavar="ORDER", help="e.g. updated-desc, created-asc, priority-desc.", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", metavar="N", min=1, help=f"At most N tickets (a table: {TABLE_LIMIT}).", show_default=False
        ),
    ] = None,
) -> None:
    """List tickets matching a query, newest activity first.

    Example: supportdesk tickets list --query 'status:open,pending assignee:me' --plain --fields number,subject
    """
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


@app.command("show")
@command(DOCUMENT)
def show(
    session: Session,
    out: Output,
    ticket: TicketArg,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Start with a summary (four or more messages): the ask, what was tried, the state, who is next.",
        ),
    ] = False,
) -> None:
    """Show one ticket with its whole timeline.

    Example: supportdesk tickets show 1042 --json
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.cli.refs import visible_ticket_id
    from supportdesk.store.reads import ticket_detail

    found = visible_ticket_id(session, ticket)
    with session.workspace().reading() as connection:
        detail = ticket_detail(connection, found)
    if detail is None:
        fail(f"no ticket {ticket}", NOT_FOUND)
    document = detail.as_dict()
    if summary:
        from supportdesk.cli.assist import summary_document

        document["summary"] = summary_document(session, found)
    if out.json:
        out.document(document)
    else:
        typer.echo(ticket_text(document))


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


#: The commands defined in other modules, imported only when run (see supportdesk.cli.startup).
for _name, _spec in (
    ("create", "ticket_writes:create"),
    ("update", "ticket_bulk:update"),
    ("reply", "ticket_writes:reply"),
    ("note", "ticket_writes:note"),
    ("assign", "ticket_bulk:assign"),
    ("tag", "ticket_bulk:tag"),
    ("untag", "ticket_bulk:untag"),
    ("close", "ticket_bulk:close"),
    ("reopen", "ticket_bulk:reopen"),
    ("merge", "ticket_writes:merge"),
    ("link", "ticket_writes:link"),
    ("log-call", "ticket_writes:log_call"),
    ("similar", "assist:similar"),
    ("triage", "assist:triage"),
    ("snooze", "ticket_snooze:snooze"),
    ("unsnooze", "ticket_snooze:unsnooze"),
    ("history", "ticket_history:history"),
    ("time", "ticket_time:time_log"),
    ("attachments", "ticket_attachments:attachments"),
    ("attachment", "ticket_attachments:attachment"),
):
    lazy_command(app, _name, f"supportdesk.cli.{_spec}")
