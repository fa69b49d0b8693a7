"""Macros as the domain understands them: their stored actions, what one would do to a ticket
(:func:`plan_macro`), and its comment rendered for that ticket (:func:`render_comment`).

Planning writes nothing: the preview (:mod:`supportdesk.domain.preview`), the ``macro.apply``
mutation and the bulk planner share it. Rendering runs in the macro sandbox
(:mod:`supportdesk.domain.templates`) and, for ``macro.apply``, before the write transaction
begins — never while the write lock is held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from supportdesk.domain import templates
from supportdesk.domain.errors import NotFound, ValidationFailed
from supportdesk.domain.mutations.common import agent_in_group, require_agent, ticket_tags
from supportdesk.domain.registry import Args
from supportdesk.domain.tags import normalize_tags
from supportdesk.store.enums import Priority, Status, TicketType

if TYPE_CHECKING:
    from supportdesk.domain.tx import Tx

ActionField = Literal["status", "priority", "type", "group", "assignee", "add_tags", "remove_tags"]


class MacroAction(Args):
    """One field change of a macro. ``group`` takes a group name or id; ``assignee`` takes
    ``me``, ``none``, an agent's email or id; tag actions take a list or a comma list."""

    field: ActionField
    value: str | list[str] | None = None


def stored_actions(actions: list[MacroAction]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    for action in actions:
        value = action.value
        if action.field in ("add_tags", "remove_tags"):
            items = value if isinstance(value, list) else str(value or "").split(",")
            cleaned.append({"field": action.field, "value": normalize_tags([str(i) for i in items])})
            continue
        if not isinstance(value, str) and not (action.field == "group" and value is None):
            raise ValidationFailed(f"the {action.field} action takes one value", field="actions")
        enums: dict[str, type[Any]] = {"status": Status, "priority": Priority, "type": TicketType}
        if action.field in enums:
            try:
                enums[action.field](value)
            except ValueError:
                choices = ", ".join(member.value for member in enums[action.field])
                raise ValidationFailed(
                    f"{value!r} is not a {action.field}: choose one of {choices}", field="actions"
                ) from None
        cleaned.append({"field": action.field, "value": value})
    return cleaned


_SAMPLE_TICKET = {
    "id": "",
    "number": 1,
    "subject": "",
    "status": "open",
    "priority": "normal",
    "type": "question",
    "channel": "email",
}


def check_template(body: str) -> None:
    context = templates.ticket_context(
        _SAMPLE_TICKET,
        requester=None,
        requester_email=None,
        requester_phone=None,
        organization=None,
        group=None,
        assignee=None,
        tags=[],
        agent=None,
    )
    templates.check(body, context)


@dataclass
class MacroPlan:
    """What applying a macro to one ticket would do: field changes and the rendered comment."""

    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    body: str = ""
    public: bool = True
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    ticket_label: str = ""


def _resolve_group(tx: Tx, value: str | None) -> dict[str, Any] | None:
    if value in (None, "", "none"):
        return None
    group = tx.row("groups", value) or tx.find("groups", name=value)
    if group is None:
        raise NotFound(f"no group called {value}", field="actions")
    return group


def _resolve_agent(tx: Tx, value: str) -> dict[str, Any] | None:
    if value in ("", "none"):
        return None
    if value == "me":
        if tx.context.actor.id is None:
            raise ValidationFailed("'me' needs an agent, not the system", field="actions")
        return require_agent(tx, tx.context.actor.id)
    agent = tx.row("agent", value) or tx.find("agent", email=value.lower())
    if agent is None:
        raise NotFound(f"no agent {value}", field="actions")
    return agent


def macro_context(tx: Tx, ticket: dict[str, Any]) -> dict[str, Any]:
    """The template variables for ``ticket`` as the acting agent sees it."""
    requester = tx.row("customer", ticket["requester_id"])
    identities = tx.select_all("identity", order_by="created_at", customer_id=ticket["requester_id"])

    def first(kind: str) -> str | None:
        chosen = [i for i in identities if i["kind"] == kind]
        chosen.sort(key=lambda i: not i["is_primary"])
        return chosen[0]["value"] if chosen else None

    organization = (
        tx.row("organization", requester["organization_id"]) if requester and requester["organization_id"] else None
    )
    group = tx.row("groups", ticket["group_id"]) if ticket["group_id"] else None
    assignee = tx.row("agent", ticket["assignee_id"]) if ticket["assignee_id"] else None
    actor = tx.context.actor
    return templates.ticket_context(
        ticket,
        requester=requester,
        requester_email=first("email"),
        requester_phone=first("phone"),
        organization=organization["name"] if organization else None,
        group=group["name"] if group else None,
        assignee=assignee,
        tags=ticket_tags(tx, ticket["id"]),
        agent={"name": actor.name, "email": actor.email},
    )


def plan_macro(tx: Tx, macro: dict[str, Any], ticket: dict[str, Any]) -> MacroPlan:
    """Work out a macro's field changes on a ticket without writing anything.

    The comment is not rendered here (see :func:`render_comment`): ``plan.body`` stays empty.
    """
    plan = MacroPlan(public=bool(macro["public"]))
    current_tags = set(ticket_tags(tx, ticket["id"]))
    group_id = ticket["group_id"]
    for action in macro["actions"]:
        name, value = action["field"], action.get("value")
        if name in ("status", "priority", "type"):
            if str(ticket[name]) != value:
                plan.changes.append((name, str(ticket[name]), value))
                plan.values[name] = value
        elif name == "group":
            group = _resolve_group(tx, value)
            group_id = group["id"] if group else None
            if group_id != ticket["group_id"]:
                plan.changes.append(("group", ticket["group_id"], group["name"] if group else None))
                plan.values["group_id"] = group_id
        elif name == "assignee":
            agent = _resolve_agent(tx, str(value or ""))
            agent_id = agent["id"] if agent else None
            if agent_id != ticket["assignee_id"]:
                plan.changes.append(("assignee", ticket["assignee_id"], agent["name"] if agent else None))
                plan.values["assignee_id"] = agent_id
        elif name == "add_tags":
            plan.tags_added = [t for t in value or [] if t not in current_tags]
        elif name == "remove_tags":
            plan.tags_removed = [t for t in value or [] if t in current_tags]
    if plan.values.get("assignee_id"):
        agent = tx.require("agent", plan.values["assignee_id"])
        if not agent_in_group(tx, agent, plan.values.get("group_id", group_id)):
            raise ValidationFailed(f"{agent['name']} is not in the ticket's group", field="actions")
    return plan


def render_comment(tx: Tx, macro: dict[str, Any], ticket: dict[str, Any]) -> str:
    """The macro's comment for ``ticket``, rendered in the sandbox ("" when it has none)."""
    if not macro["body"].strip():
        return ""
    return templates.render(macro["body"], macro_context(tx, ticket))
