"""The footer: the keys that work now, as one line of text.

Textual's ``Footer`` mounts a widget per key and rebuilds them whenever the bindings change —
on every screen switch and focus change, which made opening a ticket cost ~100 ms more. This
draws the same information (the focused widget's bindings first, then its ancestors') as one
``Content``, and follows the screen's ``bindings_updated`` signal like the Footer does.
"""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { height: 1; dock: bottom; background: $footer-background; color: $footer-foreground; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        seen: set[str] = set()
        parts: list[Content] = []
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            style = "bold $footer-key-foreground" if enabled else "dim"
            parts.append(Content.styled(key, style) + Content(f" {binding.description}"))
        self.update(Content("  ").join(parts), layout=False)
