"""Each ticket field an agent can change from a key: what the picker offers, and the mutation
that makes the change (shared by the ticket pane and ``;`` on tagged rows)."""

from __future__ import annotations

from typing import Any

from supportdesk.store.enums import Priority, Status, TicketType
from supportdesk.tui.db import ConsoleDB
from supportdesk.tui.screens.forms import Choice
from supportdesk.tui.text import safe_line

NONE = "__none__"


def status_choices() -> list[Choice]:
    return [Choice(s.value, s.value.replace("_", " ")) for s in Status if s != Status.NEW]


def priority_choices() -> list[Choice]:
    return [Choice(p.value, p.value) for p in Priority]


def type_choices() -> list[Choice]:
    return [Choice(t.value, t.value) for t in TicketType]


def group_choices(db: ConsoleDB) -> list[Choice]:
    groups = db.groups()
    return [Choice(NONE, "no group"), *(Choice(gid, safe_line(name, cap=80)) for gid, name in groups)]


def agent_choices(db: ConsoleDB, group_id: str | None = None, *, me: str | None = None) -> list[Choice]:
    """Agents who may hold a ticket of ``group_id`` (its members and the admins), me first."""
    agents = db.agents()
    chosen = [a for a in agents if group_id is None or a.role == "admin" or group_id in a.group_ids]
    chosen.sort(key=lambda a: (a.id != me, a.name.lower()))
    return [
        Choice(NONE, "nobody"),
        *(Choice(a.id, safe_line(a.name, cap=80), "me" if a.id == me else a.role.replace("_", " ")) for a in chosen),
    ]


def macro_choices(db: ConsoleDB) -> list[Choice]:
    macros = db.macros()
    return [Choice(m["id"], safe_line(m["name"], cap=120)) for m in macros]


def value(choice: str) -> str | None:
    return None if choice == NONE else choice


#: The picker's title for each field.
TITLES = {
    "status": "Status",
    "priority": "Priority",
    "type": "Type",
    "group": "Group",
    "assignee": "Assignee",
    "tags": "Add tags",
    "untag": "Remove which tag?",
    "subject": "Subject",
    "macro": "Apply macro",
}
_SCALARS = {"status": "ticket.set_status", "priority": "ticket.set_priority", "type": "ticket.set_type"}


def choices_for(field: str, db: ConsoleDB, *, group_id: str | None = None, me: str | None = None) -> list[Choice]:
    """What a picker offers for ``field`` (tags and the subject are typed, not picked)."""
    if field == "status":
        return status_choices()
    if field == "priority":
        return priority_choices()
    if field == "type":
        return type_choices()
    if field == "group":
        return group_choices(db)
    if field == "assignee":
        return agent_choices(db, group_id, me=me)
    if field == "macro":
        return macro_choices(db)
    raise ValueError(field)


def field_mutation(field: str, ticket_id: str, picked: str, *, seen: Any = None) -> tuple[str, dict[str, Any]]:
    """The mutation that sets ``field`` of a ticket to what the agent picked or typed.

    ``seen`` is the value the agent saw, so a change made meanwhile by someone else is reported.
    """
    if field in _SCALARS:
        return _SCALARS[field], {"ticket_id": ticket_id, field: picked, "seen": seen}
    if field == "subject":
        return "ticket.set_subject", {"ticket_id": ticket_id, "subject": picked, "seen": seen}
    if field == "assignee":
        return "ticket.assign", {"ticket_id": ticket_id, "assignee_id": value(picked)}
    if field == "group":
        return "ticket.assign", {"ticket_id": ticket_id, "group_id": value(picked)}
    if field in ("tags", "untag"):
        tags = [t for t in picked.replace(",", " ").split() if t]
        return ("ticket.tag" if field == "tags" else "ticket.untag"), {"ticket_id": ticket_id, "tags": tags}
    if field == "macro":
        return "macro.apply", {"ticket_id": ticket_id, "macro_id": picked}
    raise ValueError(field)
