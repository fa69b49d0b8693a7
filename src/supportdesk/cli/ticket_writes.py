"""``supportdesk tickets create | reply | note | merge | link | log-call``: one ticket at a time.

Each command is one named mutation applied to the local workspace; on a synced workspace it
reaches the server with the next sync (a new ticket has its id at once, its number after).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supportdesk.cli.options import BodyFileOpt, BodyOpt, JsonOpt
from supportdesk.cli.state import STATE
from supportdesk.cli.writes import apply_one

TicketArg = Annotated[str, typer.Argument(help="Ticket number (1042 or #1042) or id.")]


def ticket_label(ticket_id: str) -> str:
    """``#1042``, or the id of a ticket that has no number yet."""
    with STATE.workspace().reading() as connection:
        row = connection.execute("SELECT number FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return f"#{row[0]}" if row and row[0] else ticket_id


def _resolve(ref: str) -> str:
    from supportdesk.cli.tickets import resolve

    return resolve(ref)


def _requester(address: str, name: str | None) -> dict[str, Any]:
    """A requester reference: an existing customer (by id or any address) or a new address."""
    from supportdesk.cli.errors import fail
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.identities import guess_kind, normalize_identity
    from supportdesk.store.reads import resolve_customer

    with STATE.workspace().reading() as connection:
        row = connection.execute("SELECT id FROM customer WHERE id = ?", (address.strip(),)).fetchone()
        customer_id = row[0] if row else None
    if customer_id:
        return {"customer_id": customer_id}
    kind = guess_kind(address)
    try:
        value = normalize_identity(kind, address)
    except DomainError as error:
        fail(f"--requester: {error.message}")
    with STATE.workspace().reading() as connection:
        known = resolve_customer(connection, value)
    if known:
        return {"customer_id": known}
    return {"kind": kind.value, "value": value, "name": name}


def create(
    subject: Annotated[str, typer.Option("--subject", "-s", help="The ticket's subject.")],
    requester: Annotated[
        str, typer.Option("--requester", "-r", help="The customer: an email, phone number, handle or customer id.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="The requester's name, if they are new.", show_default=False)
    ] = None,
    channel: Annotated[str, typer.Option("--channel", help="email, chat, phone, social or web.")] = "email",
    group: Annotated[str | None, typer.Option("--group", help="A group's name.", show_default=False)] = None,
    priority: Annotated[str, typer.Option("--priority", "-p", help="low, normal, high or urgent.")] = "normal",
    type_: Annotated[str, typer.Option("--type", help="question, incident, problem or task.")] = "question",
    assign: Annotated[
        str | None, typer.Option("--assign", help="An agent's email or name, or me.", show_default=False)
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", "-t", help="A tag (repeatable).")] = None,
    outbound: Annotated[
        bool, typer.Option("--outbound", help="The first message is ours to the customer, not theirs.")
    ] = False,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Open a ticket; its first message comes from --body, --body-file or stdin.

    Prints the new ticket's id (its number follows with the next sync on a synced workspace),
    or the whole ticket with --json.

    Example: supportdesk tickets create -s 'Double charge' -r ana@example.com --body-file mail.txt
    """
    from supportdesk.cli.options import read_body
    from supportdesk.cli.ticket_bulk import _enum_value, agent_ref, group_ref
    from supportdesk.store.enums import Channel

    if channel not in {c.value for c in Channel}:
        from supportdesk.cli.errors import fail

        fail(f"{channel!r} is not a channel: choose one of {', '.join(c.value for c in Channel)}")
    text = read_body(body, body_file)
    args: dict[str, Any] = {
        "subject": subject,
        "body": text,
        "requester": _requester(requester, name),
        "channel": channel,
        "author": "agent" if outbound else "customer",
        "priority": _enum_value("priority", priority),
        "type": _enum_value("type", type_),
        "tags": list(tags or []),
    }
    if group is not None:
        args["group_id"] = group_ref(group)
    if assign is not None:
        args["assignee_id"] = agent_ref(assign)
    outcome = apply_one("ticket.create", args)
    ticket_id = str(outcome.result["ticket_id"])
    if json_:
        _print_ticket_json(ticket_id)
    else:
        typer.echo(ticket_id)


def _print_ticket_json(ticket_id: str) -> None:
    from supportdesk.cli.output import emit_document
    from supportdesk.store.reads import ticket_detail

    with STATE.workspace().reading() as connection:
        detail = ticket_detail(connection, ticket_id)
    assert detail is not None
    emit_document(detail.as_dict())


def reply(
    ticket: TicketArg,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Submit as: open, pending, on_hold or solved.", show_default=False)
    ] = None,
) -> None:
    """Send a public reply to the requester (a reply to a closed ticket opens a follow-up).

    Example: supportdesk tickets reply 1042 --status solved --body-file answer.txt
    """
    from supportdesk.cli.options import read_body
    from supportdesk.cli.ticket_bulk import _enum_value

    ticket_id = _resolve(ticket)
    args: dict[str, Any] = {"ticket_id": ticket_id, "body": read_body(body, body_file, what="reply")}
    seen = _latest_customer_message(ticket_id)
    if seen is not None:  # as the console does: a newer customer message on the server refuses it
        args["seen_message_id"] = seen
    if status is not None:
        args["status"] = _enum_value("status", status)
    outcome = apply_one("ticket.reply", args)
    if outcome.result.get("follow_up"):
        typer.echo(f"{ticket_label(ticket_id)} is closed: replied on its follow-up {outcome.result['ticket_id']}")
    else:
        typer.echo(f"replied on {ticket_label(ticket_id)}")


def _latest_customer_message(ticket_id: str) -> str | None:
    """The customer's newest public message this workspace holds: what the reply answers."""
    with STATE.workspace().reading() as connection:
        row = connection.execute(
            "SELECT id FROM message WHERE ticket_id = ? AND author_kind = 'customer' AND public "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            (ticket_id,),
        ).fetchone()
    return str(row[0]) if row else None


def note(ticket: TicketArg, body: BodyOpt = None, body_file: BodyFileOpt = None) -> None:
    """Add an internal note (never shown to the customer).

    Example: supportdesk tickets note 1042 --body 'Refund approved by finance'
    """
    from supportdesk.cli.options import read_body

    ticket_id = _resolve(ticket)
    apply_one("ticket.note", {"ticket_id": ticket_id, "body": read_body(body, body_file, what="note")})
    typer.echo(f"noted on {ticket_label(ticket_id)}")


def merge(
    source: Annotated[str, typer.Argument(help="The duplicate ticket, which closes.")],
    target: Annotated[str, typer.Argument(help="The ticket that keeps the conversation.")],
    comment: Annotated[
        str | None, typer.Option("--comment", help="A line for both internal notes.", show_default=False)
    ] = None,
) -> None:
    """Merge a duplicate into another ticket: its messages move and it closes.

    Example: supportdesk tickets merge 1043 1042 --comment 'Same double charge'
    """
    source_id, target_id = _resolve(source), _resolve(target)
    with STATE.workspace().reading() as connection:
        merged_into = connection.execute("SELECT merged_into_id FROM ticket WHERE id = ?", (source_id,)).fetchone()[0]
    if merged_into == target_id:
        typer.echo(f"{ticket_label(source_id)} is already merged into {ticket_label(target_id)}")
        return
    args: dict[str, Any] = {"source_id": source_id, "target_id": target_id}
    if comment:
        args["comment"] = comment
    outcome = apply_one("ticket.merge", args)
    moved = outcome.result["moved_messages"]
    typer.echo(f"merged {ticket_label(source_id)} into {ticket_label(target_id)} ({moved} messages moved)")


def link(
    incident: Annotated[str, typer.Argument(help="The incident ticket.")],
    problem: Annotated[
        str | None, typer.Argument(help="The problem ticket behind it (leave out with --unlink).", show_default=False)
    ] = None,
    unlink: Annotated[bool, typer.Option("--unlink", help="Remove the incident's link to its problem.")] = False,
) -> None:
    """Link an incident to the problem ticket behind it (it becomes an incident).

    Example: supportdesk tickets link 1043 1001
    """
    from supportdesk.cli.errors import fail

    if (problem is None) == (not unlink):
        fail("give the problem ticket, or --unlink")
    incident_id = _resolve(incident)
    problem_id = _resolve(problem) if problem is not None else None
    with STATE.workspace().reading() as connection:
        current = connection.execute("SELECT problem_id FROM ticket WHERE id = ?", (incident_id,)).fetchone()[0]
    if current == problem_id:
        typer.echo(f"{ticket_label(incident_id)} is already {'linked' if problem_id else 'unlinked'}")
        return
    apply_one("ticket.link_problem", {"ticket_id": incident_id, "problem_id": problem_id})
    if problem_id:
        typer.echo(f"linked {ticket_label(incident_id)} to problem {ticket_label(problem_id)}")
    else:
        typer.echo(f"unlinked {ticket_label(incident_id)}")


def _seconds(text: str) -> int:
    from supportdesk.cli.errors import fail
    from supportdesk.store.times import parse_duration

    if text.isdigit():
        return int(text)
    duration = parse_duration(text)
    if duration is None:
        fail(f"{text!r} is not a duration: write 300, 90s, 5m or 1h")
    return int(duration.total_seconds())


def log_call(
    ticket: Annotated[
        str | None,
        typer.Argument(help="The ticket the call was about; leave out to open one for the caller.", show_default=False),
    ] = None,
    number: Annotated[str, typer.Option("--number", "-n", help="The caller's phone number.")] = "",
    direction: Annotated[str, typer.Option("--direction", help="inbound or outbound.")] = "inbound",
    duration: Annotated[str, typer.Option("--duration", "-d", help="300, 90s, 5m, 1h.")] = "0",
    caller_name: Annotated[
        str | None, typer.Option("--caller-name", help="For a caller new to us.", show_default=False)
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", "-s", help="For a new ticket.", show_default=False)
    ] = None,
    group: Annotated[str | None, typer.Option("--group", help="For a new ticket.", show_default=False)] = None,
    status: Annotated[str | None, typer.Option("--status", help="Set the ticket's status.", show_default=False)] = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
) -> None:
    """Log a phone call: the notes come from --body, --body-file or stdin.

    Example: supportdesk tickets log-call 1042 -n '+44 20 7946 0000' -d 6m --body 'Walked through the refund'
    """
    from supportdesk.cli.errors import fail
    from supportdesk.cli.options import read_body
    from supportdesk.cli.ticket_bulk import _enum_value, group_ref

    if not number:
        fail("give the caller's number with --number")
    if direction not in ("inbound", "outbound"):
        fail(f"{direction!r} is not a direction: inbound or outbound")
    args: dict[str, Any] = {
        "direction": direction,
        "number": number,
        "duration_seconds": _seconds(duration),
        "notes": read_body(body, body_file, what="call notes"),
        "caller_name": caller_name,
        "subject": subject,
    }
    if ticket is not None:
        args["ticket_id"] = _resolve(ticket)
    if group is not None:
        args["group_id"] = group_ref(group)
    if status is not None:
        args["status"] = _enum_value("status", status)
    outcome = apply_one("ticket.log_call", args)
    ticket_id = str(outcome.result["ticket_id"])
    verb = "opened" if outcome.result.get("created") else "logged the call on"
    typer.echo(f"{verb} {ticket_label(ticket_id)}")
