"""``;`` — one action applied to every tagged row, mutt style, as one batch of mutations."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from supportdesk.store.reads import QueueRow
from supportdesk.tui import choices
from supportdesk.tui.screens.forms import PickerScreen, PromptScreen

if TYPE_CHECKING:
    from supportdesk.tui.console import Console

ACTIONS = choices.BULK_ACTIONS


def mutations_for(kind: str, picked: str, rows: list[QueueRow]) -> list[tuple[str, dict[str, Any]]]:
    """The batch for one bulk action; every row gets its own mutation (each may be refused)."""
    return [choices.field_mutation(kind, row.id, picked, seen=getattr(row, kind, None)) for row in rows]


def run_bulk(app: Console, rows: list[QueueRow], *, done: Callable[[], None]) -> None:
    """Ask which action and which value, then write one mutation per tagged row."""
    count = len(rows)

    def apply(kind: str, picked: str | None) -> None:
        if picked is None:
            return

        def finished(outcomes: list[Any]) -> None:
            applied = sum(1 for o in outcomes if o.ok)
            refused = len(outcomes) - applied
            app.notify(f"{applied} of {count} applied" + (f", {refused} refused" if refused else ""), markup=False)
            done()

        app.write(mutations_for(kind, picked, rows), done=finished)

    def ask_value(kind: str | None) -> None:
        if kind is None:
            return
        title = f"{next(c.label for c in ACTIONS if c.value == kind)} — {count} tickets"
        if choices.is_typed(kind):
            hint = "tags, separated by spaces" if kind == "tags" else ""
            app.push_screen(PromptScreen(title, placeholder=hint), lambda v: apply(kind, v))
            return
        options = choices.choices_for(kind, app.db, me=app.me)
        app.push_screen(PickerScreen(title, options), lambda v: apply(kind, v))

    app.push_screen(PickerScreen(f"Apply to {count} tagged tickets", ACTIONS), ask_value)
