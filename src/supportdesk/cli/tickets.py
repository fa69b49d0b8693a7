"""``supportdesk tickets …``: list and show tickets from the local workspace.

Reads use the plain-sqlite3 read path (no ORM import), so a listing starts in a blink.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supportdesk.cli import ticket_bulk, ticket_writes
from supportdesk.cli.options import CsvOpt, FieldsOpt, JsonlOpt, JsonOpt, NoHeadersOpt, PlainOpt
from supportdesk.cli.state import STATE
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


def _iter_tickets(plan: QueuePlan, limit: int | None, with_tags: bool) -> Iterator[dict[str, Any]]:
    from supportdesk.store import reads

    workspace = STATE.workspace()
    remaining = limit
    with workspace.reading() as connection:
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
def list_tickets(
    query: Annotated[str, typer.Option("--query", "-q", help="Query language, e.g. 'status:open tag:refund'.")] = "",
    sort: Annotated[str | None, typer.Option("--sort", help="e.g. updated-desc, created-asc, priority-desc.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many tickets.")] = None,
    json_: JsonOpt = False,
    jsonl: JsonlOpt = False,
    csv_: CsvOpt = False,
    plain: PlainOpt = False,
    fields: FieldsOpt = None,
    no_headers: NoHeadersOpt = False,
) -> None:
    """List tickets matching a query, newest activity first.

    Example: supportdesk tickets list --query 'status:open,pending assignee:me' --plain --fields number,subject
    """
    from supportdesk.cli.output import Format, choose_format, emit_records, parse_fields
    from supportdesk.store.query import SORTS

    if sort is not None and sort not in SORTS:
        from supportdesk.cli.errors import fail

        fail(f"{sort!r} is not a sort: choose one of {', '.join(SORTS)}")
    fmt = choose_format(json_=json_, jsonl=jsonl, csv_=csv_, plain=plain)
    default = DEFAULT_TABLE_FIELDS if fmt == Format.TABLE else LIST_FIELDS
    chosen = parse_fields(fields, default, LIST_FIELDS)
    if fmt == Format.TABLE and limit is None:
        limit = 200
    from supportdesk.store.reads import plan_queue

    plan = plan_queue(query, me=STATE.me(), sort=sort)  # a bad query fails before any output
    records = _iter_tickets(plan, limit, with_tags="tags" in chosen)
    emit_records(records, chosen, fmt, headers=not no_headers, title=None)


def resolve(ref: str) -> str:
    """A ticket id from a number (``1042``/``#1042``), an id or an id prefix; exit 3 if none."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.reads import resolve_ticket

    with STATE.workspace().reading() as connection:
        ticket_id = resolve_ticket(connection, ref)
    if ticket_id is None:
        fail(f"no ticket {ref}", NOT_FOUND)
    return ticket_id


@app.command("show")
def show(
    ticket: Annotated[str, typer.Argument(help="Ticket number (1042 or #1042) or id.")],
    json_: JsonOpt = False,
) -> None:
    """Show one ticket with its whole timeline.

    Example: supportdesk tickets show 1042 --json
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.cli.output import emit_document
    from supportdesk.store.reads import ticket_detail

    ticket_id = resolve(ticket)
    with STATE.workspace().reading() as connection:
        detail = ticket_detail(connection, ticket_id)
    if detail is None:
        fail(f"no ticket {ticket}", NOT_FOUND)
    document = detail.as_dict()
    if json_:
        emit_document(document)
        return
    _print_ticket(document)


def _print_ticket(document: dict[str, Any]) -> None:
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
        "",
    ]
    for message in doc["messages"]:
        kind = "internal note" if message["visibility"] == "internal" else message["direction"]
        lines.append(f"── {message['created_at']} · {message['channel']} · {kind} · {cell(message['author'])}")
        lines.append(message["body"])
        lines.append("")
    typer.echo("\n".join(lines))


app.command("create")(ticket_writes.create)
app.command("update")(ticket_bulk.update)
app.command("reply")(ticket_writes.reply)
app.command("note")(ticket_writes.note)
app.command("assign")(ticket_bulk.assign)
app.command("tag")(ticket_bulk.tag)
app.command("untag")(ticket_bulk.untag)
app.command("close")(ticket_bulk.close)
app.command("reopen")(ticket_bulk.reopen)
app.command("merge")(ticket_writes.merge)
app.command("link")(ticket_writes.link)
app.command("log-call")(ticket_writes.log_call)
