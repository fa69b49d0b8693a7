"""The rules every mutation obeys: status transitions, who may do what, which tickets one sees."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from supportdesk.domain.context import Actor
from supportdesk.domain.errors import InvalidTransition, PermissionDenied
from supportdesk.store.enums import Role, Status

#: From each status, the statuses a ticket may move to. ``closed`` is final; ``new`` is only
#: ever the first status.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def check_transition(current: str, target: str, number: int | None = None) -> None:
    source, goal = Status(current), Status(target)
    if source == goal:
        return
    label = f"ticket #{number}" if number else "this ticket"
    if source == Status.CLOSED:
        raise InvalidTransition(
            f"{label} is closed, and closed is final: reply to it to open a follow-up",
            field="status",
        )
    if goal not in TRANSITIONS[source]:
        raise InvalidTransition(f"{label} cannot go from {source.value} back to {goal.value}", field="status")


def check_role(actor: Actor, allowed: frozenset[Role], mutation: str) -> None:
    if actor.role in allowed:
        return
    if actor.role == Role.LIGHT_AGENT:
        raise PermissionDenied(f"{actor.name or 'a light agent'} is a light agent and may only write internal notes")
    raise PermissionDenied(f"{actor.name or 'this agent'} may not run {mutation}")


def can_access_ticket(actor: Actor, ticket: Mapping[str, Any]) -> bool:
    """Admins see everything; others see their groups' tickets, ungrouped ones and their own."""
    if actor.is_admin or actor.is_system:
        return True
    group_id = ticket.get("group_id")
    return group_id is None or group_id in actor.group_ids or ticket.get("assignee_id") == actor.id
