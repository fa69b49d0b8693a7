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

from supportdesk.store import ticket_fields
from supportdesk.store.enums import Status
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
            if name in ("status", "priority", "type") and state.values[name] != value:
                return True
            if name == "add_tags" and any(tag not in state.tags for tag in value or []):
                return True
            if name == "remove_tags" and any(tag in state.tags for tag in value or []):
                return True
        if self.group_id != KEEP and self.group_id != state.values["group"]:
            return True
        return self.assignee_id != KEEP and self.assignee_id != state.values["assignee"]


@dataclass
class BulkChange:
    """What to do to every selected ticket. ``fields`` maps a field of ``store.ticket_fields``
    to its new value (``None`` clears an assignee or a group); a field left out stays as it is."""

    fields: dict[str, Any] = field(default_factory=dict)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    macro: MacroChoice | None = None

    @property
    def empty(self) -> bool:
        return not self.fields and not self.add_tags and not self.remove_tags and self.macro is None

    def plan(self, state: TicketState, *, macro_applied: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """The mutations ``state`` needs, in the order they must run: the assignment first (one
        ``ticket.assign`` for group and assignee), the other fields in table order, tags, the
        macro, and the status last (so solving a ticket does not stop the other changes)."""
        assign: dict[str, Any] = {}
        fields: list[tuple[str, dict[str, Any]]] = []
        status: list[tuple[str, dict[str, Any]]] = []
        for spec in ticket_fields.FIELDS:
            if spec.name not in self.fields or self.fields[spec.name] == state.values.get(spec.name):
                continue
            wanted = self.fields[spec.name]
            name, args = spec.write(state.id, wanted)
            if name == "ticket.assign":
                assign.update(args)
            elif spec.name == "status":
                if not _solved_already(state, Status(wanted)):
                    status.append((name, args))
            else:
                fields.append((name, args))
        mutations: list[tuple[str, dict[str, Any]]] = [("ticket.assign", assign)] if assign else []
        mutations += fields
        added = [tag for tag in self.add_tags if tag not in state.tags]
        if added:
            mutations.append(("ticket.tag", {"ticket_id": state.id, "tags": added}))
        removed = [tag for tag in self.remove_tags if tag in state.tags]
        if removed:
            mutations.append(("ticket.untag", {"ticket_id": state.id, "tags": removed}))
        if self.macro is not None and not macro_applied and self.macro.changes(state):
            mutations.append(("macro.apply", {"ticket_id": state.id, "macro_id": self.macro.id}))
        return mutations + status


def _solved_already(state: TicketState, target: Status) -> bool:
    """A closed ticket was solved before it closed (and closed is final): nothing to do."""
    return target == Status.SOLVED and state.status == Status.CLOSED
