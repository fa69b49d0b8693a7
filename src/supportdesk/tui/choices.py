"""The values a picker offers for each ticket field, read from the store when asked."""

from __future__ import annotations

from supportdesk.store import reads
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
    with db.read() as connection:
        groups = reads.list_groups(connection)
    return [Choice(NONE, "no group"), *(Choice(gid, safe_line(name, cap=80)) for gid, name in groups)]


def agent_choices(db: ConsoleDB, group_id: str | None = None, *, me: str | None = None) -> list[Choice]:
    """Agents who may hold a ticket of ``group_id`` (its members and the admins), me first."""
    with db.read() as connection:
        agents = reads.list_agents(connection)
    chosen = [a for a in agents if group_id is None or a.role == "admin" or group_id in a.group_ids]
    chosen.sort(key=lambda a: (a.id != me, a.name.lower()))
    return [
        Choice(NONE, "nobody"),
        *(Choice(a.id, safe_line(a.name, cap=80), "me" if a.id == me else a.role.replace("_", " ")) for a in chosen),
    ]


def macro_choices(db: ConsoleDB) -> list[Choice]:
    with db.read() as connection:
        macros = reads.list_macros(connection)
    return [Choice(m["id"], safe_line(m["name"], cap=120)) for m in macros]


def value(choice: str) -> str | None:
    return None if choice == NONE else choice
