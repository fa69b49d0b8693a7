"""Mutations of tickets: create, reply, note, receive, fields, assignment, tags, merge, links, calls."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select, update

from supportdesk.domain.errors import (
    Conflict,
    InvalidTransition,
    NeedsConfirmation,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from supportdesk.domain.identities import normalize_identity
from supportdesk.domain.mutations.attachments import MAX_ATTACHMENTS, AttachmentIn, add_attachments
from supportdesk.domain.mutations.common import (
    KEEP,
    add_message,
    agent_in_group,
    body_text,
    label,
    load_ticket,
    normalize_tags,
    require_agent,
    set_status,
    subject_text,
    ticket_tags,
    touch,
)
from supportdesk.domain.mutations.customers import RequesterRef, resolve_requester
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.rules import check_role, check_transition
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Touched, Tx, table
from supportdesk.store import ticket_fields
from supportdesk.store.enums import AuthorKind, Channel, Direction, IdentityKind, Priority, Status, TicketType
from supportdesk.store.ids import uuid7

FieldValue = str | int | float | bool | None


class CreateTicket(Args):
    ticket_id: str = Field(default_factory=uuid7)
    message_id: str = Field(default_factory=uuid7)
    subject: str
    body: str
    requester: RequesterRef
    channel: Channel = Channel.WEB
    author: AuthorKind = AuthorKind.CUSTOMER
    public: bool = True
    status: Status | None = None
    priority: Priority = Priority.NORMAL
    type: TicketType = TicketType.QUESTION
    group_id: str | None = None
    assignee_id: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    fields: dict[str, FieldValue] = Field(default_factory=dict, max_length=100)
    meta: dict[str, Any] = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


def _check_group(tx: Tx, group_id: str | None) -> None:
    if group_id is not None and tx.row("groups", group_id) is None:
        raise NotFound(f"no group with id {group_id}", field="group_id")


def _check_assignee(tx: Tx, assignee_id: str | None, group_id: str | None) -> None:
    if assignee_id is None:
        return
    agent = require_agent(tx, assignee_id)
    if not agent_in_group(tx, agent, group_id):
        group = tx.row("groups", group_id) if group_id else None
        raise ValidationFailed(
            f"{agent['name']} is not in group {group['name'] if group else group_id}",
            field="assignee_id",
        )


#: The next ticket number, as ``Tx.next_counter`` takes it, as plain SQL on the driver's cursor:
#: SQLAlchemy built and compiled the ``UPDATE … RETURNING`` afresh for every ticket created.
_NEXT_NUMBER = "UPDATE counter SET value = value + 1 WHERE name = ? RETURNING value"


def _next_number(tx: Tx) -> int:
    from supportdesk.store.prepared import run_sql

    found = run_sql(tx.connection, _NEXT_NUMBER, ("ticket_number",), fetch=True)
    if found:
        return int(found[0][0])
    return tx.next_counter("ticket_number")  # the first ticket: it makes the counter's row


def _new_ticket(
    tx: Tx,
    *,
    ticket_id: str,
    subject: str,
    requester_id: str,
    channel: str,
    status: Status,
    priority: Priority | str,
    type_: TicketType | str,
    group_id: str | None,
    assignee_id: str | None,
    fields: dict[str, Any] | None = None,
    follow_up_of_id: str | None = None,
) -> dict[str, Any]:
    number = _next_number(tx) if tx.context.authority else None
    values = {
        "id": ticket_id,
        "number": number,
        "subject": subject,
        "status": status,
        "priority": priority,
        "type": type_,
        "channel": channel,
        "group_id": group_id,
        "assignee_id": assignee_id,
        "requester_id": requester_id,
        "follow_up_of_id": follow_up_of_id,
        "fields": fields or {},
        "created_at": tx.now,
        "updated_at": tx.now,
        "solved_at": tx.now if status == Status.SOLVED else None,
    }
    tx.insert("ticket", values, audit_entity=("ticket", ticket_id))
    return tx.require("ticket", ticket_id)


@mutation("ticket.create", CreateTicket)
def create(tx: Tx, args: CreateTicket) -> dict[str, Any]:
    """Open a ticket with its first message, for a known or new requester."""
    subject = subject_text(args.subject)
    body = body_text(args.body)
    _check_group(tx, args.group_id)
    _check_assignee(tx, args.assignee_id, args.group_id)
    tags = normalize_tags(args.tags)
    requester_id = resolve_requester(tx, args.requester)
    status = args.status or (Status.OPEN if args.assignee_id else Status.NEW)
    if status == Status.CLOSED:
        raise InvalidTransition("a new ticket cannot start closed", field="status")
    fields = {sanitize_line(k, cap=80): _clean_field(v) for k, v in args.fields.items()}
    ticket = _new_ticket(
        tx,
        ticket_id=args.ticket_id,
        subject=subject,
        requester_id=requester_id,
        channel=args.channel,
        status=status,
        priority=args.priority,
        type_=args.type,
        group_id=args.group_id,
        assignee_id=args.assignee_id,
        fields=fields,
    )
    by_customer = args.author == AuthorKind.CUSTOMER
    add_message(
        tx,
        ticket,
        message_id=args.message_id,
        body=body,
        channel=args.channel,
        public=args.public,
        author_kind=AuthorKind.CUSTOMER if by_customer else AuthorKind.AGENT,
        author_customer_id=requester_id if by_customer else None,
        author_agent_id=None if by_customer else tx.context.actor.id,
        meta=args.meta,
    )
    add_attachments(tx, args.message_id, args.attachments)
    for tag in tags:
        tx.insert("ticket_tag", {"ticket_id": ticket["id"], "tag": tag})
    return {
        "ticket_id": ticket["id"],
        "number": ticket["number"],
        "message_id": args.message_id,
        "requester_id": requester_id,
    }


def _clean_field(value: FieldValue) -> FieldValue:
    return sanitize_line(value, cap=2000) if isinstance(value, str) else value


def _follow_up(tx: Tx, closed: dict[str, Any], follow_up_id: str, status: Status) -> dict[str, Any]:
    """A new ticket linked to a closed one, which is final and takes no more messages."""
    if tx.row("ticket", follow_up_id) is not None and tx.context.mode != "replay":
        raise ValidationFailed("the follow-up ticket id is already used", field="followup_ticket_id")
    return _new_ticket(
        tx,
        ticket_id=follow_up_id,
        subject=closed["subject"],
        requester_id=closed["requester_id"],
        channel=closed["channel"],
        status=status,
        priority=closed["priority"],
        type_=closed["type"],
        group_id=closed["group_id"],
        assignee_id=closed["assignee_id"],
        follow_up_of_id=closed["id"],
    )


def _latest_customer_message(tx: Tx, ticket_id: str) -> dict[str, Any] | None:
    messages = table("message")
    row = (
        tx.connection.execute(
            select(messages.c.id, messages.c.created_at)
            .where(messages.c.ticket_id == ticket_id)
            .where(messages.c.author_kind == AuthorKind.CUSTOMER)
            .where(messages.c.public.is_(True))
            .order_by(messages.c.created_at.desc(), messages.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _check_seen(tx: Tx, ticket: dict[str, Any], seen_message_id: str | None) -> None:
    """Refuse a reply drafted before the customer's newest message (the draft is kept).

    ``seen_message_id`` is the newest message of the ticket the writer had (by anyone): the
    reply is refused when a customer message is newer than it."""
    if seen_message_id is None:
        return
    latest = _latest_customer_message(tx, ticket["id"])
    if latest is None or latest["id"] == seen_message_id:
        return
    seen = tx.row("message", seen_message_id)
    if seen is None or seen["ticket_id"] != ticket["id"]:
        return
    if latest["created_at"] > seen["created_at"]:
        raise Conflict(
            f"a newer message from the customer arrived on {label(ticket)} after this reply was "
            "drafted: read it, then send again",
            field="seen_message_id",
        )


class Reply(Args):
    ticket_id: str
    body: str
    message_id: str = Field(default_factory=uuid7)
    followup_ticket_id: str = Field(default_factory=uuid7)
    status: Status | None = None
    channel: Channel | None = None
    seen_message_id: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


@mutation("ticket.reply", Reply)
def reply(tx: Tx, args: Reply) -> dict[str, Any]:
    """Send a public reply to the requester, optionally submitting the ticket with a status."""
    ticket = load_ticket(tx, args.ticket_id)
    body = body_text(args.body)
    result: dict[str, Any] = {"ticket_id": ticket["id"], "message_id": args.message_id}
    if ticket["status"] == Status.CLOSED:
        target = args.status or Status.OPEN
        ticket = _follow_up(tx, ticket, args.followup_ticket_id, Status.NEW)
        result.update(ticket_id=ticket["id"], follow_up=True, number=ticket["number"])
    else:
        _check_seen(tx, ticket, args.seen_message_id)
        target = args.status or (Status.OPEN if ticket["status"] == Status.NEW else ticket["status"])
    check_transition(ticket["status"], target, ticket["number"])
    add_message(
        tx,
        ticket,
        message_id=args.message_id,
        body=body,
        channel=args.channel or ticket["channel"],
        public=True,
        author_kind=AuthorKind.AGENT,
        author_agent_id=tx.context.actor.id,
        meta=args.meta,
    )
    add_attachments(tx, args.message_id, args.attachments)
    if ticket["first_response_at"] is None:
        tx.update("ticket", ticket["id"], {"first_response_at": tx.now}, current=ticket, touch=False)
    set_status(tx, ticket, target)
    touch(tx, ticket)
    return result


class Note(Args):
    ticket_id: str
    body: str
    message_id: str = Field(default_factory=uuid7)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


@mutation("ticket.note", Note, roles=ALL_ROLES)
def note(tx: Tx, args: Note) -> dict[str, Any]:
    """Add an internal note, which the requester never sees."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="ticket_id")
    add_message(
        tx,
        ticket,
        message_id=args.message_id,
        body=body_text(args.body),
        channel=ticket["channel"],
        public=False,
        author_kind=AuthorKind.AGENT,
        author_agent_id=tx.context.actor.id,
    )
    add_attachments(tx, args.message_id, args.attachments)
    touch(tx, ticket)
    return {"ticket_id": ticket["id"], "message_id": args.message_id}


