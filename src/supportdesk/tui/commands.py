"""The command palette's provider: every action the current screen offers, plus its macros."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from supportdesk.tui.actions import ACTIONS, SCOPES
from supportdesk.tui.keymap import effective_keys


class ConsoleCommands(Provider):
    """Lists the actions of the screen's scopes (``PALETTE_SCOPES``) with their current keys."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        scopes = (*getattr(screen, "PALETTE_SCOPES", ()), "app")
        keymap = getattr(self.app, "user_keys", None)
        user = keymap.keymap if keymap is not None else {}
        found: list[tuple[str, str, Callable[[], Any]]] = []
        for action in ACTIONS:
            if action.scope not in scopes or not action.palette:
                continue
            target = self.app if action.scope == "app" else screen
            keys = effective_keys(action.id, user).split(",")[0]
            title = f"{SCOPES[action.scope]}: {action.description}"
            found.append((title, f"{action.help} · {keys}", partial(target.run_action, action.action)))
        extra = getattr(screen, "palette_commands", None)
        if extra is not None:
            found.extend(extra())
        return found

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(Content(title), run, text=title, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        """Fuzzy matches, highlighted without ever parsing a title as markup (macro names are data)."""
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score, offsets = matcher.fuzzy_search.match(query, title)
            if score > 0:
                display = Content(title)
                for offset in offsets:
                    display = display.stylize(matcher.match_style, offset, offset + 1)
                yield Hit(score, display, run, text=title, help=escape(help_text))
