"""One line above the footer: who I am, the sync state, and what the screen wants to say."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from supportdesk.tui.sync_status import SyncStatus


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; }
    StatusBar > #status-context { width: 1fr; padding: 0 1; }
    StatusBar > #status-sync { width: auto; padding: 0 1; }
    StatusBar > #status-me { width: auto; padding: 0 1; color: $text; }
    StatusBar > #status-sync.-problem { color: $warning; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="status-context", markup=False)
        yield Static(id="status-sync", markup=False)
        yield Static(id="status-me", markup=False)

    def on_mount(self) -> None:
        app = self.app
        role = getattr(app, "me_role", "")
        name = getattr(app, "me_name", "")
        self.query_one("#status-me", Static).update(Content(f"{name}{f' ({role})' if role else ''}"))
        self.watch(app, "sync_status", self._show_sync)

    def _show_sync(self, status: SyncStatus) -> None:
        label = self.query_one("#status-sync", Static)
        label.update(Content(status.label()))
        label.set_class(status.problem, "-problem")

    def say(self, text: str) -> None:
        """The screen's own part: a count, a position, who else views the ticket."""
        # a fixed-size cell: repaint it without laying the screen out again (this runs per key)
        self.query_one("#status-context", Static).update(Content(text), layout=False)
