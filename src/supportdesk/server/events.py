"""Live events: data-less pokes, presence and keep-alives, sent to clients over SSE.

A poke says only "the change log reached seq N": a client pulls to learn what changed, so a
poke leaks nothing. Presence (who views or types in which ticket) goes only to those who may
see the ticket. With PostgreSQL every event is published with NOTIFY and every server process
LISTENs, so the clients of all processes hear about every write.

A poke goes only to the streams whose agent may see something the write changed (its
*audience*: the groups and assignees of the tickets it touched, see :func:`audience_of`); with a
team split into groups, a reply in one group no longer makes every agent of the company pull.
The audience is a superset, never narrower than what a pull would hand out (anything that is not
a ticket's row pokes everyone), so no client misses a change it may see.

A stream opened with ``/v1/events?records=true`` may also get the records themselves: after a
commit of seqs (a..b] the poke carries ``{"from": a, "seq": b, "scope": …, "changes": […]}``,
exactly what a pull from ``a`` by this stream's agent would hand out up to ``b`` (the pull's own
code, :func:`supportdesk.server.reads.visible_changes`), so a client whose cursor is ``a``
applies them without pulling. Each process reads the range once from the change log (the NOTIFY
carries only the seqs), checks the tokens of the streams it would send records to in the same
snapshot (a revoked token, or an agent whose groups or role changed, gets the plain poke) and
computes the records once per distinct audience. A range over :data:`RECORDS_MAX` seqs, or
records over :data:`RECORDS_BYTES_MAX` bytes, goes as the plain poke. Pokes are handed out in
the order they arrive, one after the other.

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
from supportdesk.server.notify import CHANNEL, TOKENS, notify, notify_tokens_changed
from supportdesk.server.visibility import sees_ticket
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.token_cache import TokenCache

#: Mutations that change what an agent's tokens are worth (role, groups, active).
AGENT_MUTATIONS = frozenset({"agent.update"})
PRESENCE_TTL = 45.0
QUEUE_SIZE = 1000
#: Above this many (group, assignee) pairs a poke goes to everyone: the NOTIFY payload stays small.
AUDIENCE_MAX = 32
#: A poke carries records only for a range of at most this many seqs (a push or two) ...
RECORDS_MAX = 40
#: ... whose records, for one stream, encode to at most this many bytes (a few replies).
RECORDS_BYTES_MAX = 16_000
#: A stream holds at most this many bytes of records not yet sent (a console that stops reading
#: must not make the server keep QUEUE_SIZE pokes' records for it); past it pokes go plainly.
RECORDS_HELD_MAX = 64_000
#: Seconds a poke waits for an earlier write's poke that has not arrived yet (see ``_next_batch``).
GAP_WAIT = 0.05
#: Pokes waiting are read together, at most this many ...
BATCH_MAX = 64
#: ... spanning at most this many seqs in one query (else a query per poke).
BATCH_SEQS = 2_000

#: Who a poke is for: ``None`` is everyone, else (group_id, assignee_id) pairs of tickets.
Audience = frozenset[tuple[str | None, str | None]] | None


def audience_of(applied: Applied) -> Audience:
    """Who may see what ``applied`` wrote: the (group, assignee) of each ticket record, both
    sides of a ticket that moved (``hide``/``reveal``), and everyone for any other record — the
    same cases as :func:`supportdesk.server.visibility.record_visible`, never fewer."""
    from supportdesk.sync.rows import TICKET_SCOPED

    pairs: set[tuple[str | None, str | None]] = set()
    for record in applied.records:
        if record.op in ("hide", "reveal"):
            for side in ("from", "to"):
                moved = record.data.get(side) or {}
                pairs.add((moved.get("group_id"), moved.get("assignee_id")))
        elif record.entity in TICKET_SCOPED:
            assignee = record.data.get("assignee_id") if record.entity == "ticket" else None
            pairs.add((record.group_id, assignee))
        else:
            return None
        if len(pairs) > AUDIENCE_MAX:
            return None
    return frozenset(pairs)


def _range(event: dict[str, Any]) -> tuple[int, int]:
    """A poke's seqs (from, seq]; from is -1 when the poke says none."""
    given = event.get("from")
    return (given if isinstance(given, int) else -1), int(event["seq"])


