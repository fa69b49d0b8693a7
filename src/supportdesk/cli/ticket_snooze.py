"""``tickets snooze`` and ``tickets unsnooze``: a ticket out of the worklists until a time.

The time is typed as an agent says it (``3d``, ``tomorrow 9:00``, ``mon``: see
:mod:`supportdesk.domain.when`); the change is the synced, audited ``ticket.snooze`` /
``ticket.unsnooze`` (:mod:`supportdesk.domain.mutations.snooze`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.options import TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command
from supportdesk.cli.writes import apply_one


@command()
def snooze(
    session: Session,
    ticket: TicketArg,
    until: Annotated[
        str,
        typer.Option(
            "--until",
            "-u",
            metavar="WHEN",
            help="3d, 2h, tomorrow 9:00, mon, friday 14:00, 17:30, 2026-12-24 (your local time).",
        ),
    ],
) -> None:
    """Snooze a ticket: out of every worklist until then, back on top when the time comes.

    A message from the customer wakes it at once; is:snoozed finds snoozed tickets.

    Example: supportdesk tickets snooze 1042 --until 'tomorrow 9:00'
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import fail
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.when import parse_until

    ticket_id = refs.ticket_id(session, ticket)
    try:
        instant = parse_until(until)
    except DomainError as error:
        fail(error.message)
    apply_one(session, "ticket.snooze", {"ticket_id": ticket_id, "until": instant})
    local = instant.astimezone()
    typer.echo(f"snoozed {refs.ticket_label(session, ticket_id)} until {local:%a %Y-%m-%d %H:%M}")


@command()
def unsnooze(session: Session, ticket: TicketArg) -> None:
    """Bring a snoozed ticket back into the worklists now.

    Example: supportdesk tickets unsnooze 1042
    """
    from supportdesk.cli import refs

    ticket_id = refs.ticket_id(session, ticket)
    apply_one(session, "ticket.unsnooze", {"ticket_id": ticket_id})
    typer.echo(f"{refs.ticket_label(session, ticket_id)} is back in the worklists")
