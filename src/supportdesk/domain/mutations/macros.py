"""Mutations of macros: create, update, delete, and applying one to a ticket."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from supportdesk.domain.macros import MacroAction, check_template, plan_macro, render_comment, stored_actions
from supportdesk.domain.mutations.common import (
    DeleteById,
    add_message,
    body_text,
    label,
    load_ticket,
    set_status,
    touch,
)
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.rules import check_transition
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import AuthorKind, Role, Status
from supportdesk.store.ids import uuid7


class CreateMacro(Args):
    macro_id: str = Field(default_factory=uuid7)
    name: str
    description: str = ""
    actions: list[MacroAction] = Field(default_factory=list, max_length=20)
    body: str = ""
    public: bool = True
    active: bool = True


@mutation("macro.create", CreateMacro)
def create_macro(tx: Tx, args: CreateMacro) -> dict[str, Any]:
    """Add a macro; its template is checked now, not when a customer would see it."""
    name = sanitize_line(args.name, cap=200)
    if not name:
        raise ValidationFailed("the macro needs a name", field="name")
    if tx.find("macro", name=name) is not None:
        raise Conflict(f"a macro called {name} already exists", field="name")
    body = sanitize_text(args.body, cap=50_000)
    check_template(body)
    tx.insert(
        "macro",
        {
            "id": args.macro_id,
            "name": name,
            "description": sanitize_text(args.description, cap=2000),
            "actions": stored_actions(args.actions),
            "body": body,
            "public": args.public,
            "active": args.active,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("macro", args.macro_id),
    )
    return {"macro_id": args.macro_id}


class UpdateMacro(Args):
    macro_id: str
    name: str | None = None
    description: str | None = None
    actions: list[MacroAction] | None = None
    body: str | None = None
    public: bool | None = None
    active: bool | None = None


@mutation("macro.update", UpdateMacro)
def update_macro(tx: Tx, args: UpdateMacro) -> dict[str, Any]:
    """Change a macro."""
    macro = tx.require("macro", args.macro_id, field="macro_id")
    changes: dict[str, Any] = {}
    if args.name is not None:
        name = sanitize_line(args.name, cap=200)
        other = tx.find("macro", name=name)
        if not name or (other is not None and other["id"] != macro["id"]):
            raise Conflict(f"a macro called {name} already exists", field="name")
        changes["name"] = name
    if args.description is not None:
        changes["description"] = sanitize_text(args.description, cap=2000)
    if args.actions is not None:
        changes["actions"] = stored_actions(args.actions)
    if args.body is not None:
        changes["body"] = sanitize_text(args.body, cap=50_000)
        check_template(changes["body"])
    for name_ in ("public", "active"):
        if getattr(args, name_) is not None:
            changes[name_] = getattr(args, name_)
    changed = tx.update("macro", macro["id"], changes, current=macro)
    return {"macro_id": macro["id"], "changed": sorted(changed)}


@mutation("macro.delete", DeleteById)
def delete_macro(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a macro."""
    tx.require("macro", args.id, field="id")
    tx.delete("macro", args.id, audit_entity=("macro", args.id))
    return {"macro_id": args.id}


class ApplyMacro(Args):
    """``body`` is the comment as the agent previewed (and perhaps edited) it; ``""`` posts none.

    Left out, it is rendered by :func:`render_before_writing` before the write transaction
    begins, and travels in the arguments from then on (the outbox, the push, a replay).
    """

    ticket_id: str
    macro_id: str
    message_id: str = Field(default_factory=uuid7)
    body: str | None = None


def render_before_writing(tx: Tx, args: ApplyMacro) -> None:
    """Render the macro's comment for the ticket as it is now, on a read-only snapshot.

    This is ``macro.apply``'s prepare step (see :mod:`supportdesk.domain.registry`): the write
    path runs it before ``BEGIN``, so a slow or hostile template never holds the write lock,
    and the mutator — on the client, on the server, in a replay — only posts the text.
    """
    if args.body is not None:
        return
    ticket = load_ticket(tx, args.ticket_id)
    macro = tx.require("macro", args.macro_id, field="macro_id")
    args.body = render_comment(tx, macro, ticket)


@mutation("macro.apply", ApplyMacro, roles=ALL_ROLES, prepare=render_before_writing)
def apply_macro(tx: Tx, args: ApplyMacro) -> dict[str, Any]:
    """Apply every action of a macro and post its comment, as one change.

    The comment arrives rendered (``body``); a mutator never renders a template, so the server
    never runs one inside its write transaction. A macro with a comment pushed without it is
    refused.
    """
    ticket = load_ticket(tx, args.ticket_id)
    macro = tx.require("macro", args.macro_id, field="macro_id")
    if not macro["active"]:
        raise ValidationFailed(f"macro {macro['name']} is inactive", field="macro_id")
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="ticket_id")
    actor = tx.context.actor
    plan = plan_macro(tx, macro, ticket)
    changes_fields = plan.changes or plan.tags_added or plan.tags_removed
    if actor.role == Role.LIGHT_AGENT and (changes_fields or plan.public):
        raise PermissionDenied(f"{actor.name} is a light agent and may only apply macros that add an internal note")
    if args.body is None and macro["body"].strip():
        raise ValidationFailed(
            f"macro {macro['name']} has a comment, and macro.apply needs it rendered before the write "
            "(the write path does it; a push must carry it in body)",
            field="body",
        )
    body = args.body or ""
    if "status" in plan.values:
        check_transition(ticket["status"], plan.values["status"], ticket["number"])
    if body.strip():
        add_message(
            tx,
            ticket,
            message_id=args.message_id,
            body=body_text(body),
            channel=ticket["channel"],
            public=plan.public,
            author_kind=AuthorKind.AGENT,
            author_agent_id=actor.id,
            meta={"macro_id": macro["id"]},
        )
        if plan.public and ticket["first_response_at"] is None:
            tx.update("ticket", ticket["id"], {"first_response_at": tx.now}, current=ticket, touch=False)
    field_changes = {k: v for k, v in plan.values.items() if k != "status"}
    if field_changes:
        tx.update("ticket", ticket["id"], field_changes, current=ticket)
    if "status" in plan.values:
        set_status(tx, ticket, plan.values["status"])
    elif body.strip() and plan.public and ticket["status"] == Status.NEW:
        set_status(tx, ticket, Status.OPEN)
    for tag in plan.tags_added:
        tx.insert("ticket_tag", {"ticket_id": ticket["id"], "tag": tag})
        tx.audit("ticket", ticket["id"], "tag.added", None, tag)
    for tag in plan.tags_removed:
        tx.delete("ticket_tag", (ticket["id"], tag))
        tx.audit("ticket", ticket["id"], "tag.removed", tag, None)
    touch(tx, ticket)
    return {
        "ticket_id": ticket["id"],
        "macro_id": macro["id"],
        "message_id": args.message_id if body.strip() else None,
        "changed": [name for name, _, _ in plan.changes],
    }
