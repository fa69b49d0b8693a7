"""Mutations of the agent's library: macros (and applying one), KB articles, saved views."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from supportdesk.domain import templates
from supportdesk.domain.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from supportdesk.domain.mutations.common import (
    add_message,
    agent_in_group,
    body_text,
    label,
    load_ticket,
    normalize_tags,
    require_agent,
    set_status,
    ticket_tags,
    touch,
)
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.rules import check_transition
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import AuthorKind, Priority, Role, Status, TicketType
from supportdesk.store.ids import uuid7

# --- macros ---------------------------------------------------------------------------------

ActionField = Literal["status", "priority", "type", "group", "assignee", "add_tags", "remove_tags"]


class MacroAction(Args):
    """One field change of a macro. ``group`` takes a group name or id; ``assignee`` takes
    ``me``, ``none``, an agent's email or id; tag actions take a list or a comma list."""

    field: ActionField
    value: str | list[str] | None = None


def _validate_actions(actions: list[MacroAction]) -> list[dict[str, Any]]:
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


def _check_template(body: str) -> None:
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
    _check_template(body)
    tx.insert(
        "macro",
        {
            "id": args.macro_id,
            "name": name,
            "description": sanitize_text(args.description, cap=2000),
            "actions": _validate_actions(args.actions),
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
        changes["actions"] = _validate_actions(args.actions)
    if args.body is not None:
        changes["body"] = sanitize_text(args.body, cap=50_000)
        _check_template(changes["body"])
    for name_ in ("public", "active"):
        if getattr(args, name_) is not None:
            changes[name_] = getattr(args, name_)
    changed = tx.update("macro", macro["id"], changes, current=macro)
    return {"macro_id": macro["id"], "changed": sorted(changed)}


class DeleteById(Args):
    id: str


@mutation("macro.delete", DeleteById)
def delete_macro(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a macro."""
    tx.require("macro", args.id, field="id")
    tx.delete("macro", args.id, audit_entity=("macro", args.id))
    return {"macro_id": args.id}


@dataclass
class MacroPlan:
    """What applying a macro to one ticket would do: field changes and the rendered comment."""

    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    body: str = ""
    public: bool = True
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


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
    """Work out a macro's effect on a ticket without writing anything (used for the preview)."""
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
    if macro["body"].strip():
        plan.body = templates.render(macro["body"], macro_context(tx, ticket))
    return plan


class ApplyMacro(Args):
    ticket_id: str
    macro_id: str
    message_id: str = Field(default_factory=uuid7)
    body: str | None = None


@mutation("macro.apply", ApplyMacro, roles=ALL_ROLES)
def apply_macro(tx: Tx, args: ApplyMacro) -> dict[str, Any]:
    """Apply every action of a macro and post its comment, as one change.

    ``body`` is the comment as the agent previewed (and perhaps edited) it; without one the
    macro's template is rendered now.
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
    body = plan.body if args.body is None else args.body
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


# --- knowledge base -------------------------------------------------------------------------


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:120] or "article"


class CreateArticle(Args):
    article_id: str = Field(default_factory=uuid7)
    title: str
    body: str
    tags: list[str] = Field(default_factory=list, max_length=30)
    locale: str = "en"
    slug: str | None = None


@mutation("article.create", CreateArticle)
def create_article(tx: Tx, args: CreateArticle) -> dict[str, Any]:
    """Publish a knowledge-base article."""
    title = sanitize_line(args.title, cap=300)
    if not title:
        raise ValidationFailed("the article needs a title", field="title")
    slug = _slug(args.slug or title)
    if tx.find("kb_article", slug=slug) is not None:
        raise Conflict(f"an article with the address {slug} already exists", field="slug")
    tx.insert(
        "kb_article",
        {
            "id": args.article_id,
            "slug": slug,
            "title": title,
            "body": sanitize_text(args.body),
            "tags": ",".join(normalize_tags(args.tags)),
            "locale": sanitize_line(args.locale, cap=20) or "en",
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("kb_article", args.article_id),
    )
    return {"article_id": args.article_id, "slug": slug}


class UpdateArticle(Args):
    article_id: str
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    locale: str | None = None


@mutation("article.update", UpdateArticle)
def update_article(tx: Tx, args: UpdateArticle) -> dict[str, Any]:
    """Edit a knowledge-base article."""
    article = tx.require("kb_article", args.article_id, field="article_id")
    changes: dict[str, Any] = {}
    if args.title is not None:
        changes["title"] = sanitize_line(args.title, cap=300)
        if not changes["title"]:
            raise ValidationFailed("the article needs a title", field="title")
    if args.body is not None:
        changes["body"] = sanitize_text(args.body)
    if args.tags is not None:
        changes["tags"] = ",".join(normalize_tags(args.tags))
    if args.locale is not None:
        changes["locale"] = sanitize_line(args.locale, cap=20) or "en"
    changed = tx.update("kb_article", article["id"], changes, current=article)
    return {"article_id": article["id"], "changed": sorted(changed)}


@mutation("article.delete", DeleteById)
def delete_article(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a knowledge-base article."""
    tx.require("kb_article", args.id, field="id")
    tx.delete("kb_article", args.id, audit_entity=("kb_article", args.id))
    return {"article_id": args.id}


# --- saved views ----------------------------------------------------------------------------


def _check_view(query: str, sort: str) -> tuple[str, str]:
    from supportdesk.store.query import SORTS, QueryError, parse

    query = sanitize_line(query, cap=2000, redact=False)
    try:
        parse(query)
    except QueryError as error:
        raise ValidationFailed(f"the view's query does not parse: {error}", field="query") from None
    if sort not in SORTS:
        raise ValidationFailed(f"{sort!r} is not a sort: choose one of {', '.join(SORTS)}", field="sort")
    return query, sort


class CreateView(Args):
    view_id: str = Field(default_factory=uuid7)
    name: str
    query: str
    sort: str = "updated-desc"
    shared: bool = False
    position: int = 0


@mutation("view.create", CreateView, roles=ALL_ROLES)
def create_view(tx: Tx, args: CreateView) -> dict[str, Any]:
    """Save a queue query under a name (shared views are for admins to make)."""
    actor = tx.context.actor
    if args.shared and not actor.is_admin:
        raise PermissionDenied("only admins make views shared with the whole team", field="shared")
    name = sanitize_line(args.name, cap=120)
    if not name:
        raise ValidationFailed("the view needs a name", field="name")
    query, sort = _check_view(args.query, args.sort)
    owner = None if args.shared else actor.id
    for existing in tx.select_all("saved_view", name=name):
        if existing["owner_id"] == owner:
            raise Conflict(f"a view called {name} already exists", field="name")
    tx.insert(
        "saved_view",
        {
            "id": args.view_id,
            "name": name,
            "query": query,
            "sort": sort,
            "owner_id": owner,
            "position": args.position,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("saved_view", args.view_id),
    )
    return {"view_id": args.view_id}


def _own_view(tx: Tx, view_id: str) -> dict[str, Any]:
    view = tx.require("saved_view", view_id, field="view_id")
    actor = tx.context.actor
    if view["owner_id"] not in (None, actor.id) and not actor.is_admin:
        raise NotFound(f"no view with id {view_id}", field="view_id")
    if view["owner_id"] is None and not actor.is_admin:
        raise PermissionDenied("only admins change views shared with the whole team", field="view_id")
    return view


class UpdateView(Args):
    view_id: str
    name: str | None = None
    query: str | None = None
    sort: str | None = None
    position: int | None = None


@mutation("view.update", UpdateView, roles=ALL_ROLES)
def update_view(tx: Tx, args: UpdateView) -> dict[str, Any]:
    """Rename a view or change its query, sort or place."""
    view = _own_view(tx, args.view_id)
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = sanitize_line(args.name, cap=120)
        if not changes["name"]:
            raise ValidationFailed("the view needs a name", field="name")
    query, sort = _check_view(
        args.query if args.query is not None else view["query"],
        args.sort if args.sort is not None else view["sort"],
    )
    changes.update(query=query, sort=sort)
    if args.position is not None:
        changes["position"] = args.position
    changed = tx.update("saved_view", view["id"], changes, current=view)
    return {"view_id": view["id"], "changed": sorted(changed)}


@mutation("view.delete", DeleteById, roles=ALL_ROLES)
def delete_view(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a saved view."""
    _own_view(tx, args.id)
    tx.delete("saved_view", args.id, audit_entity=("saved_view", args.id))
    return {"view_id": args.id}