def _order(event: dict[str, Any]) -> int:
    """Where a poke goes among those waiting: by its first seq (by its seq when it has no range)."""
    first, last = _range(event)
    return first if first >= 0 else last


def _merge(first: Audience, second: Audience) -> Audience:
    if first is None or second is None:
        return None
    merged = first | second
    return merged if len(merged) <= AUDIENCE_MAX else None


Carried = tuple[bytes, bytes]
"""A poke's data for one stream in two parts, joined only as it is sent: its own head (``from``,
``scope``) and the records, one bytes object shared by every stream of the same audience (1,000
consoles of one group hold one copy, not 1,000)."""


def _size(carried: Carried) -> int:
    return len(carried[0]) + len(carried[1])


@dataclass
class Read:
    """What was read for one poke: each stream's encoded records, and who may see something of
    its rows (:func:`audience_of` over the rows as logged; None: everyone, or not read)."""

    records: dict[Subscriber, Carried] = field(default_factory=dict)
    seen: list[list[str | None]] | None = None


def _seen(rows: list[Any]) -> list[list[str | None]] | None:
    """The audience of logged rows, as a poke carries it (None: everyone)."""
    from supportdesk.server.apply import Applied
    from supportdesk.server.changes import Record

    records = [Record(entity, "", op, data, group) for _seq, entity, op, data, group in rows]
    audience = audience_of(Applied(records=records))
    return None if audience is None else [list(pair) for pair in audience]


def _persons(rows: list[Any]) -> set[str] | None:
    """The agents whose id alone can change what they may see of ``rows`` (a ticket's assignee,
    a saved view's owner; ``record_visible`` compares only these with the agent's id), or None
    when every agent's own (a ticket that moved: its bundle is read as the ticket is now)."""
    found: set[str] = set()
    for _seq, entity, op, data, _group in rows:
        if op in ("hide", "reveal"):
            return None
        if entity in ("ticket", "saved_view") and isinstance(data, dict):
            person = data.get("assignee_id") if entity == "ticket" else data.get("owner_id")
            if person:
                found.add(str(person))
    return found


def _audience_key(actor: Actor, persons: set[str] | None) -> tuple[Any, ...]:
    """Agents with the same key are handed the same records: what ``record_visible`` reads of
    them (all or their groups, and their id when the records name it)."""
    everything = actor.is_admin or actor.is_system
    own = actor.id if persons is None or actor.id in persons else None
    return (everything, frozenset() if everything else actor.group_ids, own)


def _encode_records(connection: Connection, actor: Actor, last: int, rows: list[Any]) -> bytes | None:
    """The end of a poke's ``data`` with ``actor``'s records: ``"seq":N,"changes":[…]}`` (None:
    too large, poke plainly). Each stream's ``{"from":M,"scope":S,`` goes in front."""
    import orjson

    from supportdesk.server.reads import visible_changes

    listed = [change.model_dump(mode="json") for change in visible_changes(connection, actor, rows)]
    body = orjson.dumps({"seq": last, "changes": listed})
    return body[1:] if len(body) <= RECORDS_BYTES_MAX else None


def _poke(seq: int, count: int, audience: Audience) -> dict[str, Any]:
    """A poke's event: the log reached ``seq`` by the ``count`` records just written (their seqs
    (seq - count, seq]: taken at once, the counter locked to commit), for ``audience``."""
    event: dict[str, Any] = {"type": "poke", "seq": seq}
    if 0 < count <= seq:
        event["from"] = seq - count
    if audience is not None:
        event["audience"] = sorted(audience, key=lambda pair: (pair[0] or "", pair[1] or ""))
    return event


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
    #: The client asked for pokes that carry records (``/v1/events?records=true``).
    records: bool = False
    #: The seq of the last poke this stream was handed while the pokes followed on with no gap
    #: (None: unknown); a poke with records says it as its ``from`` (see ``_hand_out``).
    mark: int | None = None
    #: Bytes of records queued for this stream and not yet sent (see :data:`RECORDS_HELD_MAX`).
    held: int = 0

    def close(self, reason: str) -> None:
        """End the stream with a ``closed`` event (event loop only)."""
        if self.closing is not None:
            return
        self.closing = reason
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait({"type": "closed", "reason": reason})


