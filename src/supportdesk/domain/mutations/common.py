"""Pieces several mutators share: loading a ticket the actor may see, tags, messages, names."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam, select

from supportdesk.domain.errors import Conflict, NotFound, ValidationFailed
from supportdesk.domain.registry import Args
from supportdesk.domain.rules import can_access_ticket
from supportdesk.domain.tags import normalize_tag as normalize_tag  # re-exported for the mutators
from supportdesk.domain.tags import normalize_tags as normalize_tags
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Tx, table
from supportdesk.store.enums import AuthorKind, Direction, Role, Status

KEEP = "keep"


def load_ticket(tx: Tx, ticket_id: str, *, field: str = "ticket_id") -> dict[str, Any]:
    """The ticket, or NotFound when it does not exist *or* the actor may not see it."""
    ticket = tx.row("ticket", ticket_id)
    if ticket is None or not can_access_ticket(tx.context.actor, ticket):
        raise NotFound(f"no ticket with id {ticket_id}", field=field)
    tx.hold(ticket)  # the SLA refresh and the rules take it from here instead of reading it again
    return ticket


def label(ticket: dict[str, Any]) -> str:
    return f"ticket #{ticket['number']}" if ticket.get("number") else "this ticket"


def body_text(body: str, *, field: str = "body") -> str:
    text = sanitize_text(body).strip("\n")
    if not text.strip():
        raise ValidationFailed("the message is empty", field=field)
    return text


def subject_text(subject: str) -> str:
    text = sanitize_line(subject)
    if not text:
        raise ValidationFailed("the subject is empty", field="subject")
    return text


@cache
def _tags_of_ticket() -> Any:
    tags = table("ticket_tag")
    return select(tags.c.tag).where(tags.c.ticket_id == bindparam("ticket_id")).order_by(tags.c.tag)


def ticket_tags(tx: Tx, ticket_id: str) -> list[str]:
    rows = tx.connection.execute(_tags_of_ticket(), {"ticket_id": ticket_id})
    return [row[0] for row in rows]


def require_agent(tx: Tx, agent_id: str, *, field: str = "assignee_id") -> dict[str, Any]:
    agent = tx.row("agent", agent_id)
    if agent is None:
        raise NotFound(f"no agent with id {agent_id}", field=field)
    if not agent["active"]:
        raise ValidationFailed(f"{agent['name']} is no longer active", field=field)
    return agent


def agent_in_group(tx: Tx, agent: dict[str, Any], group_id: str | None) -> bool:
    if group_id is None or agent["role"] == Role.ADMIN:
        return True
    return tx.row("agent_group", (agent["id"], group_id)) is not None


def add_message(
    tx: Tx,
    ticket: dict[str, Any],
    *,
    message_id: str,
    body: str,
    channel: str,
    public: bool,
    author_kind: AuthorKind,
    author_agent_id: str | None = None,
    author_customer_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    direction = Direction.INBOUND if author_kind == AuthorKind.CUSTOMER else Direction.OUTBOUND
    tx.insert(
        "message",
        {
            "id": message_id,
            "ticket_id": ticket["id"],
            "channel": channel,
            "direction": direction,
            "public": public,
            "author_kind": author_kind,
            "author_agent_id": author_agent_id,
            "author_customer_id": author_customer_id,
            "body": body,
            "meta": meta or {},
            "created_at": tx.now,
        },
    )
    kind = "note" if not public else ("reply" if author_kind != AuthorKind.CUSTOMER else "inbound")
    tx.audit("ticket", ticket["id"], f"message.{kind}", None, message_id)
    if author_kind == AuthorKind.CUSTOMER and ticket.get("snoozed_until") is not None:
        # the customer wrote: a snoozed ticket is back in the worklists at once (see mutations.snooze)
        tx.update("ticket", ticket["id"], {"snoozed_until": None, "snoozed_by_id": None}, current=ticket)


def set_status(tx: Tx, ticket: dict[str, Any], target: Status | str) -> dict[str, Any]:
    """Move a ticket to ``target`` (rules checked by the caller), keeping solved_at right.

    Solving an unassigned ticket assigns it to the agent who solved it, as help desks do: a
    solved ticket always has somebody who answered for it.
    """
    status = Status(target)
    changes: dict[str, Any] = {"status": status}
    if status == Status.SOLVED and ticket["status"] != Status.SOLVED:
        changes["solved_at"] = tx.now
        actor = tx.context.actor
        if ticket.get("assignee_id") is None and actor.id is not None:
            changes["assignee_id"] = actor.id
    elif status in (Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.NEW):
        changes["solved_at"] = None
    if status in (Status.SOLVED, Status.CLOSED) and ticket.get("snoozed_until") is not None:
        changes.update(snoozed_until=None, snoozed_by_id=None)  # done work is not waiting to come back
    return tx.update("ticket", ticket["id"], changes, current=ticket)


def touch(tx: Tx, ticket: dict[str, Any]) -> None:
    """Mark the ticket as updated now (a message was added; fields may not have changed)."""
    tx.write_quietly("ticket", ticket["id"], {"updated_at": tx.now})
    ticket["updated_at"] = tx.now


class DeleteById(Args):
    id: str


def unique_name(tx: Tx, table_name: str, what: str, name: str, own_id: str | None = None) -> str:
    """The cleaned name, refused when empty or when another row of ``table_name`` has it."""
    clean = sanitize_line(name, cap=120)
    if not clean:
        raise ValidationFailed(f"the {what} needs a name", field="name")
    other = tx.find(table_name, name=clean)
    if other is not None and other["id"] != own_id:
        raise Conflict(f"a {what} called {clean} already exists", field="name")
    return clean


def system_message(
    tx: Tx, ticket: dict[str, Any], message_id: str, body: str, *, public: bool, meta: dict[str, Any]
) -> None:
    """A timeline entry written by supportdesk itself (an auto-reply, a survey answer)."""
    add_message(
        tx,
        ticket,
        message_id=message_id,
        body=body,
        channel=ticket["channel"],
        public=public,
        author_kind=AuthorKind.SYSTEM,
        meta=meta,
    )
