"""What a token may do: its scopes, and the group restriction that narrows what it sees.

A token made without scopes (the kind a console logs in with) may do everything its agent may.
A token made with scopes — for a machine: the shop, the status page, the CRM — may do only
those, and never sync: a sync client sees and writes everything of its agent.

- ``tickets:read`` lists and reads tickets; ``tickets:write`` also creates and changes them
  (replies, notes, fields, tags, merges, macros applied to a ticket);
- ``customers:read`` reads and searches customers; ``customers:write`` also changes them;
- ``kb:read`` reads articles and macros; ``kb:write`` also creates and changes them;
- ``admin`` is everything above plus administration (tokens, sync clients, webhooks), and
  still only for an admin's token.

A ``:write`` scope includes its ``:read``. The agent's role still applies: a light agent's
token with ``tickets:write`` may write internal notes only, as in the console.

A group restriction makes the token see tickets of those groups (and tickets with no group,
as any agent of those groups would) — even when its agent is an admin, whose token then acts
as an agent of those groups; so a restricted token cannot carry ``admin``.
"""

from __future__ import annotations

from collections.abc import Iterable

from supportdesk.domain.context import Actor
from supportdesk.store.enums import Role

SCOPES: dict[str, str] = {
    "tickets:read": "list and read tickets",
    "tickets:write": "create tickets, reply, add notes, change fields and tags, merge, apply macros",
    "customers:read": "read and search customers",
    "customers:write": "change customers",
    "kb:read": "read knowledge-base articles and macros",
    "kb:write": "create and change knowledge-base articles and macros",
    "admin": "everything, and administration (tokens, sync clients, webhooks) for an admin",
}

#: What the scope of a full token (no scopes given) is named in answers and the audit.
FULL = "full"


class ScopeError(ValueError):
    """A scope or a group restriction that cannot be given to a token; the message says why."""


def parse_scopes(text: str | Iterable[str]) -> list[str]:
    """``tickets:read,tickets:write`` (or a list) as a sorted list of known scopes."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = sorted({item.strip().lower() for item in items if item.strip()})
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ScopeError(f"unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}")
    if not scopes:
        raise ScopeError(f"name at least one scope: {', '.join(SCOPES)}")
    return scopes


def check_combination(scopes: list[str] | None, group_ids: list[str] | None, role: Role) -> None:
    """Refuse a token that could not work as asked."""
    if scopes and "admin" in scopes and role != Role.ADMIN:
        raise ScopeError("only an admin's token can have the admin scope")
    if group_ids is not None and (scopes is None or "admin" in scopes):
        raise ScopeError("a token restricted to groups needs scopes, and not admin (use --scope)")


def allows(scopes: frozenset[str] | None, needed: str) -> bool:
    """Whether a token with ``scopes`` (None: a full token) may do what ``needed`` names."""
    if scopes is None or "admin" in scopes or needed in scopes:
        return True
    noun, _, verb = needed.partition(":")
    return verb == "read" and f"{noun}:write" in scopes


def restricted(actor: Actor, group_ids: frozenset[str] | None) -> Actor:
    """The actor a group-restricted token acts as: its agent, seeing those groups only."""
    if group_ids is None:
        return actor
    role = Role.AGENT if actor.role == Role.ADMIN else actor.role
    visible = group_ids if actor.role == Role.ADMIN else actor.group_ids & group_ids
    return Actor(id=actor.id, name=actor.name, email=actor.email, role=role, group_ids=frozenset(visible))
