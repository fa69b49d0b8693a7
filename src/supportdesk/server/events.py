"""Live events: data-less pokes, presence and keep-alives, sent to clients over SSE.

A poke says only "the change log reached seq N": a client pulls to learn what changed, so a
poke leaks nothing. Presence (who views or types in which ticket) goes only to those who may
see the ticket. With PostgreSQL every event is published with NOTIFY and every server process
LISTENs, so the clients of all processes hear about every write.

A stream is only as good as the token that opened it: every ``stream_recheck`` seconds one
query re-checks the tokens of all open streams of this process, and a stream whose token was
revoked or expired, whose agent was deactivated, or whose agent's groups or role changed gets a
last ``closed`` event and ends (the client reconnects with what it may see now, or learns that
its token no longer works).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supportdesk.domain.context import Actor
from supportdesk.server.visibility import sees_ticket
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from supportdesk.server.db import ServerDatabase

CHANNEL = "supportdesk_events"
PRESENCE_TTL = 45.0
QUEUE_SIZE = 1000


CLOSE_MESSAGES = {
    "token": "the token was revoked or expired, or the agent was deactivated",
    "scope": "the agent's groups or role changed: reconnect",
    "shutdown": "the server is stopping",
}


@dataclass(eq=False)
class Subscriber:
    actor: Actor
    token_id: str | None = None
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    #: Why the server ends this stream (see ``CLOSE_MESSAGES``); the stream says so and stops.
    closing: str | None = None

    def close(self, reason: str) -> None:
        """End the stream with a ``closed`` event (event loop only)."""
        if self.closing is not None:
            return
        self.closing = reason
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait({"type": "closed", "reason": reason})


class ServerEvents:
    """The fan-out hub of one server process (and its NOTIFY bridge on PostgreSQL)."""

    def __init__(self, database: ServerDatabase, *, recheck: float = 2.0) -> None:
        self.database = database
        self.recheck = recheck
        self._watch_task: asyncio.Task[None] | None = None
        self.subscribers: set[Subscriber] = set()
        self.presence: dict[tuple[str, str], dict[str, Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self.last_seq = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        if self.recheck > 0:
            self._watch_task = loop.create_task(self._watch_streams(), name="stream-recheck")
        if self.database.is_postgres:
            ready = threading.Event()
            self._listener = threading.Thread(target=self._listen, args=(ready,), name="pg-listen", daemon=True)
            self._listener.start()
            ready.wait(10)

    def stop(self) -> None:
        self._stop.set()
        if self._watch_task is not None:
            self._watch_task.cancel()
        for subscriber in list(self.subscribers):
            subscriber.close("shutdown")
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
            from supportdesk.server.errors import ApiError

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
                "at": utcnow().timestamp(),
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

    def open_streams(self, token_id: str) -> int:
        return sum(1 for subscriber in self.subscribers if subscriber.token_id == token_id)

    def subscribe(self, actor: Actor, token_id: str | None = None) -> Subscriber:
        subscriber = Subscriber(actor, token_id)
        self.subscribers.add(subscriber)
        now = utcnow().timestamp()
        for event in list(self.presence.values()):
            if now - float(event["at"]) < PRESENCE_TTL and self.visible(actor, event):
                subscriber.queue.put_nowait(event)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    # --- re-checking open streams ------------------------------------------------------------

    async def _watch_streams(self) -> None:
        while True:
            await asyncio.sleep(self.recheck)
            try:
                await self.recheck_streams()
            except Exception:  # a database hiccup: try again at the next tick
                logging.getLogger("supportdesk.server").warning("re-checking the event streams failed; retrying")

    async def recheck_streams(self) -> None:
        """Close the streams whose token stopped working or whose agent's scope changed."""
        tokens = {s.token_id for s in self.subscribers if s.token_id is not None and s.closing is None}
        if not tokens:
            return
        checks = await asyncio.to_thread(self._check_tokens, tokens)
        for subscriber in list(self.subscribers):
            check = checks.get(subscriber.token_id or "")
            if check is None or subscriber.closing is not None:
                continue
            if check.actor is None:
                subscriber.close("token")
            elif (check.actor.role, check.actor.group_ids) != (subscriber.actor.role, subscriber.actor.group_ids):
                subscriber.close("scope")

    def _check_tokens(self, token_ids: set[str]) -> dict[str, Any]:
        from supportdesk.server.tokens import check_tokens

        with self.database.read_engine.connect() as connection:
            return check_tokens(connection, token_ids)

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