class Receive(Args):
    ticket_id: str
    body: str
    message_id: str = Field(default_factory=uuid7)
    followup_ticket_id: str = Field(default_factory=uuid7)
    channel: Channel | None = None
    customer_id: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    reopen: bool = True


@mutation("ticket.receive", Receive)
def receive(tx: Tx, args: Receive) -> dict[str, Any]:
    """Append a message from the customer; it reopens a solved ticket, follows up a closed one.

    ``reopen=False`` is for automated mail (an out-of-office answer must not reopen a ticket).
    """
    ticket = load_ticket(tx, args.ticket_id)
    author_id = args.customer_id or ticket["requester_id"]
    if tx.row("customer", author_id) is None:
        raise NotFound(f"no customer with id {author_id}", field="customer_id")
    result: dict[str, Any] = {"ticket_id": ticket["id"], "message_id": args.message_id}
    if ticket["status"] == Status.CLOSED:
        ticket = _follow_up(tx, ticket, args.followup_ticket_id, Status.NEW)
        result.update(ticket_id=ticket["id"], follow_up=True, number=ticket["number"])
    add_message(
        tx,
        ticket,
        message_id=args.message_id,
        body=body_text(args.body),
        channel=args.channel or ticket["channel"],
        public=True,
        author_kind=AuthorKind.CUSTOMER,
        author_customer_id=author_id,
        meta=args.meta,
    )
    add_attachments(tx, args.message_id, args.attachments)
    if args.reopen and ticket["status"] in (Status.PENDING, Status.ON_HOLD, Status.SOLVED):
        set_status(tx, ticket, Status.OPEN)
    touch(tx, ticket)
    return result


