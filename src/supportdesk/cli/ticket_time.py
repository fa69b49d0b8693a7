"""``tickets time N``: log, list, correct and delete the time agents spent on a ticket by hand.

``tickets time 1042 15m --note 'call with Kim'`` logs; ``--list`` (or no time) lists the entries
with the logged and the measured handle time; ``--correct 2 20m`` and ``--delete 2`` change
entry 2 of the listing. Each change is a synced, audited mutation (``ticket.log_time``,
``time.correct``, ``time.delete``: :mod:`supportdesk.domain.mutations.time_entries`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.options import DOCUMENT, Output, TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command
from supportdesk.cli.writes import apply_one


@command(DOCUMENT)
def time_log(
    session: Session,
    out: Output,
    ticket: TicketArg,
    spent: Annotated[
        str | None,
        typer.Argument(
            metavar="TIME", help="Time spent: 15m, 1h30m, 2h or 1:15 (whole minutes, at most 12h).", show_default=False
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", "-n", help="What the time was for.", show_default=False)] = None,
    listing: Annotated[bool, typer.Option("--list", "-l", help="List the ticket's time entries and totals.")] = False,
    correct: Annotated[
        str | None,
        typer.Option(
            "--correct",
            metavar="ENTRY",
            help="Correct entry ENTRY (its number in --list) to TIME and/or --note.",
            show_default=False,
        ),
    ] = None,
    delete: Annotated[
        str | None,
        typer.Option(
            "--delete", metavar="ENTRY", help="Delete entry ENTRY (its number in --list).", show_default=False
        ),
    ] = None,
) -> None:
    """Log time spent on a ticket, or list, correct or delete its entries (--json: the listing).

    Reports count logged time beside the handle time the console measures.

    List with --list (or no TIME); correct entry 2 with --correct 2 20m, delete it with --delete 2.

    Example: supportdesk tickets time 1042 15m --note 'call with Kim'
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.time_log import parse_minutes, shown
    from supportdesk.store.time_entries import find_entry, ticket_time

    if correct is not None and delete is not None:
        fail("give --correct or --delete, not both")
    ticket_id = refs.ticket_id(session, ticket)
    label = refs.ticket_label(session, ticket_id)
    seconds = None
    if spent is not None:
        try:
            seconds = parse_minutes(spent)
        except DomainError as error:
            fail(error.message)
    if correct is not None or delete is not None:
        with session.workspace().reading() as connection:
            entries = ticket_time(connection, ticket_id).entries
        ref = correct if correct is not None else delete
        assert ref is not None
        entry = find_entry(entries, ref)
        if entry is None:
            fail(f"{label} has no time entry {ref} (see tickets time {ticket} --list)", NOT_FOUND)
        if delete is not None:
            if spent is not None or note is not None:
                fail("--delete takes no time and no --note")
            apply_one(session, "time.delete", {"entry_id": entry.id})
            typer.echo(f"deleted entry {entry.position} of {label} ({shown(entry.seconds)})")
            return
        if seconds is None and note is None:
            fail("say what to correct: a TIME, a --note or both")
        args: dict[str, object] = {"entry_id": entry.id}
        if seconds is not None:
            args["seconds"] = seconds
        if note is not None:
            args["note"] = note
        apply_one(session, "time.correct", args)
        typer.echo(f"corrected entry {entry.position} of {label}: {shown(seconds or entry.seconds)}")
        return
    if seconds is not None and not listing:
        apply_one(session, "ticket.log_time", {"ticket_id": ticket_id, "seconds": seconds, "note": note or ""})
        typer.echo(f"logged {shown(seconds)} on {label}")
        return
    if note is not None and seconds is None:
        fail("--note goes with a TIME to log (or --correct ENTRY)")
    _list(session, out, ticket_id, label)


def _list(session: Session, out: Output, ticket_id: str, label: str) -> None:
    from supportdesk.cli.output import cell, safe
    from supportdesk.domain.time_log import shown
    from supportdesk.store.time_entries import ticket_time

    with session.workspace().reading() as connection:
        found = ticket_time(connection, ticket_id)
    if out.json:
        out.document({"ticket": label, **found.as_dict()})
        return
    for entry in found.entries:
        when = f"{entry.at.astimezone():%Y-%m-%d %H:%M}"
        typer.echo(f"{entry.position:>3}  {when}  {cell(safe(entry.agent)):<20} {shown(entry.seconds):>7}  "
                   f"{cell(safe(entry.note))}")  # fmt: skip
    typer.echo(
        f"{label}: logged {shown(found.logged_s)}, handle time {shown(found.handle_s)}, "
        f"total {shown(found.logged_s + found.handle_s)}"
    )
