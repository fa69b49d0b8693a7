"""``supportdesk tickets create | reply | note | merge | link | log-call``: one ticket at a time.

Each command is one named mutation applied to the local workspace; on a synced workspace it
reaches the server with the next sync (a new ticket has its id at once, its number after).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, BodyFileOpt, BodyOpt, Output, TicketArg, YesOpt
from supportdesk.cli.session import Session
from supportdesk.cli.ticket_attachments import AttachOpt, kept_only_if_written, staged
from supportdesk.cli.wiring import command
from supportdesk.cli.writes import apply_one


@command(DOCUMENT)
def create(
    session: Session,
    out: Output,
    subject: Annotated[str, typer.Option("--subject", "-s", metavar="TEXT", help="The ticket's subject.")],
    requester: Annotated[
        str,
        typer.Option(
            "--requester",
            "-r",
            metavar="ADDRESS",
            help="The customer: an email, phone number, handle or customer id.",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="The requester's name, if they are new.", show_default=False),
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", metavar="CHANNEL", help="email, chat, phone, social or web.")
    ] = "email",
    group: Annotated[
        str | None, typer.Option("--group", metavar="GROUP", help="A group's name.", show_default=False)
    ] = None,
    priority: Annotated[
        str, typer.Option("--priority", "-p", metavar="PRIORITY", help="low, normal, high or urgent.")
    ] = "normal",
    type_: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="question, incident, problem or task.")
    ] = "question",
    assign: Annotated[
        str | None,
        typer.Option("--assign", metavar="AGENT", help="An agent's email or name, or me.", show_default=False),
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", "-t", metavar="TAG", help="A tag (repeatable).", show_default=False)
    ] = None,
    outbound: Annotated[
        bool, typer.Option("--outbound", help="The first message is ours to the customer, not theirs.")
    ] = False,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    triage: Annotated[
        bool,
        typer.Option(
            "--triage",
            help="Triage it now, offline (language, sentiment, intent; the server's triage replaces it).",
        ),
    ] = False,
    attach: AttachOpt = None,
) -> None:
    """Open a ticket; its first message comes from --body, --body-file or stdin.

    Prints the new ticket's id (its number follows with the next sync on a synced workspace),
    or the whole ticket with --json.

    Example: supportdesk tickets create -s 'Double charge' -r ana@example.com --body-file mail.txt
    """
    from supportdesk.cli import refs
    from supportdesk.cli.options import read_body
    from supportdesk.store.enums import Channel

    if channel not in {c.value for c in Channel}:
        from supportdesk.cli.errors import fail

        fail(f"{channel!r} is not a channel: choose one of {', '.join(c.value for c in Channel)}")
    text = read_body(body, body_file)
    args: dict[str, Any] = {
        "subject": subject,
        "body": text,
        "requester": refs.requester(session, requester, name),
        "channel": channel,
        "author": "agent" if outbound else "customer",
        "priority": refs.enum_value("priority", priority),
        "type": refs.enum_value("type", type_),
        "tags": list(tags or []),
    }
    if group is not None:
        args["group_id"] = refs.group_id(session, group)
    if assign is not None:
        args["assignee_id"] = refs.agent_id(session, assign)
    files = staged(session, attach)
    if files:
        args["attachments"] = files
    with kept_only_if_written(session, files):
        outcome = apply_one(session, "ticket.create", args)
    ticket_id = str(outcome.result["ticket_id"])
    if triage:
        from supportdesk.assist.arrival import triage_new

        triage_new(session.workspace(), [ticket_id], actor=session.actor())
    if out.json:
        from supportdesk.store.reads import ticket_detail

        with session.workspace().reading() as connection:
            detail = ticket_detail(connection, ticket_id)
        assert detail is not None
        out.document(detail.as_dict())
    else:
        typer.echo(ticket_id)


@command()
def reply(
    session: Session,
    ticket: TicketArg,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", metavar="STATUS", help="Submit as: open, pending, on_hold or solved.", show_default=False
        ),
    ] = None,
    attach: AttachOpt = None,
) -> None:
    """Send a public reply to the requester (a reply to a closed ticket opens a follow-up).

    Example: supportdesk tickets reply 1042 --status solved --body-file answer.txt --attach refund.pdf
    """
    from supportdesk.cli import refs
    from supportdesk.cli.options import read_body

    ticket_id, label = refs.ticket_with_label(session, ticket)
    args: dict[str, Any] = {"ticket_id": ticket_id, "body": read_body(body, body_file, what="reply")}
    from supportdesk.store import reads

    with session.workspace().reading() as connection:
        seen = reads.reply_anchor(connection, ticket_id, session.me())
    if seen is not None:  # as the console does: a newer customer message on the server refuses it
        args["seen_message_id"] = seen
    if status is not None:
        args["status"] = refs.enum_value("status", status)
    files = staged(session, attach)
    if files:
        args["attachments"] = files
    with kept_only_if_written(session, files):
        outcome = apply_one(session, "ticket.reply", args)
    if outcome.result.get("follow_up"):
        typer.echo(f"{label} is closed: replied on its follow-up {outcome.result['ticket_id']}")
    else:
        typer.echo(f"replied on {label}")


@command()
def note(
    session: Session, ticket: TicketArg, body: BodyOpt = None, body_file: BodyFileOpt = None, attach: AttachOpt = None
) -> None:
    """Add an internal note (never shown to the customer).

    Example: supportdesk tickets note 1042 --body 'Refund approved by finance' --attach approval.eml
    """
    from supportdesk.cli import refs
    from supportdesk.cli.options import read_body

    ticket_id, label = refs.ticket_with_label(session, ticket)
    args: dict[str, Any] = {"ticket_id": ticket_id, "body": read_body(body, body_file, what="note")}
    files = staged(session, attach)
    if files:
        args["attachments"] = files
    with kept_only_if_written(session, files):
        apply_one(session, "ticket.note", args)
    typer.echo(f"noted on {label}")


@command()
def merge(
    session: Session,
    source: Annotated[str, typer.Argument(metavar="DUPLICATE", help="The duplicate ticket, which closes.")],
    target: Annotated[str, typer.Argument(metavar="TICKET", help="The ticket that keeps the conversation.")],
    comment: Annotated[
        str | None,
        typer.Option("--comment", metavar="TEXT", help="A line for both internal notes.", show_default=False),
    ] = None,
    yes: YesOpt = False,
) -> None:
    """Merge a duplicate into another ticket: its messages move and it closes.

    Tickets of two different requesters merge only after you confirm (on a terminal), or with
    --yes; such a merge is audited.

    Example: supportdesk tickets merge 1043 1042 --comment 'Same double charge'
    """
    from supportdesk.cli import refs
    from supportdesk.cli.confirm import confirm
    from supportdesk.cli.output import safe

    source_id, target_id = refs.ticket_id(session, source), refs.ticket_id(session, target)
    source_label, target_label = refs.ticket_label(session, source_id), refs.ticket_label(session, target_id)
    with session.workspace().reading() as connection:
        found = {
            row[0]: row[1:]
            for row in connection.execute(
                "SELECT t.id, t.merged_into_id, t.requester_id, c.name FROM ticket t "
                "JOIN customer c ON c.id = t.requester_id WHERE t.id IN (?, ?)",
                (source_id, target_id),
            )
        }
    if found[source_id][0] == target_id:
        typer.echo(f"{source_label} is already merged into {target_label}")
        return
    args: dict[str, Any] = {"source_id": source_id, "target_id": target_id}
    if source_id != target_id and found[source_id][1] != found[target_id][1]:
        confirm(
            f"{source_label} is from {safe(found[source_id][2])!r} and {target_label} "
            f"from {safe(found[target_id][2])!r}: merge tickets of different requesters?",
            yes=yes,
        )
        args["different_requesters"] = True
    if comment:
        args["comment"] = comment
    outcome = apply_one(session, "ticket.merge", args)
    moved = outcome.result["moved_messages"]
    typer.echo(f"merged {source_label} into {target_label} ({moved} messages moved)")


@command()
def link(
    session: Session,
    incident: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident ticket.")],
    problem: Annotated[
        str | None,
        typer.Argument(
            metavar="[PROBLEM]", help="The problem ticket behind it (leave out with --unlink).", show_default=False
        ),
    ] = None,
    unlink: Annotated[bool, typer.Option("--unlink", help="Remove the incident's link to its problem.")] = False,
) -> None:
    """Link an incident to the problem ticket behind it (it becomes an incident).

    Example: supportdesk tickets link 1043 1001
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import fail

    if (problem is None) == (not unlink):
        fail("give the problem ticket, or --unlink")
    incident_id = refs.ticket_id(session, incident)
    problem_id = refs.ticket_id(session, problem) if problem is not None else None
    with session.workspace().reading() as connection:
        current = connection.execute("SELECT problem_id FROM ticket WHERE id = ?", (incident_id,)).fetchone()[0]
    incident_label = refs.ticket_label(session, incident_id)
    if current == problem_id:
        typer.echo(f"{incident_label} is already {'linked' if problem_id else 'unlinked'}")
        return
    apply_one(session, "ticket.link_problem", {"ticket_id": incident_id, "problem_id": problem_id})
    if problem_id:
        typer.echo(f"linked {incident_label} to problem {refs.ticket_label(session, problem_id)}")
    else:
        typer.echo(f"unlinked {incident_label}")


