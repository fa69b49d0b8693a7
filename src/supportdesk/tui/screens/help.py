"""``?``: every binding of the console with its id, the keys it answers to now (the user's
remaps included) and the user's macro keys."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from supportdesk.tui.actions import ACTIONS, SCOPES
from supportdesk.tui.keymap import effective_keys
from supportdesk.tui.text import safe_line

KEY_NAMES = {"question_mark": "?", "slash": "/", "semicolon": ";", "space": "space"}


def key_label(keys: str) -> str:
    return ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


#: Below this many cells a binding's help goes on its own line under it instead of beside it.
ONE_LINE_WIDTH = 120


def help_content(
    keymap: dict[str, str], macro_keys: dict[str, str], config_file: str, *, width: int = ONE_LINE_WIDTH
) -> Content:
    """Every binding by scope; ``width`` is the room there is (at 80 columns each binding takes
    two lines, the help indented under its key, so nothing wraps into the key column)."""
    narrow = width < ONE_LINE_WIDTH
    lines: list[Content] = []
    for scope, title in SCOPES.items():
        actions = [a for a in ACTIONS if a.scope == scope]
        if not actions:
            continue
        lines.append(Content.styled(title, "bold underline"))
        for action in actions:
            keys = key_label(effective_keys(action.id, keymap))
            mark = " *" if action.id in keymap else ""
            line = (
                Content(f"  {keys:<16}")
                + Content.styled(f"{action.id + mark:<24}", "italic dim")
                + Content(f"{action.description:<16} ")
            )
            if narrow:
                lines.append(line)
                lines.append(Content(" " * 6) + Content.styled(action.help, "dim"))
            else:
                lines.append(line + Content.styled(action.help, "dim"))
        lines.append(Content(""))
    lines.append(Content.styled("Your macro keys", "bold underline"))
    if macro_keys:
        for key, name in macro_keys.items():
            lines.append(Content(f"  {key_label(key):<18}") + Content(safe_line(name, cap=100)))
    else:
        lines.append(Content.styled("  none: add a [macro_keys] table to the config file", "dim"))
    lines.append(Content(""))
    lines.append(Content.styled(f"Remap any binding by its id in [keys] of {config_file}; * marks yours.", "dim"))
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Content.styled("supportdesk — keys  (esc closes)", "bold"), id="help-title")
            yield Static(self._content(self.app.size.width), id="help-body")

    def _content(self, width: int) -> Content:
        app = self.app
        user = getattr(app, "user_keys", None)
        settings = getattr(app, "settings", None)
        return help_content(
            user.keymap if user else {},
            user.macro_keys if user else {},
            str(settings.config_file) if settings else "config.toml",
            width=width,
        )

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#help-body", Static).update(self._content(event.size.width))
