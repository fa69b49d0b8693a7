"""Mutations of routing rules: saving one (validated, every reference checked) and the
automatic reply a rule sends. Running the rules is :mod:`supportdesk.domain.automation`'s job."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain import templates
from supportdesk.domain.errors import InvalidTransition, ValidationFailed
from supportdesk.domain.mutations.common import DeleteById, label, load_ticket, system_message, touch, unique_name
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.triggers import check_references, parse_definition
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import Status
from supportdesk.store.ids import uuid7


class SaveRule(Args):
    rule_id: str = Field(default_factory=uuid7)
    definition: dict[str, Any]


def _rule_values(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    rule = parse_definition(data)
    check_references(tx, rule)
    return {
        "name": sanitize_line(rule.name, cap=120),
        "description": sanitize_text(rule.description, cap=2000),
        "position": rule.position,
        "active": rule.active,
        "events": sorted(set(rule.when)),
        "conditions": rule.conditions.model_dump(),
        "actions": [
            {k: sanitize_text(v, cap=20_000) if k == "auto_reply" else v for k, v in a.items()} for a in rule.actions
        ],
    }


@mutation("rule.create", SaveRule, roles=ADMINS)
def create_rule(tx: Tx, args: SaveRule) -> dict[str, Any]:
    """Add a routing rule (validated, every group, agent and template checked now)."""
    values = _rule_values(tx, args.definition)
    unique_name(tx, "trigger_rule", "rule", values["name"])
    tx.insert(
        "trigger_rule",
        {"id": args.rule_id, **values, "created_at": tx.now, "updated_at": tx.now},
        audit_entity=("trigger_rule", args.rule_id),
    )
    return {"rule_id": args.rule_id, "name": values["name"]}


@mutation("rule.update", SaveRule, roles=ADMINS)
def update_rule(tx: Tx, args: SaveRule) -> dict[str, Any]:
    """Replace a rule's definition."""
    rule = tx.require("trigger_rule", args.rule_id, field="rule_id")
    values = _rule_values(tx, args.definition)
    unique_name(tx, "trigger_rule", "rule", values["name"], rule["id"])
    changed = tx.update("trigger_rule", rule["id"], values, current=rule)
    return {"rule_id": rule["id"], "name": values["name"], "changed": sorted(changed)}


@mutation("rule.delete", DeleteById, roles=ADMINS)
def delete_rule(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a routing rule."""
    rule = tx.require("trigger_rule", args.id, field="id")
    tx.delete("trigger_rule", rule["id"], audit_entity=("trigger_rule", rule["id"]))
    return {"rule_id": rule["id"], "name": rule["name"]}


class AutoReply(Args):
    ticket_id: str
    rule_id: str
    template: str
    message_id: str = Field(default_factory=uuid7)


@mutation("ticket.auto_reply", AutoReply, roles=ADMINS)
def auto_reply(tx: Tx, args: AutoReply) -> dict[str, Any]:
    """Send a rule's automatic public reply (the system's, so it stops no SLA clock)."""
    from supportdesk.domain.macros import macro_context

    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="ticket_id")
    body = templates.render(args.template, macro_context(tx, ticket)).strip("\n")
    if not body.strip():
        raise ValidationFailed("the auto-reply is empty", field="template")
    system_message(tx, ticket, args.message_id, body, public=True, meta={"rule_id": args.rule_id, "auto_reply": True})
    touch(tx, ticket)
    return {"ticket_id": ticket["id"], "message_id": args.message_id}
