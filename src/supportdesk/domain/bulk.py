"""Plan a change over many tickets: the mutations each ticket needs, and none for a ticket that
is already as asked.

Planning compares the wanted change with each ticket's current state (read from the store), so
running the same bulk change twice writes nothing the second time, and an interrupted run
picks up where it stopped. Each mutation is an ordinary one (``ticket.assign``,
``ticket.set_status`` …): the rules, the audit and sync treat a bulk change like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supportdesk.store.enums import Priority, Status, TicketType
from supportdesk.store.selection import TicketState

KEEP = "keep"


@dataclass
class MacroChoice:
    """A macro to apply, with its group and assignee actions already resolved to ids."""

    id: str
    name: str
    has_comment: bool
    actions: list[dict[str, Any]]
    group_id: str | None = KEEP
    assignee_id: str | None = KEEP

    def changes(self, state: TicketState) -> bool:
        """Whether applying the macro would change anything on a ticket in ``state``."""
        if self.has_comment:
            return True
        for action in self.actions:
            name, value = action["field"], action.get("value")
            if name in ("status", "priority", "type") and getattr(state, name) != value:
                return True
            if name == "add_tags" and any(tag not in state.tags for tag in value or []):
                return True
            if name == "remove_tags" and any(tag in state.tags for tag in value or []):
                return True
        if self.group_id != KEEP and self.group_id != state.group_id:
            return True
        return self.assignee_id != KEEP and self.assignee_id != state.assignee_id


@dataclass
class BulkChange:
    """What to do to every selected ticket. ``KEEP`` leaves the assignee or group alone;
    ``None`` clears it."""

    status: Status | None = None
    priority: Priority | None = None
    type: TicketType | None = None
    assignee_id: str | None = KEEP
    group_id: str | None = KEEP
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    macro: MacroChoice | None = None

    @property
    def empty(self) -> bool:
        return (
            self.status is None
            and self.priority is None
            and self.type is None
            and self.assignee_id == KEEP
            and self.group_id == KEEP
            and not self.add_tags
            and not self.remove_tags
            and self.macro is None
        )

    def plan(self, state: TicketState, *, macro_applied: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """The mutations ``state`` needs, in the order they must run (the status comes last, so
        solving a ticket does not stop the other changes)."""
        mutations: list[tuple[str, dict[str, Any]]] = []
        assign: dict[str, Any] = {}
        if self.group_id != KEEP and self.group_id != state.group_id:
            assign["group_id"] = self.group_id
        if self.assignee_id != KEEP and self.assignee_id != state.assignee_id:
            assign["assignee_id"] = self.assignee_id
        if assign:
            mutations.append(("ticket.assign", {"ticket_id": state.id, **assign}))
        if self.priority is not None and self.priority != state.priority:
            mutations.append(("ticket.set_priority", {"ticket_id": state.id, "priority": self.priority}))
        if self.type is not None and self.type != state.type:
            mutations.append(("ticket.set_type", {"ticket_id": state.id, "type": self.type}))
        added = [tag for tag in self.add_tags if tag not in state.tags]
        if added:
            mutations.append(("ticket.tag", {"ticket_id": state.id, "tags": added}))
        removed = [tag for tag in self.remove_tags if tag in state.tags]
        if removed:
            mutations.append(("ticket.untag", {"ticket_id": state.id, "tags": removed}))
        if self.macro is not None and not macro_applied and self.macro.changes(state):
            mutations.append(("macro.apply", {"ticket_id": state.id, "macro_id": self.macro.id}))
        if self.status is not None and self.status != state.status and not _solved_already(state, self.status):
            mutations.append(("ticket.set_status", {"ticket_id": state.id, "status": self.status}))
        return mutations


def _solved_already(state: TicketState, target: Status) -> bool:
    """A closed ticket was solved before it closed (and closed is final): nothing to do."""
    return target == Status.SOLVED and state.status == Status.CLOSED
