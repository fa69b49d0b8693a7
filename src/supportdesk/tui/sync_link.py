"""The console's link to its team server: the background sync and this agent's presence.

When the workspace follows a server (``sync_state.server_url``), the console starts a
:class:`~supportdesk.sync.service.SyncService` once its first frame is drawn and stops it on
exit. The service calls back from its own threads; the callback only posts
:class:`~supportdesk.tui.sync_status.SyncReported`, and the app hands each report to
:meth:`SyncLink.reported` on the UI thread: the status bar, who else is in which ticket, and a
notification for every change the server refused (a refused reply or note is back in its
draft) or warned about ("changed meanwhile by …"), and — for an admin — one for each notice the
server asks admins to act on (a webhook endpoint it disabled), once per session, when a round
brings it; the status bar counts the notices until someone acts.

Presence: the ticket pane says which ticket the agent is in and when they type; only a change
is sent (``viewing`` / ``typing`` / ``left``), and typing falls back to viewing after a few quiet
seconds.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from supportdesk.tui.sync_status import PresenceChanged, SyncReported

if TYPE_CHECKING:
    from supportdesk.sync.engine import Refusal
    from supportdesk.sync.service import SyncService
    from supportdesk.sync.service import SyncStatus as ServiceStatus
    from supportdesk.tui.console import Console

#: Seconds without a keystroke after which "typing" becomes "viewing" again.
TYPING_QUIET = 6.0
DRAFT_KINDS = {"ticket.reply": "reply", "ticket.note": "note"}

Send = tuple[str, str]  # (ticket id, state)


class Presence:
    """Where this agent is, as the server should know it. Each method returns what to send."""

    def __init__(self) -> None:
        self.ticket_id: str | None = None
        self.state: str | None = None
        self.typed_at = 0.0

    def current(self) -> list[Send]:
        return [(self.ticket_id, self.state)] if self.ticket_id and self.state else []

    def enter(self, ticket_id: str) -> list[Send]:
        if ticket_id == self.ticket_id:
            return []
        sends = self.leave()
        self.ticket_id, self.state = ticket_id, "viewing"
        return [*sends, (ticket_id, "viewing")]

    def leave(self) -> list[Send]:
        sends = [(self.ticket_id, "left")] if self.ticket_id else []
        self.ticket_id = self.state = None
        return sends

    def typed(self, ticket_id: str, now: float) -> list[Send]:
        sends = self.enter(ticket_id)
        self.typed_at = now
        if self.state != "typing":
            self.state = "typing"
            sends.append((ticket_id, "typing"))
        return sends

    def stopped_typing(self) -> list[Send]:
        if self.ticket_id and self.state == "typing":
            self.state = "viewing"
            return [(self.ticket_id, "viewing")]
        return []

    def tick(self, now: float) -> list[Send]:
        if self.state == "typing" and now - self.typed_at > TYPING_QUIET:
            return self.stopped_typing()
        return []


def others_by_ticket(status: ServiceStatus, me: str | None) -> dict[str, list[str]]:
    """Other agents in each ticket, as the ticket pane lists them: ``Sam Agent (typing)``."""
    found: dict[str, list[str]] = {}
    for ticket_id in {viewer.ticket_id for viewer in status.presence}:
        viewers = sorted(status.viewers(ticket_id, exclude=me), key=lambda v: (v.agent_name.lower(), v.agent_id))
        if viewers:
            found[ticket_id] = [
                f"{v.agent_name or 'another agent'}{' (typing)' if v.state == 'typing' else ''}" for v in viewers
            ]
    return found


class SyncLink:
    def __init__(self, app: Console, *, interval: float = 30.0) -> None:
        self.app = app
        self.interval = interval
        self.service: SyncService | None = None
        self.presence = Presence()
        self._lock = threading.Lock()
        self._last: ServiceStatus | None = None
        self._refusals_shown = 0
        self._round: Any = None
        self._notices_shown: set[str] = set()

    @property
    def running(self) -> bool:
        return self.service is not None

    # --- start and stop (thread workers) -----------------------------------------------------

    def start(self) -> None:
        """Start the background sync (in a thread: it imports the HTTP client)."""
        from supportdesk.sync.service import SyncService

        app = self.app

        def report(status: ServiceStatus) -> None:
            app.post_message(SyncReported(status))

        service = SyncService(
            app.workspace,
            on_change=report,
            interval=self.interval,
            profile=app.settings.profile,
        )
        with self._lock:
            self.service = service
        service.start()
        self._send(self.presence.current())

    def stop(self, timeout: float = 1.0) -> None:
        """Say goodbye to the ticket on screen, then stop the threads (daemons: never waited on long)."""
        with self._lock:
            service, self.service = self.service, None
        if service is None:
            return
        for ticket_id, _state in self.presence.leave():
            service.set_presence(ticket_id, "left")
        service.stop(timeout)

    def push_soon(self) -> None:
        """A local change was made: ask for a sync round now (any thread)."""
        if self.service is not None:
            self.service.sync_now()

    # --- presence (UI thread) -----------------------------------------------------------------

    def _send(self, sends: list[Send]) -> None:
        service = self.service
        if service is not None:
            for ticket_id, state in sends:
                service.set_presence(ticket_id, state)

    def entered(self, ticket_id: str) -> None:
        self._send(self.presence.enter(ticket_id))

    def left(self) -> None:
        self._send(self.presence.leave())

    def typed(self, ticket_id: str) -> None:
        self._send(self.presence.typed(ticket_id, time.monotonic()))

    def stopped_typing(self) -> None:
        self._send(self.presence.stopped_typing())

    def tick(self) -> None:
        """Every few seconds: typing that went quiet, other agents whose presence expired."""
        self._send(self.presence.tick(time.monotonic()))
        if self._last is not None:
            self._show_presence(self._last)

    # --- reports (UI thread) ------------------------------------------------------------------

    def reported(self, status: ServiceStatus) -> None:
        self._last = status
        self._show_presence(status)
        if status.last_sync_at != self._round:
            self._round = status.last_sync_at
            for warning in status.warnings:
                self.app.notify(warning, title="Synced", severity="warning", markup=False, timeout=10)
            if status.last_sync_at is not None:
                self._show_notices()
        fresh = status.refusals[self._refusals_shown :]
        self._refusals_shown = len(status.refusals)
        for refusal in fresh:
            self._refused(refusal)

    def _show_notices(self) -> None:
        """After a round: notify each notice not shown yet this session; count them in the bar."""
        from dataclasses import replace

        from supportdesk.sync.notices import remembered

        app = self.app
        found = remembered(app.workspace)
        for notice in found:
            if notice.key not in self._notices_shown:
                self._notices_shown.add(notice.key)
                app.notify(
                    notice.message, title="Server notice for admins", severity="warning", markup=False, timeout=30
                )
        if app.sync_status.notices != len(found):
            app.sync_status = replace(app.sync_status, notices=len(found))

    def _show_presence(self, status: ServiceStatus) -> None:
        app = self.app
        others = others_by_ticket(status, app.me)
        if others == app.presence:
            return
        before, app.presence = app.presence, others
        for ticket_id in set(before) | set(others):
            if before.get(ticket_id) != others.get(ticket_id):
                for screen in app.screen_stack:
                    screen.post_message(PresenceChanged(ticket_id, others.get(ticket_id, [])))

    def _refused(self, refusal: Refusal) -> None:
        app = self.app
        ticket_id = str(refusal.args.get("ticket_id") or "")
        kind = DRAFT_KINDS.get(refusal.name)
        label = ""
        if ticket_id:
            number = app.db.ticket_number(ticket_id)
            label = f" on #{number}" if number is not None else ""
        text = refusal.message
        if kind and refusal.args.get("body"):
            text += f"\nYour {'reply' if kind == 'reply' else 'internal note'}{label} is back in its draft."
        app.notify(text, title=f"The server refused {refusal.name}", severity="error", markup=False, timeout=20)
        if kind and ticket_id:
            screen = app.ticket_screen_if_open()
            if screen is not None:
                screen.take_back(ticket_id, kind, str(refusal.args.get("body") or ""))
