"""Mutations of the team: groups and agents (admins only)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import Conflict, NotFound, ValidationFailed
from supportdesk.domain.identities import normalize_identity
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import IdentityKind, Role
from supportdesk.store.ids import uuid7


class CreateGroup(Args):
    group_id: str = Field(default_factory=uuid7)
    name: str
    email: str | None = None
    description: str = ""


def _group_email(email: str | None) -> str | None:
    return normalize_identity(IdentityKind.EMAIL, email) if email else None


@mutation("group.create", CreateGroup, roles=ADMINS)
def create_group(tx: Tx, args: CreateGroup) -> dict[str, Any]:
    """Add a group of agents, optionally with its own email address."""
    name = sanitize_line(args.name, cap=120)
    if not name:
        raise ValidationFailed("the group needs a name", field="name")
    if tx.find("groups", name=name) is not None:
        raise Conflict(f"a group called {name} already exists", field="name")
    email = _group_email(args.email)
    if email and tx.find("groups", email=email) is not None:
        raise Conflict(f"{email} is already the address of another group", field="email")
    tx.insert(
        "groups",
        {
            "id": args.group_id,
            "name": name,
            "email": email,
            "description": sanitize_text(args.description, cap=2000),
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("groups", args.group_id),
    )
    return {"group_id": args.group_id}


class UpdateGroup(Args):
    group_id: str
    name: str | None = None
    email: str | None = None
    description: str | None = None


@mutation("group.update", UpdateGroup, roles=ADMINS)
def update_group(tx: Tx, args: UpdateGroup) -> dict[str, Any]:
    """Rename a group or change its address (``email=""`` removes it)."""
    group = tx.require("groups", args.group_id, field="group_id")
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = sanitize_line(args.name, cap=120)
        other = tx.find("groups", name=changes["name"])
        if not changes["name"] or (other and other["id"] != group["id"]):
            raise Conflict(f"a group called {changes['name']} already exists", field="name")
    if args.email is not None:
        changes["email"] = _group_email(args.email) if args.email else None
    if args.description is not None:
        changes["description"] = sanitize_text(args.description, cap=2000)
    changed = tx.update("groups", group["id"], changes, current=group)
    return {"group_id": group["id"], "changed": sorted(changed)}


class CreateAgent(Args):
    agent_id: str = Field(default_factory=uuid7)
    name: str
    email: str
    role: Role = Role.AGENT
    group_ids: list[str] = Field(default_factory=list, max_length=100)


def _set_groups(tx: Tx, agent_id: str, group_ids: list[str]) -> None:
    for group_id in group_ids:
        if tx.row("groups", group_id) is None:
            raise NotFound(f"no group with id {group_id}", field="group_ids")
    current = {row["group_id"] for row in tx.select_all("agent_group", agent_id=agent_id)}
    wanted = set(group_ids)
    for group_id in sorted(wanted - current):
        tx.insert("agent_group", {"agent_id": agent_id, "group_id": group_id})
        tx.audit("agent", agent_id, "group.added", None, group_id)
    for group_id in sorted(current - wanted):
        tx.delete("agent_group", (agent_id, group_id))
        tx.audit("agent", agent_id, "group.removed", group_id, None)


@mutation("agent.create", CreateAgent, roles=ADMINS)
def create_agent(tx: Tx, args: CreateAgent) -> dict[str, Any]:
    """Add an agent with a role and groups."""
    name = sanitize_line(args.name, cap=200)
    if not name:
        raise ValidationFailed("the agent needs a name", field="name")
    email = normalize_identity(IdentityKind.EMAIL, args.email)
    if tx.find("agent", email=email) is not None:
        raise Conflict(f"an agent with the address {email} already exists", field="email")
    tx.insert(
        "agent",
        {
            "id": args.agent_id,
            "name": name,
            "email": email,
            "role": args.role,
            "active": True,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("agent", args.agent_id),
    )
    _set_groups(tx, args.agent_id, args.group_ids)
    return {"agent_id": args.agent_id}


class UpdateAgent(Args):
    agent_id: str
    name: str | None = None
    role: Role | None = None
    active: bool | None = None
    group_ids: list[str] | None = None


@mutation("agent.update", UpdateAgent, roles=ADMINS)
def update_agent(tx: Tx, args: UpdateAgent) -> dict[str, Any]:
    """Change an agent's name, role, groups, or deactivate them."""
    agent = tx.require("agent", args.agent_id, field="agent_id")
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = sanitize_line(args.name, cap=200)
    if args.role is not None:
        changes["role"] = args.role
    if args.active is not None:
        changes["active"] = args.active
    changed = tx.update("agent", agent["id"], changes, current=agent)
    if args.group_ids is not None:
        _set_groups(tx, agent["id"], args.group_ids)
    return {"agent_id": agent["id"], "changed": sorted(changed)}