@command()
def log_call(
    session: Session,
    ticket: Annotated[
        str | None,
        typer.Argument(
            metavar="[TICKET]",
            help="The ticket the call was about; leave out to open one for the caller.",
            show_default=False,
        ),
    ] = None,
    number: Annotated[str, typer.Option("--number", "-n", metavar="PHONE", help="The caller's phone number.")] = "",
    direction: Annotated[str, typer.Option("--direction", metavar="WAY", help="inbound or outbound.")] = "inbound",
    duration: Annotated[str, typer.Option("--duration", "-d", metavar="DURATION", help="300, 90s, 5m, 1h.")] = "0",
    caller_name: Annotated[
        str | None,
        typer.Option("--caller-name", metavar="NAME", help="For a caller new to us.", show_default=False),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", "-s", metavar="TEXT", help="For a new ticket.", show_default=False)
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", metavar="GROUP", help="For a new ticket.", show_default=False)
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", metavar="STATUS", help="Set the ticket's status.", show_default=False),
    ] = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
) -> None:
    """Log a phone call: the notes come from --body, --body-file or stdin.

    Example: supportdesk tickets log-call 1042 -n '+44 20 7946 0000' -d 6m --body 'Walked through the refund'
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import fail
    from supportdesk.cli.options import read_body

    if not number:
        fail("give the caller's number with --number")
    if direction not in ("inbound", "outbound"):
        fail(f"{direction!r} is not a direction: inbound or outbound")
    args: dict[str, Any] = {
        "direction": direction,
        "number": number,
        "duration_seconds": refs.seconds(duration),
        "notes": read_body(body, body_file, what="call notes"),
        "caller_name": caller_name,
        "subject": subject,
    }
    if ticket is not None:
        args["ticket_id"] = refs.ticket_id(session, ticket)
    if group is not None:
        args["group_id"] = refs.group_id(session, group)
    if status is not None:
        args["status"] = refs.enum_value("status", status)
    outcome = apply_one(session, "ticket.log_call", args)
    ticket_id = str(outcome.result["ticket_id"])
    verb = "opened" if outcome.result.get("created") else "logged the call on"
    typer.echo(f"{verb} {refs.ticket_label(session, ticket_id)}")
