"""What the status bar shows about sync, and the messages that carry it to the UI thread.

Two sources meet here. The store says which server the workspace follows, how many changes wait
in the outbox and the last error a sync wrote down (read on every store change: cheap). The
background sync running in the console (:mod:`supportdesk.tui.sync_link`) says what only it
knows — connected or not, a round under way, who else is in a ticket — by posting
:class:`SyncReported` from its threads. :class:`SyncStatus` merges both into one line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual.message import Message

from supportdesk.store.reads import SyncSummary

if TYPE_CHECKING:
    from supportdesk.sync.service import SyncStatus as ServiceStatus


@dataclass(frozen=True)
class SyncStatus:
    server_url: str | None = None
    #: the running sync's state (``connecting``, ``online``, ``offline``, ``error``); None while
    #: no sync runs in this console
    connection: str | None = None
    syncing: bool = False
    pending: int = 0
    failed: int = 0
    last_error: str | None = None  # written down by the last sync that failed
    live_error: str | None = None  # what the running sync last ran into
    #: the server's notices for admins the last round brought (``supportdesk.sync.notices``)
    notices: int = 0

    @property
    def local(self) -> bool:
        return self.server_url is None

    @property
    def online(self) -> bool | None:
        return None if self.connection in (None, "connecting") else self.connection == "online"

    @property
    def problem(self) -> bool:
        """Worth the warning colour: offline, failing, changes the server refused, or a notice."""
        return not self.local and (self.online is False or bool(self.failed) or bool(self.error) or bool(self.notices))

    @property
    def error(self) -> str | None:
        if self.connection == "online":
            return None
        return self.live_error if self.connection is not None else self.last_error

    def with_summary(self, summary: SyncSummary) -> SyncStatus:
        """Merge what the store says (server, outbox, last error) into the live facts."""
        return replace(
            self,
            server_url=summary.server_url,
            pending=summary.pending,
            failed=summary.failed,
            last_error=summary.last_error,
        )

    def with_service(self, status: ServiceStatus) -> SyncStatus:
        """Merge what the running sync reported."""
        connection = None if status.connection == "local" else status.connection
        return replace(self, connection=connection, syncing=status.syncing, live_error=status.last_error)

    def label(self) -> str:
        """``online · 3 pending``, ``offline · 12 pending · cannot reach …``, ``local workspace``."""
        if self.local:
            return "local workspace"
        state = "syncing" if self.syncing and self.connection == "online" else (self.connection or "sync off")
        parts = [state]
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.failed:
            parts.append(f"{self.failed} not replayed")
        if self.notices:
            parts.append(f"{self.notices} admin notice{'s' if self.notices != 1 else ''}")
        if self.error:
            parts.append(self.error if len(self.error) <= 80 else self.error[:79] + "…")
        return " · ".join(parts)


class SyncReported(Message):
    """Posted to the app by the background sync (from its threads) whenever its status changes."""

    def __init__(self, status: ServiceStatus) -> None:
        super().__init__()
        self.status = status


class PresenceChanged(Message):
    """Posted to the ticket pane when the agents viewing or typing in its ticket change."""

    def __init__(self, ticket_id: str, viewers: list[str]) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.viewers = viewers
