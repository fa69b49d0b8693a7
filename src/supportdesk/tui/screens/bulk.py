"""``;`` — one action applied to every tagged row, mutt style, as one batch of mutations."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from supportdesk.store.reads import QueueRow
from supportdesk.tui import choices
from supportdesk.tui.screens.forms import Choice, PickerScreen, PromptScreen

if TYPE_CHECKING:
    from supportdesk.tui.screens.queue import QueueScreen

ACTIONS = [
    Choice("status", "Set status"),
    Choice("priority", "Set priority"),
    Choice("assign", "Assign to"),
    Choice("group", "Move to group"),
    Choice("tag", "Add tags"),
    Choice("macro", "Apply macro"),
]


def mutations_for(kind: str, picked: str, rows: list[QueueRow]) -> list[tuple[str, dict[str, Any]]]:
    """The batch for one bulk action; every row gets its own mutation (each may be refused)."""
    if kind == "status":
        return [("ticket.set_status", {"ticket_id": r.id, "status": picked, "seen": r.status}) for r in rows]
    if kind == "priority":
        return [("ticket.set_priority", {"ticket_id": r.id, "priority": picked, "seen": r.priority}) for r in rows]
    if kind == "assign":
        return [("ticket.assign", {"ticket_id": r.id, "assignee_id": choices.value(picked)}) for r in rows]
    if kind == "group":
        return [("ticket.assign", {"ticket_id": r.id, "group_id": choices.value(picked)}) for r in rows]
    if kind == "tag":
        tags = [t.strip() for t in picked.replace(",", " ").split() if t.strip()]
        return [("ticket.tag", {"ticket_id": r.id, "tags": tags}) for r in rows]
    if kind == "macro":
        return [("macro.apply", {"ticket_id": r.id, "macro_id": picked}) for r in rows]
    raise ValueError(kind)


def run_bulk(screen: QueueScreen, rows: list[QueueRow], *, done: Callable[[], None]) -> None:
    app = screen.console
    count = len(rows)

    def apply(kind: str, picked: str | None) -> None:
        if picked is None:
            return

        def finished(outcomes: list[Any]) -> None:
            applied = sum(1 for o in outcomes if o.ok)
            refused = len(outcomes) - applied
            screen.notify(f"{applied} of {count} applied" + (f", {refused} refused" if refused else ""), markup=False)
            done()

        app.write(mutations_for(kind, picked, rows), done=finished)

    def ask_value(kind: str | None) -> None:
        if kind is None:
            return
        title = f"{next(c.label for c in ACTIONS if c.value == kind)} — {count} tickets"
        if kind == "tag":
            app.push_screen(PromptScreen(title, placeholder="tags, separated by spaces"), lambda v: apply(kind, v))
            return
        options = {
            "status": choices.status_choices,
            "priority": choices.priority_choices,
            "assign": lambda: choices.agent_choices(app.db, me=app.me),
            "group": lambda: choices.group_choices(app.db),
            "macro": lambda: choices.macro_choices(app.db),
        }[kind]()
        app.push_screen(PickerScreen(title, options), lambda v: apply(kind, v))

    app.push_screen(PickerScreen(f"Apply to {count} tagged tickets", ACTIONS), ask_value)
