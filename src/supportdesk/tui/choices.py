"""Each ticket field an agent can change from a key: what the picker offers, and the mutation
that makes the change (shared by the ticket pane and ``;`` on tagged rows).

The fields, their labels, their places in the menus and their mutations come from the ticket
field table (:mod:`supportdesk.store.ticket_fields`); this module adds what only the console
knows — the groups and agents to pick from, and the entries that are not a field (removing a
tag, applying a macro).
"""

from __future__ import annotations

from typing import Any

from supportdesk.store import ticket_fields
from supportdesk.store.ticket_fields import TicketField
from supportdesk.tui.db import ConsoleDB
from supportdesk.tui.screens.forms import Choice
from supportdesk.tui.text import safe_line

NONE = "__none__"


def value_choices(field: TicketField) -> list[Choice]:
    """The values of a choice field a person may pick (a ticket is never set back to new)."""
    return [Choice(value, value.replace("_", " ")) for value in field.settable_choices]


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


#: The picker's title for each field, and for the entries that are not a field.
TITLES = {
    **{f.name: f.label for f in ticket_fields.FIELDS},
    "tags": "Add tags",
    "untag": "Remove which tag?",
    "macro": "Apply macro",
}


def _editable() -> list[Choice]:
    menu: list[Choice] = []
    for field in ticket_fields.in_order("picker"):
        menu.append(Choice(field.name, "Add tags" if field.kind == "tags" else field.label))
        if field.kind == "tags":
            menu.append(Choice("untag", "Remove tags"))
    return menu


_BULK_LABELS = {"tags": "Add tags", "agent": "Assign to", "group": "Move to group"}

#: The ticket pane's field menu (``e``): the fields with a picker, and removing a tag.
EDITABLE = _editable()
#: ``;`` on tagged rows: the fields it can set on all of them, then a macro.
BULK_ACTIONS = [
    *(Choice(f.name, _BULK_LABELS.get(f.kind, f"Set {f.name}")) for f in ticket_fields.in_order("bulk")),
    Choice("macro", "Apply macro"),
]


def is_typed(field: str) -> bool:
    """Whether the field is typed into a prompt (tags, text) rather than picked from a list."""
    return field == "tags" or (field in ticket_fields.BY_NAME and ticket_fields.field(field).kind == "text")


def choices_for(field: str, db: ConsoleDB, *, group_id: str | None = None, me: str | None = None) -> list[Choice]:
    """What a picker offers for ``field`` (tags and text fields are typed, not picked)."""
    if field == "macro":
        return macro_choices(db)
    spec = ticket_fields.field(field)
    if spec.kind == "choice":
        return value_choices(spec)
    if spec.kind == "group":
        return group_choices(db)
    if spec.kind == "agent":
        return agent_choices(db, group_id, me=me)
    raise ValueError(field)


def field_mutation(field: str, ticket_id: str, picked: str, *, seen: Any = None) -> tuple[str, dict[str, Any]]:
    """The mutation that sets ``field`` of a ticket to what the agent picked or typed.

    ``seen`` is the value the agent saw, so a change made meanwhile by someone else is reported.
    """
    if field in ("tags", "untag"):
        tags = [t for t in picked.replace(",", " ").split() if t]
        return ("ticket.tag" if field == "tags" else "ticket.untag"), {"ticket_id": ticket_id, "tags": tags}
    if field == "macro":
        return "macro.apply", {"ticket_id": ticket_id, "macro_id": picked}
    return ticket_fields.field(field).write(ticket_id, value(picked), seen=seen)