class SetStatus(Args):
    ticket_id: str
    status: Status
    seen: Status | None = None


def _note_changed_meanwhile(tx: Tx, ticket: dict[str, Any], field: str, seen: Any) -> None:
    """Last writer wins, but the author hears that somebody changed the field first."""
    if seen is None or str(ticket[field]) == str(seen):
        return
    audit = table("audit_event")
    row = tx.connection.execute(
        select(audit.c.actor_id)
        .where(audit.c.entity == "ticket", audit.c.entity_id == ticket["id"], audit.c.field == field)
        .order_by(audit.c.id.desc())
        .limit(1)
    ).first()
    who = None
    if row and row[0]:
        agent = tx.row("agent", row[0])
        who = agent["name"] if agent else None
    tx.context.warnings.append(
        f"{field} of {label(ticket)} was changed meanwhile"
        + (f" by {who}" if who else "")
        + f" to {ticket[field]}; yours replaces it"
    )


@mutation("ticket.set_status", SetStatus)
def set_status_mutation(tx: Tx, args: SetStatus) -> dict[str, Any]:
    """Change a ticket's status (closed is final)."""
    ticket = load_ticket(tx, args.ticket_id)
    _note_changed_meanwhile(tx, ticket, "status", args.seen)
    check_transition(ticket["status"], args.status, ticket["number"])
    changed = set_status(tx, ticket, args.status)
    return {"ticket_id": ticket["id"], "changed": sorted(changed)}


