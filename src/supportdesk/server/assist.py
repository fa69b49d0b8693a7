"""Triage on the server: every new ticket gets its language, sentiment and intent.

After a write that created tickets commits (``ticket.create`` from a channel or an agent,
``ticket.receive`` opening a follow-up), their ids go on a queue; one worker thread reads each
ticket's subject and customer messages, runs the assist engine's triage
(:mod:`supportdesk.assist.triage`) and writes the result with ``ticket.triage`` through
``ServerState.apply_as`` — so the rules loop sees the fields (a routing rule on
``sentiment:negative`` fires) and every replica pulls them like any change.

Why a worker and not the request: triage takes milliseconds but must never fail (or slow) the
write that created the ticket, a customer's webhook or an agent's push. The models load once,
while the server starts (``--no-triage`` skips them). The server keeps no vectors
and learns intents from the shipped seed only (``assist.triager`` learns from a workspace).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError

if TYPE_CHECKING:
    from supportdesk.assist.triage import Triager
    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

log = logging.getLogger(__name__)

#: The mutations after which the tickets they inserted are triaged.
ARRIVALS = frozenset({"ticket.create", "ticket.receive"})
#: Customer messages read per ticket (triage reads the start of a conversation).
MESSAGES = 20


class ServerTriage:
    """The after-commit hook and the worker of one app (see the module docstring)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.pending: queue.Queue[str | None] = queue.Queue()
        self.triager: Triager | None = None
        #: Tickets triaged since start (tests wait on it; ``done`` is set after each).
        self.count = 0
        self.done = threading.Condition()

    def after_commit(self, _database: ServerDatabase, applied: Applied) -> None:
        if applied.name in ARRIVALS:
            for ticket_id in applied.inserted_ids("ticket"):
                self.pending.put(ticket_id)

    def worker(self, _state: ServerState) -> Callable[[], None]:
        """Load the models, then start the thread. Loading holds the interpreter for seconds
        (Lingua's models are read by native code), so it happens while the server starts, not
        while it answers: a request waiting that long would be cut by the header deadline."""
        from supportdesk.assist.triage import triager

        self.triager = triager()
        self.triager.triage("warm up", ["load every model now"])
        thread = threading.Thread(target=self._run, name="supportdesk-triage", daemon=True)
        thread.start()

        def stop() -> None:
            self.pending.put(None)
            thread.join(10)

        return stop

    def _run(self) -> None:
        while True:
            ticket_id = self.pending.get()
            if ticket_id is None:
                return
            try:
                self.triage(ticket_id)
            except Exception:  # a fault in triage leaves the ticket untriaged, never the server down
                log.exception("triage of ticket %s failed; it keeps no triage fields", ticket_id)
            with self.done:
                self.count += 1
                self.done.notify_all()

    def triage(self, ticket_id: str) -> dict[str, Any] | None:
        """Triage one ticket and write the result; None if it is gone or has no text."""
        from supportdesk.assist.triage import triager

        found = _ticket_text(self.state.database, ticket_id)
        if found is None:
            return None
        subject, bodies = found
        if self.triager is None:
            self.triager = triager()
        fields = self.triager.triage(subject, bodies).fields()
        try:
            return self.state.apply_as(SYSTEM, "ticket.triage", {"ticket_id": ticket_id, **fields})[0]
        except DomainError as error:  # erased or closed meanwhile
            log.info("triage of ticket %s not written: %s", ticket_id, error)
            return None


def _ticket_text(database: ServerDatabase, ticket_id: str) -> tuple[str, list[str]] | None:
    try:
        with database.read_engine.connect() as connection:  # a read: never takes the write lock
            subject = connection.execute(text("SELECT subject FROM ticket WHERE id = :t"), {"t": ticket_id}).scalar()
            if subject is None:
                return None
            rows = connection.execute(
                text(
                    "SELECT body FROM message WHERE ticket_id = :t AND author_kind = 'customer' "
                    f"ORDER BY created_at, id LIMIT {MESSAGES}"
                ),
                {"t": ticket_id},
            )
            bodies = [str(row[0] or "") for row in rows]
            if not bodies:  # an agent opened it (a call logged): their first message tells the ask
                first = connection.execute(
                    text("SELECT body FROM message WHERE ticket_id = :t ORDER BY created_at, id LIMIT 1"),
                    {"t": ticket_id},
                ).scalar()
                bodies = [str(first or "")]
            return str(subject), bodies
    except SQLAlchemyError:
        log.exception("reading ticket %s for triage failed", ticket_id)
        return None


def install(state: ServerState) -> ServerTriage:
    """Triage every new ticket of this app's server (its hook and its worker)."""
    triage = ServerTriage(state)
    state.extensions["triage"] = triage
    state.after_commit.append(triage.after_commit)
    state.workers.append(triage.worker)
    return triage
