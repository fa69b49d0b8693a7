"""Handle time: how long an agent spends on a ticket, measured by the console.

Time counts while the ticket pane shows the ticket (or a picker over it), the terminal has focus
and the agent is not idle. With no key, click or scroll for :data:`IDLE_AFTER` seconds the
clock stops at the last input, and starts again at the next one. Leaving the ticket closes the
visit; visits wait in a small batch that the app writes as ``ticket.record_handle_time``
mutations when the agent is back in the queue, when the batch is a minute old, and on quit —
so stepping through ten tickets is one write, and no counted second is lost on the way out.

No Textual here: the app feeds it events and a monotonic clock (a test's clock can be wound).
"""

from __future__ import annotations

from collections.abc import Callable

#: Seconds without input after which the agent counts as away.
IDLE_AFTER = 180.0
#: A batch of finished visits is written at the latest this many seconds after its first visit.
FLUSH_AFTER = 60.0
#: The mutation's bounds.
MAX_SECONDS = 86_400


class HandleClock:
    def __init__(self, clock: Callable[[], float], *, idle_after: float = IDLE_AFTER) -> None:
        self.clock = clock
        self.idle_after = idle_after
        self.ticket_id: str | None = None
        self.pending: dict[str, float] = {}
        self.batch_started: float | None = None
        self._since: float | None = None  # counting since; None while not counting
        self._last_input = clock()
        self._focused = True
        self._covered = False  # another full screen hides the pane
        self._idle = False

    # --- what the agent is doing ----------------------------------------------------------

    @property
    def counting(self) -> bool:
        return self._since is not None

    def _should_count(self) -> bool:
        return self.ticket_id is not None and self._focused and not self._covered and not self._idle

    def _update(self, at: float) -> None:
        """Start or stop counting to match the state, crediting what was counted up to ``at``."""
        if self._since is not None and not self._should_count():
            self._credit(at)
            self._since = None
        elif self._since is None and self._should_count():
            self._since = at

    def _credit(self, until: float) -> None:
        if self._since is None or self.ticket_id is None or until <= self._since:
            return
        self.pending[self.ticket_id] = self.pending.get(self.ticket_id, 0.0) + (until - self._since)
        if self.batch_started is None:
            self.batch_started = until
        self._since = until

    def open(self, ticket_id: str) -> None:
        """The pane shows ``ticket_id`` (a visit to another ticket ends the one before)."""
        now = self.clock()
        if ticket_id != self.ticket_id:
            self.leave()
        self.ticket_id = ticket_id
        self._covered = False
        self._last_input = now
        self._idle = False
        self._update(now)

    def leave(self) -> None:
        """The pane no longer shows a ticket: its time so far joins the batch."""
        now = self.clock()
        self._credit(now)
        self._since = None
        self.ticket_id = None

    def cover(self, covered: bool) -> None:
        """A full screen (the dashboard, the help) hides the pane, or stops hiding it."""
        self._covered = covered
        self._update(self.clock())

    def focus(self, focused: bool) -> None:
        """The terminal gained or lost focus (when it reports it)."""
        now = self.clock()
        self._focused = focused
        if focused:
            self._last_input, self._idle = now, False
        self._update(now)

    def input(self) -> None:
        """A key, click or scroll: the agent is here."""
        now = self.clock()
        self._last_input = now
        if self._idle:
            self._idle = False
            self._update(now)

    def check_idle(self) -> None:
        """Called on a timer: after :attr:`idle_after` seconds without input, stop at the last input."""
        now = self.clock()
        if not self._idle and now - self._last_input >= self.idle_after:
            self._idle = True
            if self._since is not None:
                self._credit(max(self._last_input, self._since))
                self._since = None

    # --- the batch ------------------------------------------------------------------------

    def due(self) -> bool:
        """Whether the batch waited long enough to be written without a reason."""
        return self.batch_started is not None and self.clock() - self.batch_started >= FLUSH_AFTER

    def take(self, *, everything: bool = False) -> list[tuple[str, int]]:
        """Finished visits as ``(ticket_id, whole seconds)``; ``everything`` closes the running
        one too (quitting). The open ticket's time waits until the agent leaves it."""
        if everything:
            self._credit(self.clock())
        finished = {ticket: seconds for ticket, seconds in self.pending.items() if ticket != self.ticket_id}
        if everything:
            finished = dict(self.pending)
        for ticket in finished:
            del self.pending[ticket]
        self.batch_started = self.clock() if self.pending else None
        return [
            (ticket, min(round(seconds), MAX_SECONDS)) for ticket, seconds in finished.items() if round(seconds) >= 1
        ]


def handle_time_mutations(visits: list[tuple[str, int]]) -> list[tuple[str, dict[str, object]]]:
    return [("ticket.record_handle_time", {"ticket_id": ticket, "seconds": seconds}) for ticket, seconds in visits]