class SetPriority(Args):
    ticket_id: str
    priority: Priority
    seen: Priority | None = None


class SetType(Args):
    ticket_id: str
    type: TicketType
    seen: TicketType | None = None


class SetSubject(Args):
    ticket_id: str
    subject: str
    seen: str | None = None


def _set_field(
    tx: Tx, ticket_id: str, field: str, value: Any, seen: Any, also: dict[str, Any] | None = None
) -> dict[str, Any]:
    ticket = load_ticket(tx, ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field=field)
    _note_changed_meanwhile(tx, ticket, field, seen)
    changed = tx.update("ticket", ticket["id"], {field: value, **(also or {})}, current=ticket)
    return {"ticket_id": ticket["id"], "changed": sorted(changed)}


@mutation("ticket.set_priority", SetPriority)
def set_priority(tx: Tx, args: SetPriority) -> dict[str, Any]:
    """Change a ticket's priority."""
    return _set_field(tx, args.ticket_id, "priority", args.priority, args.seen)


@mutation("ticket.set_type", SetType)
def set_type(tx: Tx, args: SetType) -> dict[str, Any]:
    """Change a ticket's type (question, incident, problem, task)."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["type"] == TicketType.PROBLEM and args.type != TicketType.PROBLEM:
        linked = tx.count("ticket", problem_id=ticket["id"])
        if linked:
            raise ValidationFailed(
                f"{label(ticket)} is the problem of {linked} incident(s): unlink them first",
                field="type",
            )
    return _set_field(tx, args.ticket_id, "type", args.type, args.seen)


class SetField(Args):
    """A field of ``store.ticket_fields`` changed by this mutation (``value`` None clears it)."""

    ticket_id: str
    field: str = Field(max_length=40)
    value: str | None = Field(default=None, max_length=2000)
    seen: str | None = Field(default=None, max_length=2000)


@mutation("ticket.set_field", SetField, roles=ALL_ROLES)
def set_field(tx: Tx, args: SetField) -> dict[str, Any]:
    """Change a ticket field that has no mutation of its own (its row in the field table says
    who may write it and which values it takes); the change is audited under the field's column."""
    field = ticket_fields.BY_NAME.get(args.field)
    if field is None or field.mutation != ticket_fields.SET_FIELD:
        names = ", ".join(f.name for f in ticket_fields.plain_fields()) or "none yet"
        raise ValidationFailed(f"{args.field!r} is not a field ticket.set_field changes ({names})", field="field")
    check_role(tx.context.actor, field.writers, f"ticket.set_field {field.name}")
    try:
        value = field.clean(args.value)
    except ticket_fields.FieldValueError as error:
        raise ValidationFailed(str(error), field="value") from None
    # a value a person set has no model confidence, and triage leaves it alone (ticket.triage)
    also = {field.confidence: None} if field.confidence else None
    if field.name == "sentiment":
        also = {**(also or {}), "sentiment_score": None}
    return _set_field(tx, args.ticket_id, field.store_column, value, args.seen, also)


