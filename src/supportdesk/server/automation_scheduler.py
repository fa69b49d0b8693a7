"""The server's scheduler: every few minutes, one run of each active time-based automation.

Each server process runs one scheduler thread (a worker of the app). A round reads the active
automations (``when: [scheduled]`` rules) and applies ``automation.run`` for each, as the system,
through the server's one write path (:meth:`ServerState.apply_as`): its changes go to the change
log, wake the clients and reach the webhooks like any write. Several processes on one
PostgreSQL database may run the same automation at once; the firing table's key lets only one
of them fire on a ticket (see :mod:`supportdesk.domain.automations`).

The interval is ``supportdesk serve --automation-interval`` (seconds, 300 by default; 0 turns the
scheduler off). The first round runs shortly after start, so a server that was down catches up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from supportdesk.server.reads import snapshot

if TYPE_CHECKING:
    from supportdesk.server.state import ServerState

log = logging.getLogger("supportdesk.server.automations")

#: Seconds after start before the first round (the server answers requests first).
FIRST_ROUND_AFTER = 1.0


def automation_ids(state: ServerState) -> list[str]:
    """The active automations, in the order they run (position, then name)."""
    from supportdesk.domain.automations import is_automation

    with snapshot(state.database) as connection:
        rows = connection.execute(text("SELECT id, events, active FROM trigger_rule ORDER BY position, name")).all()
    found = []
    for rule_id, events, active in rows:
        if active and is_automation({"events": _json(events)}):
            found.append(str(rule_id))
    return found


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def run_round(state: ServerState) -> dict[str, int]:
    """One round: run every active automation once; returns how many tickets each fired on, by id."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.domain.errors import DomainError

    fired: dict[str, int] = {}
    for rule_id in automation_ids(state):
        try:
            result, _warnings = state.apply_as(SYSTEM, "automation.run", {"rule_id": rule_id})
        except DomainError as error:  # deleted or changed meanwhile: the next round sees it
            log.warning("automation %s not run: %s", rule_id, error)
            continue
        fired[rule_id] = len(result.get("fired", []))
        if result.get("fired") or result.get("failed"):
            log.info(
                "automation %s fired on %d ticket(s), failed on %d",
                result.get("name"),
                len(result.get("fired", [])),
                len(result.get("failed", [])),
            )
    return fired


class Scheduler:
    """The scheduler thread of one server process."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, state: ServerState) -> Callable[[], None]:
        self._thread = threading.Thread(target=self._run, args=(state,), name="automations", daemon=True)
        self._thread.start()
        return self.stop

    def wake(self) -> None:
        """Run a round now (an admin asked for one)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self, state: ServerState) -> None:
        self._wake.wait(min(FIRST_ROUND_AFTER, self.interval))
        while not self._stop.is_set():
            self._wake.clear()
            try:
                run_round(state)
            except Exception as error:  # the scheduler must outlive a database hiccup
                from supportdesk.server.handlers import safe_description

                log.error("automation round failed: %s", safe_description(error))
            self.rounds += 1
            self._wake.wait(self.interval)


def install(state: ServerState) -> None:
    """Start the scheduler with the server, unless ``automation_interval`` is 0."""
    if state.config.automation_interval <= 0:
        return
    scheduler = Scheduler(state.config.automation_interval)
    state.extensions["automations"] = scheduler
    state.workers.append(scheduler.start)
