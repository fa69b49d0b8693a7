"""What the status bar shows about sync and presence, behind one small interface.

The console reads the workspace's ``sync_state`` and outbox itself (cheap, on every store
change). A sync client running in the console (issue #4) reports live facts the store cannot
know — connected or not, who else is looking at a ticket — by posting
:class:`SyncStatusChanged` and :class:`PresenceChanged` to the app; nothing else is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.message import Message

from supportdesk.store.reads import SyncSummary


@dataclass(frozen=True)
class SyncStatus:
    server_url: str | None = None
    online: bool | None = None  # None: no sync client has reported yet
    pending: int = 0
    failed: int = 0
    last_error: str | None = None

    @property
    def local(self) -> bool:
        return self.server_url is None

    def with_summary(self, summary: SyncSummary) -> SyncStatus:
        """Merge what the store says (server, outbox, last error) into the live facts."""
        return replace(
            self,
            server_url=summary.server_url,
            pending=summary.pending,
            failed=summary.failed,
            last_error=summary.last_error,
        )

    def label(self) -> str:
        if self.local:
            return "local workspace"
        state = {True: "online", False: "offline", None: "sync idle"}[self.online]
        parts = [state]
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.failed:
            parts.append(f"{self.failed} refused")
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        return " · ".join(parts)


class SyncStatusChanged(Message):
    """Posted to the app by a sync client when it connects, disconnects or fails."""

    def __init__(self, online: bool | None, last_error: str | None = None) -> None:
        super().__init__()
        self.online = online
        self.last_error = last_error


class PresenceChanged(Message):
    """Posted to the app when the set of other agents viewing or typing in a ticket changes."""

    def __init__(self, ticket_id: str, viewers: list[str], typing: list[str] | None = None) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.viewers = viewers
        self.typing = typing or []
