"""Triage on the server: every new ticket gets its language, sentiment and intent.

After a write that created tickets commits (``ticket.create`` from a channel or an agent,
``ticket.receive`` opening a follow-up), their ids go on a queue; one worker thread reads each
ticket's subject and customer messages, runs the assist engine's triage
(:mod:`supportdesk.assist.triage`) and writes the result with ``ticket.triage`` through
``ServerState.apply_as`` — so the rules loop sees the fields (a routing rule on
``sentiment:negative`` fires) and every replica pulls them like any change.

Why a worker and not the request: triage takes milliseconds but must never fail (or slow) the
write that created the ticket, a customer's webhook or an agent's push. The models load once,
while the server starts (``--no-triage`` skips them). The server keeps no vectors.

The worker takes every ticket waiting, and those arriving within :data:`GATHER` of the first (up
to :data:`BATCH`), at once: their texts are read on one
read connection, the models read them as one batch (one embedding call, one intent search),
and their ``ticket.triage`` writes go in one transaction — one mutation (one
savepoint, one audit reference, one change-log entry) per ticket as before, but one checkout,
one ``BEGIN IMMEDIATE``, one configuration read and one commit for them all, where each ticket
paid its own. A burst of new tickets (an integration's, a mail import's) then costs triage
little more than the models' own work; one ticket at a time is a batch of one.

After triage, the worker compares the ticket with its requester's open tickets
(:func:`supportdesk.assist.duplicates.best_matches`) and, when it repeats one, writes
``ticket.flag_duplicate``: the internal note "possible duplicate of #N" with the merge
suggestion, once per ticket.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text
from sqlalchemy.exc import SQLAlchemyError

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server.apply import apply_each_as

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.assist.triage import Triager
    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

log = logging.getLogger(__name__)

#: A new ticket's model text and the open tickets it may repeat (id, number, subject, model text).
Candidates = tuple[str, list[tuple[str, int | None, str, str]]]
#: ``flag_duplicate``'s candidates not read yet.
UNREAD = object()

#: The mutations after which the tickets they inserted are triaged.
ARRIVALS = frozenset({"ticket.create", "ticket.receive"})
#: Customer messages read per ticket (triage reads the start of a conversation).
MESSAGES = 20
#: The mutation whose audit rows on ``intent`` are agents' corrections (as in a workspace).
CORRECTION = "ticket.set_field"
#: Seconds after which the intent model is rebuilt anyway, before the next triage: corrections
#: made through another server process (``--workers N``) reach this one's model.
REFRESH = 600.0
#: Tickets triaged together at most: their texts read at once, their results written in one
#: transaction (the write lock is held for the whole batch, so it stays short).
BATCH = 32
#: Seconds the worker waits, after a new ticket, for others to triage with it. A batch of one
#: costs ~3-4 ms of CPU a ticket (its transaction, reads, seqs and hooks), one of 32 ~1-1.5 ms
#: (bench/README, triage20h): under a stream of creates a short wait makes the batches, and a
#: ticket's triage (and the rules it wakes) comes at most this much later.
GATHER = 0.05


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size)


class ServerTriage:
    """The after-commit hook and the worker of one app (see the module docstring)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.pending: queue.Queue[str | None] = queue.Queue()
        self.triager: Triager | None = None
        #: The admins' intents file (``serve --intents``), None: the shipped set.
        self.intents_file = Path(state.config.intents_file) if state.config.intents_file else None
        self._file_stamp: tuple[int, int] | None = None
        self._built_at = 0.0
        #: An agent corrected an intent since the model was built: rebuild before the next triage.
        self.stale = False
        #: Times the intent model was built (tests wait on it).
        self.builds = 0
        #: Tickets triaged since start (tests wait on it; ``done`` is set after each).
        self.count = 0
        self.done = threading.Condition()

    def after_commit(self, _database: ServerDatabase, applied: Applied) -> None:
        if applied.name in ARRIVALS:
            for ticket_id in applied.inserted_ids("ticket"):
                self.pending.put(ticket_id)
        elif applied.name == CORRECTION and any(a.field == "intent" for a in applied.audited):
            self.stale = True

    def build(self) -> Triager:
        """The triager over the admins' intents (or the shipped set), learned from this server's
        tagged tickets and agents' corrections. A bad intents file raises ``IntentFileError``."""
        from supportdesk.assist import intents
        from supportdesk.assist.triage import triager

        stamp = _stamp(self.intents_file) if self.intents_file else None
        chosen = intents.load_file(self.intents_file) if self.intents_file else intents.seed()
        self.stale = False
        with self.state.database.engine.connect() as connection:
            source = ServerExamples(connection)
            corrected = source.corrections()
            built = triager(intent_list=chosen, corrections=corrected, examples=source)
        self._file_stamp = stamp
        self._built_at = time.monotonic()
        self.builds += 1
        self.triager = built
        return built

    def current(self) -> Triager:
        """The triager to use now: rebuilt when an agent corrected an intent, the intents file
        changed, or :data:`REFRESH` seconds passed (another server process's corrections). A
        file that became bad is logged and the intents in use stay."""
        from supportdesk.assist.intents import IntentFileError

        if self.triager is not None:
            changed = self.intents_file is not None and _stamp(self.intents_file) != self._file_stamp
            if not (self.stale or changed or time.monotonic() - self._built_at > REFRESH):
                return self.triager
        try:
            return self.build()
        except IntentFileError as error:
            log.error("intents not reloaded, the ones in use stay: %s", error)
            self._file_stamp = _stamp(self.intents_file) if self.intents_file else None
            self._built_at = time.monotonic()
        except SQLAlchemyError:
            log.exception("learning intents from the database failed; the intents in use stay")
            self._built_at = time.monotonic()
        if self.triager is None:
            from supportdesk.assist.triage import triager

            self.triager = triager()
        return self.triager

    def worker(self, _state: ServerState) -> Callable[[], None]:
        """Load the models, then start the thread. Loading holds the interpreter for seconds
        (Lingua's models are read by native code), so it happens while the server starts, not
        while it answers: a request waiting that long would be cut by the header deadline."""
        self.current().triage("warm up", ["load every model now"])
        thread = threading.Thread(target=self._run, name="supportdesk-triage", daemon=True)
        thread.start()

        def stop() -> None:
            self.pending.put(None)
            thread.join(10)

        return stop

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                self.triage_many([ticket_id for ticket_id in batch if ticket_id is not None])
            except Exception:  # a fault in triage leaves the tickets untriaged, never the server down
                log.exception("triage of tickets %s failed; they keep no triage fields", ", ".join(map(str, batch)))
            with self.done:
                self.count += sum(1 for ticket_id in batch if ticket_id is not None)
                self.done.notify_all()
            if None in batch:
                return

    def _next_batch(self) -> list[str | None]:
        """The next ticket (waiting for one), and every other one that arrives within
        :data:`GATHER` seconds of it, up to :data:`BATCH`; ``None`` (stop) ends it at once."""
        batch = [self.pending.get()]
        until = time.monotonic() + GATHER
        while batch[-1] is not None and len(batch) < BATCH:
            left = until - time.monotonic()
            try:
                batch.append(self.pending.get(timeout=left) if left > 0 else self.pending.get_nowait())
            except queue.Empty:
                break
        return batch

    def triage(self, ticket_id: str) -> dict[str, Any] | None:
        """Triage one ticket and write the result; None if it is gone or has no text."""
        return self.triage_many([ticket_id]).get(ticket_id)

    def triage_many(self, ticket_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Triage tickets and write their results in one transaction, then note the repeats;
        by ticket id, the ``ticket.triage`` results written (none for a ticket gone, without
        text, or refused meanwhile: erased or closed)."""
        if not ticket_ids:
            return {}
        texts, candidates = _ticket_reads(self.state.database, ticket_ids)
        if not texts:
            return {}
        found = self._models(self.current(), texts)
        try:
            written = self._write(found)
        except Exception:
            if len(found) < 2:
                raise
            # one ticket's write failing must not cost the others theirs: each on its own
            log.exception("writing the triage of %d tickets at once failed; writing each alone", len(found))
            written = {}
            for one in found:
                try:
                    written.update(self._write([one]))
                except Exception:
                    log.exception("triage of ticket %s failed; it keeps no triage fields", one[0])
        for ticket_id in written:
            try:
                self.flag_duplicate(ticket_id, candidates.get(ticket_id))
            except Exception:
                log.exception("the duplicate check of ticket %s failed", ticket_id)
        return written

    @staticmethod
    def _models(triager: Triager, texts: dict[str, tuple[str, list[str]]]) -> list[tuple[str, dict[str, Any]]]:
        """Each ticket's ``ticket.triage`` fields from the models, the batch in one call
        (:meth:`~supportdesk.assist.triage.Triager.triage_many`: one embedding call and one
        intent search for all). When that raises, the tickets go one by one, so one ticket the
        models fail on stays untriaged and costs the others nothing."""
        ticket_ids = list(texts)
        try:
            return [
                (ticket_id, found.fields())
                for ticket_id, found in zip(ticket_ids, triager.triage_many(list(texts.values())), strict=True)
            ]
        except Exception:
            if len(ticket_ids) < 2:
                log.exception("triage of ticket %s failed; it keeps no triage fields", ticket_ids[0])
                return []
            log.exception("triage of %d tickets at once failed; triaging each alone", len(ticket_ids))
        found: list[tuple[str, dict[str, Any]]] = []
        for ticket_id, (subject, bodies) in texts.items():
            try:
                found.append((ticket_id, triager.triage(subject, bodies).fields()))
            except Exception:  # this ticket stays untriaged, the others go on
                log.exception("triage of ticket %s failed; it keeps no triage fields", ticket_id)
        return found

    def _write(self, found: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """``ticket.triage`` for each ticket, in one transaction, with this app's hooks and one
        poke after the commit (:func:`~supportdesk.server.apply.apply_each_as`)."""
        state = self.state
        each = apply_each_as(
            state.database,
            SYSTEM,
            "ticket.triage",
            [{"ticket_id": ticket_id, **fields} for ticket_id, fields in found],
            poke=state.events.poke,
            after_write=state.after_write,
            after_commit=state.after_commit,
        )
        written: dict[str, dict[str, Any]] = {}
        for (ticket_id, _fields), applied in zip(found, each, strict=True):
            if applied.error is not None:  # erased or closed meanwhile
                log.info("triage of ticket %s not written: %s", ticket_id, applied.error)
            else:
                written[ticket_id] = applied.result
        return written

    def flag_duplicate(self, ticket_id: str, found: object = UNREAD) -> dict[str, Any] | None:
        """Note on the ticket that it probably repeats an open one of its requester (once).
        ``found``: its candidates as :func:`_ticket_reads` read them with its text (else read now)."""
        from supportdesk.assist.duplicates import best_matches

        if found is UNREAD:
            found = _duplicate_candidates(self.state.database, ticket_id)
        if not isinstance(found, tuple):
            return None
        mine, others = found
        matches = best_matches(mine, others, limit=1)
        if not matches:
            return None
        args = {"ticket_id": ticket_id, "duplicate_of": matches[0].ticket_id, "score": matches[0].score}
        try:
            return self.state.apply_as(SYSTEM, "ticket.flag_duplicate", args)[0]
        except DomainError as error:  # merged, closed or erased meanwhile
            log.info("duplicate note on ticket %s not written: %s", ticket_id, error)
            return None


def _ticket_reads(
    database: ServerDatabase, ticket_ids: Sequence[str]
) -> tuple[dict[str, tuple[str, list[str]]], dict[str, Candidates | None]]:
    """Each ticket's subject and first customer messages (an agent's first message when it has
    none: a call logged), and the open tickets of its requester it may repeat
    (:func:`_duplicate_candidates`), read for the whole batch on one read connection in a few
    statements — where each ticket took four, and the duplicate check a connection of its own;
    a ticket gone is left out. (Read before the triage is written: the candidates are older
    tickets, which that write does not change; a ticket closed, merged or erased meanwhile is
    refused by ``ticket.flag_duplicate``.)"""
    found: dict[str, tuple[str, list[str]]] = {}
    candidates: dict[str, Candidates | None] = {}
    try:
        with database.read_engine.connect() as connection:  # a read: never takes the write lock
            for start in range(0, len(ticket_ids), 500):
                chunk = list(ticket_ids[start : start + 500])
                rows = {str(row[0]): row for row in connection.execute(_BATCH_TICKETS, {"ids": chunk})}
                bodies: dict[str, list[str]] = {}
                for ticket_id, body in connection.execute(_BATCH_MESSAGES, {"ids": chunk}):
                    bodies.setdefault(str(ticket_id), []).append(str(body or ""))
                for ticket_id in chunk:
                    row = rows.get(ticket_id)
                    if row is None or row[1] is None:
                        continue
                    mine = bodies.get(ticket_id) or _first_message(connection, ticket_id)
                    found[ticket_id] = (str(row[1]), mine)
                candidates.update(_batch_candidates(connection, [rows[t] for t in chunk if t in found]))
    except SQLAlchemyError:
        log.exception("reading tickets %s for triage failed", ", ".join(ticket_ids))
    return found, candidates


_BATCH_TICKETS = text(
    "SELECT t.id, t.subject, t.requester_id, t.created_at, t.group_id, t.status, c.erased_at, t.merged_into_id, "
    "c.id FROM ticket t LEFT JOIN customer c ON c.id = t.requester_id WHERE t.id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_BATCH_MESSAGES = text(
    "SELECT ticket_id, body FROM (SELECT ticket_id, body, ROW_NUMBER() OVER "
    "(PARTITION BY ticket_id ORDER BY created_at, id) AS n FROM message "
    "WHERE ticket_id IN :ids AND author_kind = 'customer') m "
    f"WHERE n <= {MESSAGES} ORDER BY ticket_id, n"
).bindparams(bindparam("ids", expanding=True))
_FIRST_MESSAGE = text("SELECT body FROM message WHERE ticket_id = :t ORDER BY created_at, id LIMIT 1")


def _first_message(connection: Connection, ticket_id: str) -> list[str]:
    """A ticket without customer messages (an agent opened it: a call logged): the first
    message tells the ask."""
    return [str(connection.execute(_FIRST_MESSAGE, {"t": ticket_id}).scalar() or "")]


def _batch_candidates(connection: Connection, rows: Sequence[Any]) -> dict[str, Candidates | None]:
    """:func:`_duplicate_candidates_on` for a batch of tickets (rows of ``_BATCH_TICKETS``):
    their requesters' open tickets read in one statement and sorted out here with the same
    comparisons the single statement makes (raw stored values: text on SQLite, instants on
    PostgreSQL, as the database compares them)."""
    from supportdesk.assist.duplicates import CANDIDATES, OPEN_STATUSES, WINDOW
    from supportdesk.store.times import from_db, to_db

    found: dict[str, Candidates | None] = {}
    asking: list[tuple[str, Any, Any, Any, Any]] = []  # ticket, requester, since, created, group
    for row in rows:
        ticket_id = str(row[0])
        found[ticket_id] = None
        if row[8] is None or row[7] is not None or row[6] is not None or row[5] not in OPEN_STATUSES:
            continue
        created = row[3]
        when = created if isinstance(created, datetime) else from_db(created)
        if when is None:
            continue
        since = when - WINDOW if isinstance(created, datetime) else to_db(when - WINDOW)
        asking.append((ticket_id, row[2], since, created, row[4]))
    if not asking:
        return found
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    query = text(
        "SELECT id, number, subject, requester_id, created_at, group_id FROM ticket "
        f"WHERE requester_id IN :r AND merged_into_id IS NULL AND status IN ({statuses}) AND created_at >= :since"
    ).bindparams(bindparam("r", expanding=True))
    requesters = sorted({str(ask[1]) for ask in asking})
    since_all = min(ask[2] for ask in asking)
    by_requester: dict[str, list[Any]] = {}
    for other in connection.execute(query, {"r": requesters, "since": since_all}):
        by_requester.setdefault(str(other[3]), []).append(other)
    listed: dict[str, list[Any]] = {}
    for ticket_id, requester, since, created, group in asking:
        others = [
            other
            for other in by_requester.get(str(requester), [])
            if str(other[0]) != ticket_id
            and since <= other[4] <= created
            and (other[5] is None or (group is not None and other[5] == group))
        ]
        others.sort(key=lambda other: other[4], reverse=True)
        if others:
            listed[ticket_id] = others[:CANDIDATES]
    if not listed:
        return found
    texts = _model_texts(connection, sorted({*listed, *(str(o[0]) for others in listed.values() for o in others)}))
    for ticket_id, others in listed.items():
        found[ticket_id] = (
            texts.get(ticket_id, ""),
            [(str(o[0]), o[1], str(o[2] or ""), texts.get(str(o[0]), "")) for o in others],
        )
    return found


class ServerExamples:
    """Past tickets in the server's database (SQLite or PostgreSQL) for ``intents.learn``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def tag_count(self, tag: str) -> int:
        found = self.connection.execute(text("SELECT count(*) FROM ticket_tag WHERE tag = :g"), {"g": tag}).scalar()
        return int(found or 0)

    def tagged(self, tag: str, limit: int) -> list[str]:
        rows = self.connection.execute(
            text(
                "SELECT t.id FROM ticket_tag g JOIN ticket t ON t.id = g.ticket_id "
                f"WHERE g.tag = :g AND t.merged_into_id IS NULL ORDER BY t.created_at DESC LIMIT {int(limit)}"
            ),
            {"g": tag},
        )
        return [str(row[0]) for row in rows]

    def tags_of(self, ticket_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        query = text("SELECT ticket_id, tag FROM ticket_tag WHERE ticket_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        for start in range(0, len(ticket_ids), 500):
            for ticket_id, tag in self.connection.execute(query, {"ids": ticket_ids[start : start + 500]}):
                found.setdefault(str(ticket_id), []).append(str(tag))
        return found

    def texts(self, ticket_ids: list[str]) -> dict[str, str]:
        return _model_texts(self.connection, ticket_ids)

    def corrections(self) -> dict[str, str]:
        """Intents agents set by hand (``ticket.set_field`` on ``intent``), the newest winning."""
        from supportdesk.assist.intents import corrections_from_rows

        rows = self.connection.execute(
            text(
                "SELECT entity_id, after FROM audit_event WHERE entity = 'ticket' AND mutation = :m "
                "AND field = 'intent' AND actor_id IS NOT NULL ORDER BY id"
            ),
            {"m": CORRECTION},
        )
        return corrections_from_rows((row[0], row[1]) for row in rows)


def _model_texts(connection: Connection, ticket_ids: list[str]) -> dict[str, str]:
    """Each ticket's model text — subject and its first customer messages — as a workspace
    composes it (``assist.tickets.compose``)."""
    from supportdesk.assist.tickets import compose

    found: dict[str, str] = {}
    subjects = text("SELECT id, subject FROM ticket WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
    messages = text(
        "SELECT ticket_id, body FROM message WHERE ticket_id IN :ids AND author_kind = 'customer' "
        "ORDER BY ticket_id, created_at, id"
    ).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        bodies: dict[str, list[str]] = {}
        for owner, body in connection.execute(messages, {"ids": chunk}):
            kept = bodies.setdefault(str(owner), [])
            if len(kept) < MESSAGES:
                kept.append(str(body or ""))
        for ticket_id, subject in connection.execute(subjects, {"ids": chunk}):
            found[str(ticket_id)] = compose(str(subject or ""), bodies.get(str(ticket_id), []))
    return found


def _duplicate_candidates(database: ServerDatabase, ticket_id: str) -> Candidates | None:
    """:func:`_duplicate_candidates_on` on a read connection of its own (None also when the
    read fails: the check is skipped, the ticket stays as it is)."""
    try:
        with database.read_engine.connect() as connection:  # a read: never takes the write lock
            return _duplicate_candidates_on(connection, ticket_id)
    except SQLAlchemyError:
        log.exception("reading ticket %s for duplicates failed", ticket_id)
        return None


def _duplicate_candidates_on(connection: Connection, ticket_id: str) -> Candidates | None:
    """The new ticket's model text and the requester's open tickets it may repeat (id, number,
    subject, model text), under the rules of ``assist.duplicates.find`` — on SQLite or
    PostgreSQL alike. None when there is nothing to compare."""
    from supportdesk.assist.duplicates import CANDIDATES, OPEN_STATUSES, WINDOW
    from supportdesk.store.times import from_db, to_db

    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    row = connection.execute(
        text(
            "SELECT t.requester_id, t.created_at, t.group_id, t.status, c.erased_at "
            "FROM ticket t JOIN customer c ON c.id = t.requester_id "
            "WHERE t.id = :t AND t.merged_into_id IS NULL"
        ),
        {"t": ticket_id},
    ).first()
    if row is None or row[4] is not None or row[3] not in OPEN_STATUSES:
        return None
    requester, created, group = row[0], row[1], row[2]
    when = created if isinstance(created, datetime) else from_db(created)
    if when is None:
        return None
    since = when - WINDOW if isinstance(created, datetime) else to_db(when - WINDOW)
    grouped = "group_id IS NULL" + (" OR group_id = :g" if group is not None else "")
    others = connection.execute(
        text(
            "SELECT id, number, subject FROM ticket WHERE requester_id = :r AND id != :t "
            f"AND merged_into_id IS NULL AND status IN ({statuses}) AND created_at >= :since "
            f"AND created_at <= :created AND ({grouped}) ORDER BY created_at DESC LIMIT {CANDIDATES}"
        ),
        {"r": requester, "t": ticket_id, "since": since, "created": created, "g": group},
    ).all()
    if not others:
        return None
    texts = _model_texts(connection, [ticket_id, *[str(o[0]) for o in others]])
    mine = texts.get(ticket_id, "")
    listed = [(str(o[0]), o[1], str(o[2] or ""), texts.get(str(o[0]), "")) for o in others]
    return mine, listed


def install(state: ServerState) -> ServerTriage:
    """Triage every new ticket of this app's server (its hook and its worker)."""
    triage = ServerTriage(state)
    state.extensions["triage"] = triage
    state.after_commit.append(triage.after_commit)
    state.workers.append(triage.worker)
    return triage
