"""The footer: the keys that work now, as one line of text.

Textual's ``Footer`` mounts a widget per key and rebuilds them whenever the bindings change —
on every screen switch and focus change, which made opening a ticket cost ~100 ms more. This
draws the same information (the focused widget's bindings first, then its ancestors') as one
``Content``, and follows the screen's ``bindings_updated`` signal like the Footer does.

A click on a key runs its action where the key would (a console used with a mouse, or served in
a browser, has no other way to reach what the footer lists): the bar remembers which cells each
key took.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

#: Cells between two keys of the bar.
GAP = 2


@dataclass(frozen=True)
class KeySpan:
    """The cells ``start`` ≤ x < ``end`` of the bar show one key; clicking runs ``action`` on ``node``."""

    start: int
    end: int
    node: DOMNode
    action: str


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { height: 1; dock: bottom; background: $footer-background; color: $footer-foreground; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    spans: tuple[KeySpan, ...] = ()

    def _bindings_changed(self, screen: Screen[object]) -> None:
        seen: set[str] = set()
        parts: list[Content] = []
        spans: list[KeySpan] = []
        x = 0
        for node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            style = "bold $footer-key-foreground" if enabled else "dim"
            part = Content.styled(key, style) + Content(f" {binding.description}")
            width = cell_len(part.plain)
            if enabled:
                spans.append(KeySpan(x, x + width, node, binding.action))
            parts.append(part)
            x += width + GAP
        self.spans = tuple(spans)
        self.update(Content(" " * GAP).join(parts), layout=False)

    def span_at(self, x: int) -> KeySpan | None:
        """The key drawn at cell ``x`` of the bar's content (None: between keys or past them)."""
        return next((span for span in self.spans if span.start <= x < span.end), None)

    async def on_click(self, event: events.Click) -> None:
        span = self.span_at(event.x - self.styles.padding.left)
        if span is not None:
            event.stop()
            await self.app.run_action(span.action, span.node)