@mutation("ticket.set_subject", SetSubject)
def set_subject(tx: Tx, args: SetSubject) -> dict[str, Any]:
    """Rename a ticket."""
    return _set_field(tx, args.ticket_id, "subject", subject_text(args.subject), args.seen)


class Assign(Args):
    """``"keep"`` leaves a field as it is; ``None`` clears it.

    With ``expect_assignee`` the change is a compare-and-set: it only happens if the ticket is
    still assigned to ``expected_assignee_id`` (claiming a ticket nobody else took meanwhile).
    """

    ticket_id: str
    assignee_id: str | None = KEEP
    group_id: str | None = KEEP
    expect_assignee: bool = False
    expected_assignee_id: str | None = None


@mutation("ticket.assign", Assign)
def assign(tx: Tx, args: Assign) -> dict[str, Any]:
    """Assign a ticket to an agent and/or a group; a claim is compare-and-set."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="assignee_id")
    if args.expect_assignee and ticket["assignee_id"] != args.expected_assignee_id:
        holder = tx.row("agent", ticket["assignee_id"]) if ticket["assignee_id"] else None
        raise Conflict(
            f"{label(ticket)} was taken meanwhile by {holder['name'] if holder else 'nobody'}",
            field="assignee_id",
        )
    group_id = ticket["group_id"] if args.group_id == KEEP else args.group_id
    assignee_id = ticket["assignee_id"] if args.assignee_id == KEEP else args.assignee_id
    _check_group(tx, group_id)
    if args.assignee_id != KEEP:
        _check_assignee(tx, assignee_id, group_id)
    elif assignee_id is not None and group_id != ticket["group_id"]:
        current = tx.row("agent", assignee_id)
        if current is not None and not agent_in_group(tx, current, group_id):
            assignee_id = None
    changes: dict[str, Any] = {"group_id": group_id, "assignee_id": assignee_id}
    if ticket["status"] == Status.NEW and assignee_id is not None:
        changes["status"] = Status.OPEN
    changed = tx.update("ticket", ticket["id"], changes, current=ticket)
    return {"ticket_id": ticket["id"], "changed": sorted(changed)}


class Tags(Args):
    ticket_id: str
    tags: list[str] = Field(min_length=1, max_length=50)


@mutation("ticket.tag", Tags)
def tag(tx: Tx, args: Tags) -> dict[str, Any]:
    """Add tags (each is added on its own: tags are never written as a whole list)."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="tags")
    present = set(ticket_tags(tx, ticket["id"]))
    added = [t for t in normalize_tags(args.tags) if t not in present]
    for name in added:
        tx.insert("ticket_tag", {"ticket_id": ticket["id"], "tag": name})
        tx.audit("ticket", ticket["id"], "tag.added", None, name)
    if added:
        touch(tx, ticket)
    return {"ticket_id": ticket["id"], "added": added}


@mutation("ticket.untag", Tags)
def untag(tx: Tx, args: Tags) -> dict[str, Any]:
    """Remove tags."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="tags")
    removed = []
    for name in normalize_tags(args.tags):
        if tx.delete("ticket_tag", (ticket["id"], name)):
            tx.audit("ticket", ticket["id"], "tag.removed", name, None)
            removed.append(name)
    if removed:
        touch(tx, ticket)
    return {"ticket_id": ticket["id"], "removed": removed}


class Merge(Args):
    """``different_requesters`` confirms a merge of two tickets whose requesters differ: the
    source's customer then writes in a ticket that answers someone else, so it is never implied."""

    source_id: str
    target_id: str
    comment: str | None = None
    different_requesters: bool = False
    source_note_id: str = Field(default_factory=uuid7)
    target_note_id: str = Field(default_factory=uuid7)


