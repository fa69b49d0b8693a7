"""Who may see what: the same rule for REST reads, pulls, bootstraps and pushes.

A ticket (with its tags, messages, attachments, SLA timing, surveys and handle time: every row
of ``sync.rows.TICKET_SCOPED``) is visible to admins, to agents of its group, to everyone when it
has no group, and to its assignee (``domain.rules.can_access_ticket``). Personal saved views are
visible to their owner only. Everything else (the team, customers, macros, articles, SLA
policies and calendars, routing rules) is shared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from supportdesk.domain.context import Actor
from supportdesk.domain.rules import can_access_ticket
from supportdesk.sync.rows import TICKET_SCOPED


def sees_ticket(actor: Actor, group_id: str | None, assignee_id: str | None = None) -> bool:
    return can_access_ticket(actor, {"group_id": group_id, "assignee_id": assignee_id})


def record_visible(actor: Actor, entity: str, op: str, data: Mapping[str, Any], group_id: str | None) -> bool:
    """Whether one change-log record goes to ``actor`` in a pull.

    ``hide`` goes to those who saw the ticket before and do not now; ``reveal`` to those who
    see it now and did not before. Other ticket records follow the ticket's group at the time
    of the change.
    """
    if op in ("hide", "reveal"):
        before = sees_ticket(actor, data["from"].get("group_id"), data["from"].get("assignee_id"))
        after = sees_ticket(actor, data["to"].get("group_id"), data["to"].get("assignee_id"))
        return (before and not after) if op == "hide" else (after and not before)
    if entity in TICKET_SCOPED:
        assignee = data.get("assignee_id") if entity == "ticket" else None
        return sees_ticket(actor, group_id, assignee)
    if entity == "saved_view" and op == "upsert":
        owner = data.get("owner_id")
        return owner is None or owner == actor.id or actor.is_admin or actor.is_system
    return True


def ticket_condition(actor: Actor, alias: str = "t") -> tuple[str, dict[str, Any]]:
    """A SQL condition on a ticket alias for what ``actor`` may see, with its parameters."""
    if actor.is_admin or actor.is_system:
        return "1 = 1", {}
    params: dict[str, Any] = {"vis_me": actor.id}
    names = []
    for index, group_id in enumerate(sorted(actor.group_ids)):
        params[f"vis_g{index}"] = group_id
        names.append(f":vis_g{index}")
    in_groups = f" OR {alias}.group_id IN ({', '.join(names)})" if names else ""
    return f"({alias}.group_id IS NULL{in_groups} OR {alias}.assignee_id = :vis_me)", params


def visibility_scope(actor: Actor) -> str:
    """A short fingerprint of everything :func:`ticket_condition` depends on for ``actor``.

    A client remembers the scope its copy was filled under; when a pull reports another one
    (the agent joined or left a group, became or stopped being an admin), the client fills its
    copy again, because the change log alone never re-sends a group's unchanged tickets.
    """
    seen = "all" if actor.is_admin or actor.is_system else "groups:" + ",".join(sorted(actor.group_ids))
    return hashlib.sha256(f"{actor.id}|{seen}".encode()).hexdigest()[:16]
