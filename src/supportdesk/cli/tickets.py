"""``supportdesk tickets …``: the group, and ``list`` and ``show`` from the local workspace.

``list`` and ``show`` are declared here and done in :mod:`~supportdesk.cli.ticket_reads` (no
typer there, so the fast path of :mod:`~supportdesk.cli.fast_reads` runs the same code). The
commands that change tickets live in :mod:`~supportdesk.cli.ticket_writes` (one ticket, one
mutation) and :mod:`~supportdesk.cli.ticket_bulk` (many tickets, the bulk runner), imported only
when they run.
"""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, Output, TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.startup import lazy_command
from supportdesk.cli.ticket_reads import DEFAULT_TABLE_FIELDS as DEFAULT_TABLE_FIELDS
from supportdesk.cli.ticket_reads import LIST_FIELDS as LIST_FIELDS
from supportdesk.cli.ticket_reads import TABLE_LIMIT, iter_tickets
from supportdesk.cli.ticket_reads import message_kind as message_kind
from supportdesk.cli.ticket_reads import ticket_text as ticket_text
from supportdesk.cli.wiring import command

__all__ = ["DEFAULT_TABLE_FIELDS", "LIST_FIELDS", "app", "iter_tickets", "message_kind", "ticket_text"]

app = typer.Typer(help="List, show and change tickets.", no_args_is_help=True)


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
    from supportdesk.cli import ticket_reads

    ticket_reads.list_tickets(session, out, query, sort, limit)


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
    from supportdesk.cli import ticket_reads

    ticket_reads.show(session, out, ticket, summary)


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