def requester_name(tx: Tx, customer_id: str) -> str:
    customer = tx.row("customer", customer_id)
    return str(customer["name"]) if customer and customer["name"] else "another customer"


@mutation("ticket.merge", Merge)
def merge(tx: Tx, args: Merge) -> dict[str, Any]:
    """Merge one ticket into another: messages move, the source closes and points at the target.

    Tickets of two different requesters merge only when the caller confirms it
    (``different_requesters``), and the merge is audited as ``merged_requester`` on the target.
    """
    if args.source_id == args.target_id:
        raise ValidationFailed("a ticket cannot be merged into itself", field="target_id")
    source = load_ticket(tx, args.source_id, field="source_id")
    target = load_ticket(tx, args.target_id, field="target_id")
    for which, ticket in (("source_id", source), ("target_id", target)):
        if ticket["status"] == Status.CLOSED:
            raise InvalidTransition(f"{label(ticket)} is closed and cannot be merged", field=which)
        if ticket["merged_into_id"]:
            raise InvalidTransition(f"{label(ticket)} was already merged", field=which)
    others = source["requester_id"] != target["requester_id"]
    if others and not args.different_requesters:
        raise NeedsConfirmation(
            f"{label(source)} is from {requester_name(tx, source['requester_id'])} and {label(target)} from "
            f"{requester_name(tx, target['requester_id'])}: confirm merging tickets of different requesters",
            field="different_requesters",
        )
    if others:
        tx.audit(
            "ticket",
            target["id"],
            "merged_requester",
            None,
            {"source_id": source["id"], "requester_id": source["requester_id"]},
        )
    messages = table("message")
    moved = [row[0] for row in tx.connection.execute(select(messages.c.id).where(messages.c.ticket_id == source["id"]))]
    tx.connection.execute(update(messages).where(messages.c.ticket_id == source["id"]).values(ticket_id=target["id"]))
    tx.touched.extend(Touched("message", (message_id,), "update") for message_id in moved)
    tx.audit("ticket", target["id"], "merged_from", None, source["id"])
    extra = f"\n\n{sanitize_text(args.comment)}" if args.comment and args.comment.strip() else ""
    add_message(
        tx,
        target,
        message_id=args.target_note_id,
        body=f"{label(source).capitalize()} was merged into this ticket.{extra}",
        channel=target["channel"],
        public=False,
        author_kind=AuthorKind.AGENT,
        author_agent_id=tx.context.actor.id,
    )
    add_message(
        tx,
        source,
        message_id=args.source_note_id,
        body=f"This ticket was merged into {label(target)}.{extra}",
        channel=source["channel"],
        public=False,
        author_kind=AuthorKind.AGENT,
        author_agent_id=tx.context.actor.id,
    )
    tx.update(
        "ticket",
        source["id"],
        {"merged_into_id": target["id"], "status": Status.CLOSED},
        current=source,
    )
    touch(tx, target)
    return {"ticket_id": target["id"], "source_id": source["id"], "moved_messages": len(moved)}


class LinkProblem(Args):
    ticket_id: str
    problem_id: str | None


