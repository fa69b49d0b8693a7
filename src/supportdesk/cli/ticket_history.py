"""``tickets history N``: the ticket's audit trail — who changed what, when, from where."""

from __future__ import annotations

import typer

from supportdesk.cli.options import DOCUMENT, Output, TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command


@command(DOCUMENT)
def history(session: Session, out: Output, ticket: TicketArg) -> None:
    """Show who changed what on a ticket, when, and from where (console, cli, rule, mail, bot…).

    Bulk changes say bulk; a rule's change names the rule. --json gives every change with its
    values as stored.

    Example: supportdesk tickets history 1042 --json
    """
    from supportdesk.cli.output import cell, safe
    from supportdesk.cli.refs import visible_ticket_id
    from supportdesk.store.history import ticket_history

    found = visible_ticket_id(session, ticket)
    with session.workspace().reading() as connection:
        changes = ticket_history(connection, found)
    if out.json:
        out.document([change.as_dict() for change in changes])
        return
    for change in changes:
        when = f"{change.at.astimezone():%Y-%m-%d %H:%M}"
        typer.echo(f"{when}  {cell(safe(change.who)):<20} {change.source:<8} {cell(safe(change.text()))}")
