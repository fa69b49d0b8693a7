"""Live events: data-less pokes, presence and keep-alives, sent to clients over SSE.

A poke says only "the change log reached seq N": a client pulls to learn what changed, so a
poke leaks nothing. Presence (who views or types in which ticket) goes only to those who may
see the ticket. With PostgreSQL every event is published with NOTIFY and every server process
LISTENs, so the clients of all processes hear about every write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supportdesk.domain.context import Actor
from supportdesk.server.visibility import sees_ticket

if TYPE_CHECKING:
    from supportdesk.server.db import ServerDatabase

CHANNEL = "supportdesk_events"
PRESENCE_TTL = 45.0
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscriber:
    actor: Actor
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


class ServerEvents:
    """The fan-out hub of one server process (and its NOTIFY bridge on PostgreSQL)."""

    def __init__(self, database: ServerDatabase) -> None:
        self.database = database
        self.subscribers: set[Subscriber] = set()
        self.presence: dict[tuple[str, str], dict[str, Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self.last_seq = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        if self.database.is_postgres:
            ready = threading.Event()
            self._listener = threading.Thread(target=self._listen, args=(ready,), name="pg-listen", daemon=True)
            self._listener.start()
            ready.wait(10)

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)

    # --- publishing (any thread) -------------------------------------------------------------

    def poke(self, seq: int) -> None:
        """Tell every client that the change log reached ``seq`` (call after the commit)."""
        self._publish({"type": "poke", "seq": seq})

    def set_presence(self, actor: Actor, ticket_id: str, state: str) -> None:
        """Record who views or types in a ticket; those who may see the ticket are told."""
        from sqlalchemy import text

        with self.database.read_engine.connect() as connection:
            row = connection.execute(
                text("SELECT group_id, assignee_id FROM ticket WHERE id = :t"), {"t": ticket_id}
            ).first()
        if row is None or not sees_ticket(actor, row[0], row[1]):
            from supportdesk.server.apply import ApiError

            raise ApiError(404, "not_found", f"no ticket with id {ticket_id}", field="ticket_id")
        self._publish(
            {
                "type": "presence",
                "agent_id": actor.id,
                "agent_name": actor.name,
                "ticket_id": ticket_id,
                "state": state,
                "group_id": row[0],
                "assignee_id": row[1],
                "at": time.time(),
            }
        )

    def _publish(self, event: dict[str, Any]) -> None:
        if self.database.is_postgres:
            from sqlalchemy import text

            with self.database.engine.connect() as connection, connection.begin():
                connection.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": json.dumps(event)})
        else:
            self._deliver_threadsafe(event)

    def _deliver_threadsafe(self, event: dict[str, Any]) -> None:
        if self.loop is None or self.loop.is_closed():
            self._deliver(event)
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._deliver, event)

    # --- delivery (event loop) ---------------------------------------------------------------

    def _deliver(self, event: dict[str, Any]) -> None:
        if event["type"] == "poke":
            self.last_seq = max(self.last_seq, int(event["seq"]))
        elif event["type"] == "presence":
            key = (event["agent_id"], event["ticket_id"])
            if event["state"] == "left":
                self.presence.pop(key, None)
            else:
                self.presence[key] = event
        for subscriber in list(self.subscribers):
            if self.visible(subscriber.actor, event):
                try:
                    subscriber.queue.put_nowait(event)
                except asyncio.QueueFull:
                    subscriber.overflowed = True

    @staticmethod
    def visible(actor: Actor, event: dict[str, Any]) -> bool:
        if event["type"] != "presence":
            return True
        return sees_ticket(actor, event.get("group_id"), event.get("assignee_id"))

    def subscribe(self, actor: Actor) -> Subscriber:
        subscriber = Subscriber(actor)
        self.subscribers.add(subscriber)
        now = time.time()
        for event in list(self.presence.values()):
            if now - float(event["at"]) < PRESENCE_TTL and self.visible(actor, event):
                subscriber.queue.put_nowait(event)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    # --- PostgreSQL LISTEN -------------------------------------------------------------------

    def _listen(self, ready: threading.Event) -> None:
        import psycopg

        url = self.database.url.replace("postgresql+psycopg://", "postgresql://")
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    ready.set()
                    while not self._stop.is_set():
                        for notify in connection.notifies(timeout=0.5):
                            self._deliver_threadsafe(json.loads(notify.payload))
            except psycopg.Error:
                ready.set()
                self._stop.wait(1.0)