@mutation("ticket.link_problem", LinkProblem)
def link_problem(tx: Tx, args: LinkProblem) -> dict[str, Any]:
    """Link an incident to the problem ticket behind it (``None`` unlinks)."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="problem_id")
    changes: dict[str, Any] = {"problem_id": args.problem_id}
    if args.problem_id is not None:
        if args.problem_id == ticket["id"]:
            raise ValidationFailed("a ticket cannot be its own problem", field="problem_id")
        problem = load_ticket(tx, args.problem_id, field="problem_id")
        if problem["type"] != TicketType.PROBLEM:
            raise ValidationFailed(f"{label(problem)} is a {problem['type']}, not a problem", field="problem_id")
        if ticket["type"] == TicketType.PROBLEM:
            raise ValidationFailed("a problem cannot be linked to another problem", field="problem_id")
        changes["type"] = TicketType.INCIDENT
    changed = tx.update("ticket", ticket["id"], changes, current=ticket)
    return {"ticket_id": ticket["id"], "changed": sorted(changed)}


class LogCall(Args):
    """A phone call an agent took or made. Without ``ticket_id`` the call opens a new ticket for
    the caller, found (or created) by phone number."""

    ticket_id: str | None = None
    direction: Direction
    number: str
    duration_seconds: int = Field(ge=0, le=86_400)
    notes: str
    caller_name: str | None = None
    subject: str | None = None
    group_id: str | None = None
    status: Status | None = None
    message_id: str = Field(default_factory=uuid7)
    new_ticket_id: str = Field(default_factory=uuid7)
    new_customer_id: str = Field(default_factory=uuid7)
    new_identity_id: str = Field(default_factory=uuid7)


def _check_caller_in_group(tx: Tx, group_id: str | None) -> None:
    """A call opens a ticket assigned to whoever logged it, so it may only go to one of their
    groups (or none): logging a call must not put an agent on another group's ticket."""
    actor = tx.context.actor
    if actor.id is None or actor.is_admin or group_id is None or group_id in actor.group_ids:
        return
    agent = tx.row("agent", actor.id)
    if agent is not None and agent_in_group(tx, agent, group_id):
        return
    group = tx.row("groups", group_id)
    raise PermissionDenied(
        f"{actor.name or 'this agent'} is not in group {group['name'] if group else group_id}: "
        "log the call in one of your groups",
        field="group_id",
    )


@mutation("ticket.log_call", LogCall)
def log_call(tx: Tx, args: LogCall) -> dict[str, Any]:
    """Log a phone call on a ticket, or open a ticket for the caller."""
    phone = normalize_identity(IdentityKind.PHONE, args.number)
    notes = body_text(args.notes, field="notes")
    result: dict[str, Any] = {"message_id": args.message_id}
    if args.ticket_id is None:
        requester_id = resolve_requester(
            tx,
            RequesterRef(
                kind=IdentityKind.PHONE,
                value=phone,
                name=args.caller_name,
                new_customer_id=args.new_customer_id,
                new_identity_id=args.new_identity_id,
            ),
        )
        _check_group(tx, args.group_id)
        _check_caller_in_group(tx, args.group_id)
        ticket = _new_ticket(
            tx,
            ticket_id=args.new_ticket_id,
            subject=subject_text(args.subject or f"Call {args.direction.value} {phone}"),
            requester_id=requester_id,
            channel=Channel.PHONE,
            status=Status.OPEN,
            priority=Priority.NORMAL,
            type_=TicketType.QUESTION,
            group_id=args.group_id,
            assignee_id=tx.context.actor.id,
        )
        result.update(ticket_id=ticket["id"], number=ticket["number"], created=True)
    else:
        ticket = load_ticket(tx, args.ticket_id)
        if ticket["status"] == Status.CLOSED:
            raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="ticket_id")
        result.update(ticket_id=ticket["id"], created=False)
    add_message(
        tx,
        ticket,
        message_id=args.message_id,
        body=notes,
        channel=Channel.PHONE,
        public=True,
        author_kind=AuthorKind.AGENT,
        author_agent_id=tx.context.actor.id,
        meta={"call": {"direction": args.direction.value, "number": phone, "duration_seconds": args.duration_seconds}},
    )
    if ticket["first_response_at"] is None:
        tx.update("ticket", ticket["id"], {"first_response_at": tx.now}, current=ticket, touch=False)
    if args.status is not None:
        check_transition(ticket["status"], args.status, ticket["number"])
        set_status(tx, ticket, args.status)
    touch(tx, ticket)
    return result