class ServerEvents:
    """The fan-out hub of one server process (and its NOTIFY bridge on PostgreSQL)."""

    def __init__(
        self,
        database: ServerDatabase,
        *,
        recheck: float = 2.0,
        tokens: TokenCache | None = None,
        gap_wait: float = GAP_WAIT,
    ) -> None:
        from supportdesk.server.token_cache import TokenCache

        self.database = database
        self.recheck = recheck
        #: How long a poke that does not follow on waits for the earlier one (:data:`GAP_WAIT`).
        self.gap_wait = gap_wait
        self.tokens = tokens if tokens is not None else TokenCache()
        self._watch_task: asyncio.Task[None] | None = None
        self.subscribers: set[Subscriber] = set()
        self.presence: dict[tuple[str, str], dict[str, Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self.last_seq = 0
        #: The audience of the writes this thread committed since its last poke (see :meth:`poke`).
        self._pending = threading.local()
        #: Pokes waiting to be handed out, in order (one task reads their records, see :meth:`_hand_out`).
        self._pokes: asyncio.Queue[dict[str, Any]] | None = None
        self._poke_task: asyncio.Task[None] | None = None
        #: The seq of the last poke handed out when every poke so far followed on (None: a gap).
        self._chain_end: int | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pokes = asyncio.Queue()
        self._poke_task = loop.create_task(self._hand_out(), name="poke-records")
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
        if self._poke_task is not None:
            self._poke_task.cancel()
        for subscriber in list(self.subscribers):
            subscriber.close("shutdown")
        if self._listener is not None:
            self._listener.join(timeout=5)

    # --- publishing (any thread) -------------------------------------------------------------

    def poke(self, seq: int) -> None:
        """Tell the clients that may see them that the change log reached ``seq`` (call after the
        commit, in the thread that committed the writes).

        A push answers many mutations with one poke, so the audience is gathered per thread by
        :meth:`after_commit` and taken here; a poke with nothing gathered goes to everyone (so a
        caller that never ran the hook loses nothing, it only pokes more widely).
        """
        audience: Audience = getattr(self._pending, "audience", None)  # nothing gathered: everyone
        count: int = getattr(self._pending, "records", 0)
        self.forget_gathered()
        self._publish(_poke(seq, count, audience))

    def poke_in_transaction(self, connection: Connection, seq: int, applied: Sequence[Applied]) -> None:
        """The poke of a push about to commit, as a NOTIFY of its own transaction (PostgreSQL; a
        push's ``announce``, last before its commit): PostgreSQL delivers it when, and only if,
        the push commits, and delivers the NOTIFYs of different transactions in commit order —
        with the seq counter locked to commit, seq order. It says what :meth:`poke` would have
        said after the commit, from the same mutations (those that wrote records), where that
        took a pooled connection and a transaction of its own on every push: four round trips
        the answer waited for. After the commit the caller calls :meth:`forget_gathered`."""
        audience: Audience = frozenset()
        count = 0
        for one in applied:
            if one.error is None and one.records:
                audience = _merge(audience, audience_of(one))
                count += len(one.records)
        notify(connection, _poke(seq, count, audience))

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
            with self.database.engine.connect() as connection, connection.begin():
                notify(connection, event)
        else:
            self._deliver_threadsafe(event)

    def forget_gathered(self) -> None:
        """Drop what :meth:`after_commit` gathered on this thread, for a write that pokes
        otherwise (a REST write on PostgreSQL: a NOTIFY of its own transaction). Left there, it
        would swell this thread's next poke: a ``from`` far behind its write (no records) and
        an audience of everyone."""
        for name in ("audience", "records"):
            with contextlib.suppress(AttributeError):
                delattr(self._pending, name)

    def _deliver_threadsafe(self, event: dict[str, Any]) -> None:
        if self.loop is None or self.loop.is_closed():
            self._deliver(event)
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._deliver, event)

    def tokens_changed(self) -> None:
        """A token or an agent changed in this process (after the commit; any thread): forget
        the cached checks now, and re-check the open streams at once. Other processes hear of
        it through the NOTIFY of :func:`notify_tokens_changed`."""
        self.tokens.clear()
        if self.loop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._tokens_changed)

    def after_write(self, connection: Connection, applied: Applied) -> None:
        """An agent's role, groups or activity changed in a pushed write: tell every process."""
        if applied.name in AGENT_MUTATIONS:
            notify_tokens_changed(connection)

    def after_commit(self, _database: ServerDatabase, applied: Applied) -> None:
        if applied.records:
            gathered: Audience = getattr(self._pending, "audience", frozenset())
            self._pending.audience = _merge(gathered, audience_of(applied))
            self._pending.records = getattr(self._pending, "records", 0) + len(applied.records)
        if applied.name in AGENT_MUTATIONS:
            self.tokens_changed()

    def _tokens_changed(self) -> None:
        self.tokens.clear()
        if self.recheck > 0 and self.loop is not None and self.subscribers:
            self.loop.create_task(self._recheck_once(), name="stream-recheck-now")

    async def _recheck_once(self) -> None:
        try:
            await self.recheck_streams()
        except Exception:  # the periodic re-check tries again
            logging.getLogger("supportdesk.server").warning("re-checking the event streams failed; retrying")

    # --- delivery (event loop) ---------------------------------------------------------------

    def _deliver(self, event: dict[str, Any]) -> None:
        if event["type"] == TOKENS:
            self._tokens_changed()
            return
        if event["type"] == "poke" and self._pokes is not None:
            self._pokes.put_nowait(event)  # handed out in order by _hand_out
            return
        self._fan_out(event)

    def _fan_out(self, event: dict[str, Any], carried: dict[Subscriber, Carried] | None = None) -> None:
        """Queue ``event`` for every stream that may see it; a poke to a stream in ``carried``
        goes with that stream's records (see :meth:`_hand_out`)."""
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
                body = carried.get(subscriber) if carried else None
                if body is not None and subscriber.held + _size(body) > RECORDS_HELD_MAX:
                    body = None  # the stream is not reading: a plain poke, its console pulls
                try:
                    subscriber.queue.put_nowait(event if body is None else {**event, "body": body})
                except asyncio.QueueFull:
                    subscriber.overflowed = True
                else:
                    subscriber.held += _size(body) if body is not None else 0

    # --- pokes with records (event loop, one at a time) ----------------------------------------

    async def _hand_out(self) -> None:
        """Hand out the pokes in the order they arrived; for the streams that asked for records,
        read the pokes' ranges first (in a thread: a database read, one for all the pokes waiting
        by then, so a backlog costs one read, not one a poke). A stream never sees a later poke
        before an earlier one.

        A poke's ``from`` for one stream is the seq of the last poke it was handed (its
        ``mark``), not the write's own first seq: while the pokes this process hands out follow
        each other with no gap (each one's ``from`` is the previous one's ``seq``), a poke a
        stream was not handed held nothing its agent may see (the audience is never narrower
        than a pull), so the records of (mark, seq] it may see are exactly this poke's. Without
        that, a client would pull after every write of another group (its cursor, at the log's
        end after its last pull, is behind the write's first seq). A poke that does not follow
        on (no ``from``: a REST write on PostgreSQL, a reconnected LISTEN; or out of order)
        forgets every mark: the next poke says its own first seq.
        """
        assert self._pokes is not None
        while True:
            batch = await self._next_batch(self._pokes)
            asks: dict[int, tuple[int, int, list[Subscriber]]] = {}
            marked = any(s.records for s in self.subscribers)
            for index, event in enumerate(batch):
                first, last = _range(event)
                if marked and 0 <= first < last and last - first <= BATCH_SEQS:
                    # read even with no stream to send records to: the rows say whose marks hold
                    wanting = [
                        s
                        for s in self.subscribers
                        if s.records and s.closing is None and s.token_id is not None and self.visible(s.actor, event)
                    ]
                    asks[index] = (first, last, wanting if last - first <= RECORDS_MAX else [])
            answers: list[Read] = []
            if asks:
                try:
                    answers, stale = await asyncio.to_thread(self._records_for, list(asks.values()))
                except Exception:  # the plain pokes still go: their clients pull
                    logging.getLogger("supportdesk.server").warning("reading pokes' records failed; poking plainly")
                    answers, stale = [], []
                for subscriber, reason in stale:
                    subscriber.close(reason)
            read = dict(zip(asks, answers, strict=False))
            # from here to the last fan-out nothing awaits: the marks and the chain move together
            for index, event in enumerate(batch):
                self._hand_one(event, read.get(index, Read()))

    async def _next_batch(self, pokes: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
        """The pokes waiting, in seq order. Two writes' pokes may arrive the other way round
        (each is published after its commit, and on PostgreSQL by its own NOTIFY): when the
        first poke does not follow the last one handed out, wait up to ``gap_wait`` seconds
        for the missing one, so the streams' marks survive (a poke that does not follow on
        resets them, and their consoles pull)."""
        batch = [await pokes.get()]
        deadline = None
        while len(batch) < BATCH_MAX:
            while len(batch) < BATCH_MAX and not pokes.empty():
                batch.append(pokes.get_nowait())
            batch.sort(key=_order)
            if self._follows_on(batch):
                break
            loop = asyncio.get_running_loop()
            deadline = deadline if deadline is not None else loop.time() + self.gap_wait
            if loop.time() >= deadline:
                break
            try:
                batch.append(await asyncio.wait_for(pokes.get(), deadline - loop.time()))
            except TimeoutError:
                break
        return batch

    def _follows_on(self, batch: list[dict[str, Any]]) -> bool:
        """Whether every poke of ``batch`` (sorted) follows the one before, from the last handed out."""
        end = self._chain_end
        for event in batch:
            first, last = _range(event)
            if first < 0:
                return True  # a poke with no range resets the marks anyway: nothing to wait for
            if end is not None and first != end:
                return False
            end = last
        return True

    def _hand_one(self, event: dict[str, Any], read: Read) -> None:
        """Fan one poke out, each stream in ``read.records`` with its records after its own
        ``from``; then move the marks: a stream handed the poke is at its seq, a stream that may
        see something of the rows read (``read.seen``; not read: everyone) but was not handed it
        (the poke's audience came from a miscounted write) loses its mark."""
        first, last = _range(event)
        ranged = 0 <= first < last
        if not (ranged and first == self._chain_end):
            for subscriber in self.subscribers:
                subscriber.mark = None
        carried: dict[Subscriber, Carried] = {}
        for subscriber, (scope, rest) in read.records.items():
            start = subscriber.mark if subscriber.mark is not None else first
            carried[subscriber] = (b'{"from":' + str(start).encode() + b"," + scope, rest)
        self._fan_out(event, carried)
        self._chain_end = last if ranged else None
        seen = {"type": "poke", "seq": last, "audience": read.seen} if read.seen is not None else None
        for subscriber in self.subscribers:
            if ranged and self.visible(subscriber.actor, event):
                subscriber.mark = last
            elif seen is None or self.visible(subscriber.actor, seen):
                subscriber.mark = None

    def _records_for(
        self, asks: list[tuple[int, int, list[Subscriber]]]
    ) -> tuple[list[Read], list[tuple[Subscriber, str]]]:
        """For each ``(first, last, streams)``: the records of seqs (first, last] each stream may
        have, encoded as ``"scope":S,"seq":N,"changes":[…]}`` (its ``from`` goes in front); and the
        streams whose token no longer holds what it held when they opened (to be closed: a pull
        would answer them with another scope, or not at all). One snapshot for all of them."""
        from supportdesk.server.reads import current_seq, log_range, snapshot
        from supportdesk.server.scopes import restricted
        from supportdesk.server.tokens import check_tokens
        from supportdesk.server.visibility import visibility_scope

        answers = [Read() for _ in asks]
        stale: list[tuple[Subscriber, str]] = []
        with snapshot(self.database) as connection:
            end = current_seq(connection)
            ready = [index for index, (_first, last, _s) in enumerate(asks) if last <= end]  # never a gap
            if not ready:
                return answers, stale
            low, high = min(asks[i][0] for i in ready), max(asks[i][1] for i in ready)
            every = log_range(connection, low, high) if high - low <= BATCH_SEQS else None
            # the tokens as they are in this snapshot, as a pull made now would find them
            checks = check_tokens(connection, {s.token_id for i in ready for s in asks[i][2] if s.token_id})
            actors: dict[Subscriber, Actor] = {}
            for subscriber in {s for i in ready for s in asks[i][2]}:
                check = checks.get(subscriber.token_id or "")
                # the actor a request with this token acts as, as the pull's authentication makes it
                actor = restricted(check.actor, check.group_ids) if check and check.actor else None
                if actor is None:
                    stale.append((subscriber, "token"))
                elif (actor.role, actor.group_ids) != (subscriber.actor.role, subscriber.actor.group_ids):
                    stale.append((subscriber, "scope"))
                else:
                    actors[subscriber] = actor
            scopes: dict[str | None, bytes] = {}
            for index in ready:
                first, last, subscribers = asks[index]
                rows = (
                    [row for row in every if first < row[0] <= last]
                    if every is not None
                    else log_range(connection, first, last) or []
                )
                answers[index].seen = _seen(rows)
                persons = _persons(rows)
                encoded: dict[tuple[Any, ...], bytes | None] = {}
                for subscriber in subscribers:
                    agent = actors.get(subscriber)
                    if agent is None:
                        continue
                    key = _audience_key(agent, persons)
                    if key not in encoded:
                        encoded[key] = _encode_records(connection, agent, last, rows)
                    body = encoded[key]
                    if body is not None:
                        if agent.id not in scopes:
                            scopes[agent.id] = b'"scope":"' + visibility_scope(agent).encode() + b'",'
                        # the records themselves shared by every stream of this audience
                        answers[index].records[subscriber] = (scopes[agent.id], body)
        return answers, stale

    @staticmethod
    def visible(actor: Actor, event: dict[str, Any]) -> bool:
        if event["type"] == "poke":
            audience = event.get("audience")
            return audience is None or any(sees_ticket(actor, group, assignee) for group, assignee in audience)
        if event["type"] != "presence":
            return True
        return sees_ticket(actor, event.get("group_id"), event.get("assignee_id"))

    def open_streams(self, token_id: str) -> int:
        return sum(1 for subscriber in self.subscribers if subscriber.token_id == token_id)

    def subscribe(self, actor: Actor, token_id: str | None = None, *, records: bool = False) -> Subscriber:
        subscriber = Subscriber(actor, token_id, records=records, mark=self._chain_end)
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
                    # Listening from here on; what committed before is the counter's value. After
                    # a lost connection that poke makes every stream of this process catch up on
                    # the writes whose NOTIFY it missed.
                    row = connection.execute("SELECT value FROM counter WHERE name = 'seq'").fetchone()
                    self._deliver_threadsafe({"type": "poke", "seq": int(row[0]) if row else 0})
                    # and a token revoked meanwhile is not trusted from the cache
                    self.tokens.clear()
                    self._deliver_threadsafe({"type": TOKENS})
                    ready.set()
                    while not self._stop.is_set():
                        for notification in connection.notifies(timeout=0.5):
                            event = json.loads(notification.payload)
                            if event.get("type") == TOKENS:
                                self.tokens.clear()  # here, before the hop to the event loop
                            self._deliver_threadsafe(event)
            except psycopg.Error as error:
                ready.set()
                logging.getLogger("supportdesk.server").warning(
                    "listening for other processes' events failed (%s); reconnecting", str(error).splitlines()[0]
                )
                self._stop.wait(1.0)
