"""A ticket's SLA clocks and report facts, computed from its history.

The history is the part of the audit trail that matters for time: when the ticket was created
(and in which status), each public message from the customer (``inbound``), each public reply by
an agent (``reply``) and each status change. It is kept compactly in ``ticket_timing.history``
and extended by the write path in the same transaction as the audit events it mirrors
(:func:`refresh_from_tx`); :func:`rebuild` derives it again from ``audit_event`` rows.

Clocks (all in the working time of the policy's calendar):

- **first reply** starts at the customer's first public message and stops at the first public
  reply by an agent;
- **next reply** starts at a customer message that arrives after an agent has replied (when no
  next-reply clock is already running) and stops at the next public agent reply;
- **resolution** starts when the ticket is created and stops when it is solved; reopening
  resumes it with the time it had.

Every clock pauses while the ticket is pending or on hold and resumes when it is new or open
again; solving or closing stops them all. A clock is *breached* from the instant its working
time exceeds its target. The targets are those of the policy in force now (priority and group),
so a priority change re-times the whole history. Auto-replies by rules (the system, not an
agent) stop no clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from supportdesk.domain.business_hours import ALWAYS, Calendar, WorkingTime, from_epoch, to_epoch
from supportdesk.store.sla import NO_DEADLINE, ClockView

PAUSING = frozenset({"pending", "on_hold"})
RUNNING = frozenset({"new", "open"})
SOLVED = frozenset({"solved", "closed"})
METRICS = ("first_reply", "next_reply", "resolution")

Event = list[Any]  # [epoch seconds, kind, value]
Record = tuple[float, str, Any, Any, str | None]  # a ticket's audit record: at, field, before, after, actor


# --- history ----------------------------------------------------------------------------------


def event_for(field_name: str, before: Any, after: Any, actor_id: str | None, at: float) -> Event | None:
    """The history event one ticket audit record stands for, if it matters for time."""
    if field_name == "ticket.created":
        return [at, "created", None]
    if field_name == "message.inbound":
        return [at, "inbound", None]
    if field_name == "message.reply":
        return [at, "reply", actor_id] if actor_id else None
    if field_name == "status" and after is not None:
        return [at, "status", after]
    return None


def history_from_records(records: Iterable[Record], status_now: str) -> list[Event]:
    """Events from ``(at, field, before, after, actor_id)`` records of one ticket, in order.

    A ``created`` event takes the status the ticket had before its first status change, or its
    status now when it never changed.
    """
    events: list[Event] = []
    first_before: Any = None
    for at, field_name, before, after, actor_id in records:
        if field_name == "status" and first_before is None:
            first_before = before
        event = event_for(field_name, before, after, actor_id, at)
        if event is not None:
            events.append(event)
    for event in events:
        if event[1] == "created" and event[2] is None:
            event[2] = first_before or status_now
    return events


# --- clocks -----------------------------------------------------------------------------------


@dataclass
class Clock:
    metric: str
    target: float
    started: float
    elapsed: float = 0.0
    since: float | None = None
    stopped: float | None = None
    breach: float | None = None

    def run(self, at: float) -> None:
        if self.since is None and self.stopped is None:
            self.since = at

    def settle(self, at: float, hours: WorkingTime) -> None:
        """Count the working time since the clock last (re)started, up to ``at``."""
        if self.since is None:
            return
        segment = hours.elapsed(self.since, at)
        if self.breach is None and self.elapsed + segment > self.target:
            self.breach = hours.add(self.since, self.target - self.elapsed)
        self.elapsed += segment
        self.since = at

    def pause(self, at: float, hours: WorkingTime) -> None:
        self.settle(at, hours)
        self.since = None

    def stop(self, at: float, hours: WorkingTime) -> None:
        if self.stopped is not None:
            return
        self.settle(at, hours)
        self.since = None
        self.stopped = at

    def deadline(self, hours: WorkingTime) -> float | None:
        """When a running clock breaches (or breached)."""
        if self.since is None:
            return None
        if self.breach is not None:
            return self.breach
        return hours.add(self.since, self.target - self.elapsed)

    @property
    def met(self) -> bool:
        return self.stopped is not None and self.elapsed <= self.target

    def as_json(self, hours: WorkingTime) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "target": self.target,
            "started": self.started,
            "elapsed": round(self.elapsed, 3),
            "since": self.since,
            "stopped": self.stopped,
            "breach": self.breach,
            "deadline": self.deadline(hours),
        }


@dataclass(frozen=True)
class Targets:
    """A policy's targets in working seconds (None: not measured) and its working time."""

    policy_id: str | None
    first_reply: float | None
    next_reply: float | None
    resolution: float | None
    hours: WorkingTime = ALWAYS


NO_TARGETS = Targets(None, None, None, None)


def run_clocks(history: Sequence[Event], targets: Targets) -> tuple[list[Clock], str]:
    """Replay the history; returns every clock (in start order) and the last status."""
    hours = targets.hours
    clocks: list[Clock] = []
    status = "new"
    first: Clock | None = None
    next_reply: Clock | None = None
    resolution: Clock | None = None
    replied = False

    def start(metric: str, target: float | None, at: float) -> Clock | None:
        if target is None:
            return None
        clock = Clock(metric, target, at)
        if status in RUNNING:
            clock.since = at
        clocks.append(clock)
        return clock

    for at, kind, value in history:
        if kind == "created":
            status = value or "new"
            resolution = start("resolution", targets.resolution, at)
            if status in SOLVED and resolution is not None:
                resolution.stop(at, hours)
        elif kind == "inbound":
            if not replied:
                if first is None:
                    first = start("first_reply", targets.first_reply, at)
            elif next_reply is None or next_reply.stopped is not None:
                next_reply = start("next_reply", targets.next_reply, at)
        elif kind == "reply":
            replied = True
            for clock in (first, next_reply):
                if clock is not None:
                    clock.stop(at, hours)
        elif kind == "status":
            previous, status = status, value
            if status in SOLVED:
                for clock in clocks:
                    clock.stop(at, hours)
            elif status in PAUSING:
                for clock in clocks:
                    clock.pause(at, hours)
            elif status in RUNNING:
                if previous in SOLVED and resolution is not None and resolution.stopped is not None:
                    resolution.stopped = None
                for clock in clocks:
                    clock.run(at)
    return clocks, status


# --- facts for reports ------------------------------------------------------------------------


@dataclass
class Facts:
    """What reports aggregate for one ticket (times in wall-clock seconds)."""

    first_reply_s: int | None = None
    replies: int = 0
    next_reply_total_s: int = 0
    next_reply_count: int = 0
    resolution_s: int | None = None
    reopens: int = 0


def facts(history: Sequence[Event]) -> Facts:
    found = Facts()
    created: float | None = None
    first_inbound: float | None = None
    waiting_since: float | None = None
    status = "new"
    solved_at: float | None = None
    for at, kind, value in history:
        if kind == "created":
            created, status = at, value or "new"
            if status in SOLVED:
                solved_at = at
        elif kind == "inbound":
            if found.replies == 0:
                first_inbound = first_inbound if first_inbound is not None else at
            elif waiting_since is None:
                waiting_since = at
        elif kind == "reply":
            if found.replies == 0 and first_inbound is not None:
                found.first_reply_s = round(at - first_inbound)
            elif waiting_since is not None:
                found.next_reply_total_s += round(at - waiting_since)
                found.next_reply_count += 1
            waiting_since = None
            found.replies += 1
        elif kind == "status":
            if status in SOLVED and value not in SOLVED:
                found.reopens += 1
                solved_at = None
            if value in SOLVED and status not in SOLVED:
                solved_at = at
            status = value
    if solved_at is not None and created is not None and status in SOLVED:
        found.resolution_s = round(solved_at - created)
    return found


# --- the stored row ---------------------------------------------------------------------------


def timing_row(history: list[Event], targets: Targets) -> dict[str, Any]:
    """Every column of ``ticket_timing`` but the key, from a history and the targets."""
    clocks, status = run_clocks(history, targets)
    hours = targets.hours
    due: dict[str, float] = {}
    breaches: list[float] = []
    met = missed = 0
    for clock in clocks:
        deadline = clock.deadline(hours)
        if deadline is not None:
            due[clock.metric] = min(deadline, due.get(clock.metric, deadline))
            breaches.append(deadline)
        elif clock.breach is not None:
            breaches.append(clock.breach)
        if clock.stopped is not None or (clock.since is None and clock.breach is not None):
            if clock.met:
                met += 1
            else:
                missed += 1
    found = facts(history)
    return {
        "policy_id": targets.policy_id,
        "history": history,
        "clocks": [clock.as_json(hours) for clock in clocks],
        "due_at": from_epoch(min(due.values())) if due else NO_DEADLINE,
        "breach_at": from_epoch(min(breaches)) if breaches else None,
        "paused": status in PAUSING and any(c.stopped is None for c in clocks),
        "first_reply_due": _maybe(due.get("first_reply")),
        "next_reply_due": _maybe(due.get("next_reply")),
        "resolution_due": _maybe(due.get("resolution")),
        "sla_met": met,
        "sla_missed": missed,
        "first_reply_s": found.first_reply_s,
        "replies": found.replies,
        "next_reply_total_s": found.next_reply_total_s,
        "next_reply_count": found.next_reply_count,
        "resolution_s": found.resolution_s,
        "reopens": found.reopens,
    }


def _maybe(epoch: float | None) -> datetime | None:
    return from_epoch(epoch) if epoch is not None else None


def ticket_dims(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket's own columns a report groups and filters by, copied into its timing row."""
    done = str(ticket["status"]) in SOLVED
    solved_at = ticket["solved_at"] if done else None
    return {
        "created_at": ticket["created_at"],
        "solved_at": solved_at,
        "done_at": (solved_at or ticket["updated_at"]) if done else None,
        "channel": str(ticket["channel"]),
        "group_id": ticket["group_id"],
        "assignee_id": ticket["assignee_id"],
    }


# --- policies ---------------------------------------------------------------------------------


@dataclass
class PolicyBook:
    """Every SLA policy and calendar, loaded once per transaction or bulk run."""

    policies: dict[tuple[str, str | None], Mapping[str, Any]] = field(default_factory=dict)
    calendars: dict[str, WorkingTime] = field(default_factory=dict)

    @classmethod
    def load(cls, rows: Iterable[Mapping[str, Any]], calendars: Iterable[Mapping[str, Any]]) -> PolicyBook:
        book = cls()
        for row in calendars:
            hours, holidays = row["hours"], row["holidays"]
            hours = hours if isinstance(hours, str) else json.dumps(hours, sort_keys=True)
            holidays = holidays if isinstance(holidays, str) else json.dumps(holidays)
            book.calendars[row["id"]] = _calendar(row["timezone"], hours, holidays)
        for row in rows:
            book.policies[(row["priority"], row["group_id"])] = row
        return book

    def targets(self, priority: str, group_id: str | None) -> Targets:
        policy = self.policies.get((priority, group_id)) or self.policies.get((priority, None))
        if policy is None:
            return NO_TARGETS

        def seconds(minutes: int | None) -> float | None:
            return None if minutes is None else float(minutes) * 60.0

        hours = self.calendars.get(policy["calendar_id"], ALWAYS) if policy["calendar_id"] else ALWAYS
        return Targets(
            policy["id"],
            seconds(policy["first_reply_minutes"]),
            seconds(policy["next_reply_minutes"]),
            seconds(policy["resolution_minutes"]),
            hours,
        )


@lru_cache(maxsize=64)
def _calendar(timezone: str, hours: str, holidays: str) -> Calendar:
    """One Calendar per definition, kept across transactions with its cache of opening days."""
    return Calendar.from_definition(timezone, json.loads(hours), json.loads(holidays))


def load_book_sqlite(connection: Any) -> PolicyBook:
    """The policies over a plain sqlite3 connection (reads, bulk rebuilds, the demo)."""
    columns = "id, priority, group_id, calendar_id, first_reply_minutes, next_reply_minutes, resolution_minutes"
    policies = [
        dict(zip(_names(columns), row, strict=True)) for row in connection.execute(f"SELECT {columns} FROM sla_policy")
    ]
    calendars = [
        dict(zip(("id", "timezone", "hours", "holidays"), row, strict=True))
        for row in connection.execute("SELECT id, timezone, hours, holidays FROM sla_calendar")
    ]
    return PolicyBook.load(policies, calendars)


def _names(columns: str) -> list[str]:
    return [name.strip() for name in columns.split(",")]


# --- the write path ---------------------------------------------------------------------------


def refresh_from_tx(tx: Any) -> None:
    """Extend the history of every ticket this mutation touched and rewrite its timing row.

    Runs in the mutation's transaction (see :mod:`supportdesk.domain.automation`). The row is
    derived data: it is written without audit events of its own. While a :class:`DeferredClocks`
    is open and active on the connection (a server push), the new events are only noted; the
    rows are written when it is flushed, once per ticket.
    """
    new_events: dict[str, list[Record]] = {}
    for record in tx.audited:
        if record.entity == "ticket":
            new_events.setdefault(record.entity_id, []).append(
                (to_epoch(tx.now), record.field, record.before, record.after, tx.context.actor.id)
            )
    for touched in tx.touched:
        if touched.table == "ticket":
            new_events.setdefault(str(touched.key[0]), [])
    if not new_events:
        return
    deferred: DeferredClocks | None = tx.connection.info.get(DeferredClocks.KEY)
    if deferred is not None and deferred.active:
        held = getattr(tx, "held_mark", None)  # the row as this Tx holds it now, if it does
        deferred.noted.extend(
            (ticket_id, records, deferred.owner, held(ticket_id) if held else None)
            for ticket_id, records in new_events.items()
        )
        return
    _refresh(tx, new_events)


class DeferredClocks:
    """The timing rows of a push's tickets written once at its end, not after every mutation.

    A ticket's row is a function of its whole history, the targets of the policy in force and
    the ticket's own columns (:func:`timing_row`, :func:`ticket_dims`): computed once from all
    the events a push's mutations added, in order, it is the row the last of the per-mutation
    refreshes would have written. What must hold for that, and how it is kept:

    - nothing in between reads ``ticket_timing`` or the policies: the caller activates the
      deferral only for mutations that do not (:func:`deferrable`: one of :data:`DEFERRABLE`
      while no active rule's query asks about the SLA) and flushes before any other;
    - a mutation that is refused adds nothing: the caller forgets what was noted since its
      :meth:`mark` (:meth:`drop_since`), as a rule whose actions failed does for its own;
    - the ticket row the clocks are computed from is the one as it stands at the flush: the row
      the last mutation to note it held when it noted it (:meth:`supportdesk.domain.tx.Tx.held_mark`:
      the row and the connection's ticket-write count then) while no Tx wrote a ticket since (a
      later mutation, a rule's action, an automation; a scrub behind a Tx moves the count too),
      and only what was not rolled back (a refused mutation's notes, its row with them, are dropped) —
      else read again (push13j: one ``SELECT … FROM ticket`` a push of one note fewer).

    Open on a connection with ``with DeferredClocks(connection) as clocks`` (one transaction).
    """

    KEY = "supportdesk.timing.deferred"

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        #: (ticket id, its new audit records, the caller's ``owner`` then, the ticket row the
        #: noting Tx held then with the ticket-write count it was current at, or None), in the
        #: order the refreshes would have run
        self.noted: list[tuple[str, list[Record], int, Any]] = []
        self.active = False
        #: Who is noting now (a push: the index of its mutation), told back by :meth:`flush`.
        self.owner = 0

    def __enter__(self) -> DeferredClocks:
        self.connection.info[self.KEY] = self
        return self

    def __exit__(self, *_exc: object) -> None:
        if not self.connection.invalidated:  # a dropped connection's info goes with it (see config_cache)
            self.connection.info.pop(self.KEY, None)

    def mark(self) -> int:
        return len(self.noted)

    def drop_since(self, mark: int) -> None:
        del self.noted[mark:]

    def flush(self, tx: Any) -> dict[str, set[int]]:
        """Write the rows of every ticket noted so far (``tx``: any open on this transaction).

        Returns the tickets whose timing row was written, each with the owners that noted it
        (a push adds the row to those mutations' change records)."""
        if not self.noted:
            return {}
        merged: dict[str, list[Record]] = {}
        owners: dict[str, set[int]] = {}
        holders: dict[str, Any] = {}  # the row the last noting Tx held, and when it was current
        for ticket_id, records, owner, held in self.noted:
            merged.setdefault(ticket_id, []).extend(records)
            owners.setdefault(ticket_id, set()).add(owner)
            holders[ticket_id] = held
        self.noted = []
        before = len(tx.touched)
        _refresh(tx, merged, holders)
        written = {str(item.key[0]) for item in tx.touched[before:] if item.table == "ticket_timing"}
        return {ticket_id: owners[ticket_id] for ticket_id in written}


#: Mutations whose clocks a push may write at its end (:class:`DeferredClocks`): they and the
#: rules' actions they run read neither ``ticket_timing`` nor the SLA tables (unless a rule's
#: query asks about the SLA: see :func:`deferrable`), delete no ticket and open no savepoint of
#: their own that could roll back a noted refresh.
DEFERRABLE = frozenset(
    {
        "ticket.create",
        "ticket.reply",
        "ticket.note",
        "ticket.receive",
        "ticket.set_status",
        "ticket.set_priority",
        "ticket.set_type",
        "ticket.set_field",
        "ticket.set_subject",
        "ticket.assign",
        "ticket.tag",
        "ticket.untag",
    }
)


def deferrable(tx: Any, name: str) -> bool:
    """Whether mutation ``name``'s clocks may wait for the push's end: it is one of
    :data:`DEFERRABLE` and no rule it may wake reads the clocks (a query on ``sla:``)."""
    from supportdesk.domain.triggers import rules_read_clocks

    return name in DEFERRABLE and not rules_read_clocks(tx)


def deferred_mark(connection: Any) -> int | None:
    """Where the open deferral stands (None: none open), for :func:`deferred_drop_since`."""
    deferred: DeferredClocks | None = connection.info.get(DeferredClocks.KEY)
    return deferred.mark() if deferred is not None else None


def deferred_drop_since(connection: Any, mark: int | None) -> None:
    """Forget what was noted since ``mark``: the writes it stood for were rolled back."""
    deferred: DeferredClocks | None = connection.info.get(DeferredClocks.KEY)
    if deferred is not None and mark is not None:
        deferred.drop_since(mark)


def _refresh(tx: Any, new_events: dict[str, list[Record]], holders: dict[str, Any] | None = None) -> None:
    """Extend the histories of ``new_events``' tickets and rewrite their timing rows; ``holders``
    (a push's deferred clocks) gives, by ticket, the row a Tx held when it noted the ticket
    (:meth:`supportdesk.domain.tx.Tx.held_mark`), used while still current."""
    from supportdesk.domain.config_cache import cached

    book = cached(tx.connection, "sla_book", lambda: load_book(tx), tx)
    # Many tickets (an import's chunk, a bulk change): their rows read in a few statements and
    # the new timing rows written in one, instead of three statements a ticket.
    many = len(new_events) > 1
    tickets = _rows_by_key(tx, "ticket", "id", list(new_events)) if many else {}
    timings = _rows_by_key(tx, "ticket_timing", "ticket_id", list(new_events)) if many else {}
    created: list[dict[str, Any]] = []
    changed: list[tuple[Any, dict[str, Any]]] = []
    for ticket_id, records in new_events.items():
        ticket = tickets.get(ticket_id) if many else _current_ticket(tx, ticket_id, (holders or {}).get(ticket_id))
        if ticket is None:
            continue
        current = timings.get(ticket_id) if many else tx.row("ticket_timing", ticket_id)
        history = list(current["history"]) if current else []
        history.extend(history_from_records(records, str(ticket["status"])))
        values = _timing_row_of(ticket_id, history, book.targets(str(ticket["priority"]), ticket["group_id"]))
        values.update(ticket_dims(ticket))
        if current is None:
            created.append({"ticket_id": ticket_id, "handle_s": 0, **values})
        elif _differs(current, values):
            changed.append((ticket_id, values))
    if len(changed) == 1:
        tx.write_quietly("ticket_timing", *changed[0])
    elif changed:
        tx.write_quietly_many("ticket_timing", changed)
    if len(created) == 1:
        tx.insert("ticket_timing", created[0])
    elif created:
        _insert_created(tx, created)


#: Whether :func:`_timing_row_of` may answer from what it computed last for the same ticket
#: (wpath19); the equivalence tests switch it off to compare.
REUSE_ROWS = True

#: ticket id → (history, targets, :func:`timing_row` of them): the last row computed for it.
_LAST_ROWS: dict[str, tuple[list[Event], Targets, dict[str, Any]]] = {}
_LAST_ROWS_MAX = 1024


def _timing_row_of(ticket_id: str, history: list[Event], targets: Targets) -> dict[str, Any]:
    """:func:`timing_row`, answered from the last computation for this ticket when its history
    and targets are equal to that one's (a note, a tag, an assignment add no event: the clocks
    are replayed for nothing). :func:`timing_row` is a pure function of the two, so the answer
    is the same; only the history list is the caller's own."""
    if REUSE_ROWS:
        last = _LAST_ROWS.get(ticket_id)
        if last is not None and last[1] == targets and last[0] == history:
            return {**last[2], "history": history}
    values = timing_row(history, targets)
    if REUSE_ROWS:
        if len(_LAST_ROWS) >= _LAST_ROWS_MAX:
            _LAST_ROWS.clear()
        _LAST_ROWS[ticket_id] = (list(history), targets, dict(values))  # its events are never changed
    return values


def _current_ticket(tx: Any, ticket_id: str, mark: Any = None) -> dict[str, Any] | None:
    """The ticket as it stands: the row the mutator loaded when its Tx still holds it current
    (:meth:`supportdesk.domain.tx.Tx.held_ticket`), or ``mark``'s row (held by the Tx that noted
    the ticket for a push's deferred clocks) while no Tx wrote a ticket since; else read."""
    held: dict[str, Any] | None = tx.held_ticket(ticket_id) if hasattr(tx, "held_ticket") else None
    if held is None and mark is not None:
        from supportdesk.domain.tx import still_held

        held = still_held(tx.connection, mark)
    if held is not None:
        return held
    row: dict[str, Any] | None = tx.row("ticket", ticket_id)
    return row


#: From how many new timing rows in one mutation the report rollup is summed once for them
#: rather than by its trigger row by row (a chunk of imported tickets; see
#: :func:`supportdesk.store.rollup.summed_after_insert`). Fewer are not worth the schema change.
SUMMED_FROM = 20


def _insert_created(tx: Any, created: list[dict[str, Any]]) -> None:
    """New timing rows of many tickets in one statement; on SQLite, when there are many, with
    the report rollup's insert trigger paused and their figures added to it once after."""
    if len(created) < SUMMED_FROM or tx.connection.dialect.name != "sqlite" or tx.context.mode == "replay":
        tx.insert_many("ticket_timing", created)
        return
    from supportdesk.store import rollup

    raw = tx.connection.connection.driver_connection  # the sqlite3 connection, same transaction
    with rollup.summed_after_insert(raw, [row["ticket_id"] for row in created]):
        tx.insert_many("ticket_timing", created)


def _rows_by_key(tx: Any, table_name: str, key: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of ``table_name`` whose ``key`` is among ``ids``, by key (500 ids a statement)."""
    from supportdesk.store import prepared

    statement = _select_in(table_name, key)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        for row in prepared.every(tx.connection, statement, {"ids": ids[start : start + 500]}):
            found[str(row[key])] = row
    return found


@cache
def _select_in(table_name: str, key: str) -> Any:
    from sqlalchemy import bindparam, select

    from supportdesk.domain.tx import table

    rows = table(table_name)
    return select(rows).where(rows.c[key].in_(bindparam("ids", expanding=True)))


def _differs(current: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    return any(current.get(key) != value for key, value in values.items())


@cache
def _book_statements() -> tuple[Any, Any]:
    """Built once: this runs after every mutation, and building the statement cost more than
    running it (issue 19)."""
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    return select(table("sla_policy")), select(table("sla_calendar"))


def load_book(tx: Any) -> PolicyBook:
    """The policies and calendars, read in the mutation's transaction (either engine)."""
    policy_rows, calendar_rows = _book_statements()
    policies = [dict(r) for r in tx.connection.execute(policy_rows).mappings()]
    calendars = [dict(r) for r in tx.connection.execute(calendar_rows).mappings()] if policies else []
    return PolicyBook.load(policies, calendars)


def retime_all(tx: Any) -> int:
    """Recompute the clocks of every unsolved ticket (after a policy or calendar change)."""
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    book = load_book(tx)
    ticket, timing = table("ticket"), table("ticket_timing")
    rows = tx.connection.execute(
        select(timing, ticket.c.priority)
        .join(ticket, ticket.c.id == timing.c.ticket_id)
        .where(ticket.c.status.in_(("new", "open", "pending", "on_hold")))
    ).mappings()
    changed = 0
    for row in list(rows):
        values = timing_row(list(row["history"]), book.targets(str(row["priority"]), row["group_id"]))
        if _differs(row, values):
            tx.write_quietly("ticket_timing", row["ticket_id"], values)
            changed += 1
    return changed


# --- rebuilding from the audit trail ----------------------------------------------------------


def derived_row(ticket: Mapping[str, Any], records: Sequence[Record], book: PolicyBook) -> dict[str, Any]:
    """A ticket's timing columns (all but the key and handle time) from its audit records."""
    history = history_from_records(records, str(ticket["status"]))
    values = timing_row(history, book.targets(str(ticket["priority"]), ticket["group_id"]))
    values.update(ticket_dims(ticket))
    return values


def rebuild_tickets(tx: Any, ticket_ids: Sequence[str]) -> int:
    """:func:`rebuild` on the write path (SQLAlchemy, either engine): the rows that change are
    written like any other, so on the server they reach every replica. Returns how many changed."""
    from sqlalchemy import func, select

    from supportdesk.domain.tx import table

    book = load_book(tx)
    audit, handles = table("audit_event"), table("handle_time")
    records: dict[str, list[Record]] = {ticket_id: [] for ticket_id in ticket_ids}
    found = tx.connection.execute(
        select(audit.c.entity_id, audit.c.at, audit.c.field, audit.c.before, audit.c.after, audit.c.actor_id)
        .where(audit.c.entity == "ticket", audit.c.entity_id.in_(list(ticket_ids)))
        .order_by(audit.c.entity_id, audit.c.id)
    )
    for entity_id, at, field_name, before, after, actor_id in found:
        records[entity_id].append((at.timestamp(), field_name, before, after, actor_id))
    handle = dict(
        tx.connection.execute(
            select(handles.c.ticket_id, func.sum(handles.c.seconds))
            .where(handles.c.ticket_id.in_(list(ticket_ids)))
            .group_by(handles.c.ticket_id)
        ).all()
    )
    changed = 0
    for ticket_id in ticket_ids:
        ticket = tx.row("ticket", ticket_id)
        if ticket is None:
            continue
        values = {**derived_row(ticket, records[ticket_id], book), "handle_s": int(handle.get(ticket_id) or 0)}
        current = tx.row("ticket_timing", ticket_id)
        if current is None:
            tx.insert("ticket_timing", {"ticket_id": ticket_id, **values})
        elif _differs(current, values):
            tx.write_quietly("ticket_timing", ticket_id, values)
        else:
            continue
        changed += 1
    return changed


def rebuild(connection: Any, *, ticket_ids: Sequence[str] | None = None, chunk: int = 2000) -> int:
    """Derive every ticket's history and timing again from ``audit_event`` (plain sqlite3).

    For a workspace upgraded from before SLAs, after a bulk import, or to check the write path:
    the rows it writes equal the ones the write path kept up to date.
    """
    from supportdesk.store.times import from_db, to_db

    book = load_book_sqlite(connection)
    if ticket_ids is None:
        ticket_ids = [row[0] for row in connection.execute("SELECT id FROM ticket ORDER BY id")]
    handle = dict(connection.execute("SELECT ticket_id, sum(seconds) FROM handle_time GROUP BY ticket_id").fetchall())
    written = 0
    for offset in range(0, len(ticket_ids), chunk):
        ids = list(ticket_ids[offset : offset + chunk])
        marks = ",".join("?" * len(ids))
        tickets = {
            row[0]: dict(zip(_TICKET_COLUMNS, row, strict=True))
            for row in connection.execute(f"SELECT {', '.join(_TICKET_COLUMNS)} FROM ticket WHERE id IN ({marks})", ids)
        }
        records: dict[str, list[Record]] = {ticket_id: [] for ticket_id in ids}
        for entity_id, at, field_name, before, after, actor_id in connection.execute(
            "SELECT entity_id, at, field, before, after, actor_id FROM audit_event "
            f"WHERE entity = 'ticket' AND entity_id IN ({marks}) ORDER BY entity_id, id",
            ids,
        ):
            moment = from_db(at)
            assert moment is not None
            records[entity_id].append((moment.timestamp(), field_name, _json(before), _json(after), actor_id))
        rows = []
        for ticket_id in ids:
            if ticket_id not in tickets:
                continue
            ticket = tickets[ticket_id]
            for name in ("created_at", "updated_at", "solved_at"):
                ticket[name] = from_db(ticket[name])
            rows.append(
                _db_row(ticket_id, derived_row(ticket, records[ticket_id], book), handle.get(ticket_id, 0), to_db)
            )
        connection.executemany(INSERT_TIMING, rows)
        written += len(rows)
    return written


_TICKET_COLUMNS = (
    "id",
    "status",
    "priority",
    "group_id",
    "assignee_id",
    "channel",
    "created_at",
    "updated_at",
    "solved_at",
)
TIMING_COLUMNS = (
    "ticket_id",
    "created_at",
    "solved_at",
    "done_at",
    "channel",
    "group_id",
    "assignee_id",
    "policy_id",
    "due_at",
    "breach_at",
    "paused",
    "first_reply_due",
    "next_reply_due",
    "resolution_due",
    "sla_met",
    "sla_missed",
    "first_reply_s",
    "replies",
    "next_reply_total_s",
    "next_reply_count",
    "resolution_s",
    "reopens",
    "handle_s",
    "history",
    "clocks",
)
#: An upsert, not ``INSERT OR REPLACE``: the implicit delete of a replace fires no trigger, and
#: the report rollup (``store.rollup``) is kept by ``ticket_timing``'s triggers.
INSERT_TIMING = (
    f"INSERT INTO ticket_timing ({', '.join(TIMING_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TIMING_COLUMNS))}) ON CONFLICT(ticket_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in TIMING_COLUMNS[1:])
)


def _db_row(
    ticket_id: str, values: Mapping[str, Any], handle_s: int, to_db: Any, to_json: Callable[[Any], str] = json.dumps
) -> tuple[Any, ...]:
    """A ``ticket_timing`` row for raw sqlite3 bulk writes (the demo, rebuilds). A time may come
    already in its stored text form (the demo formats its own from epoch milliseconds)."""

    def when(value: datetime | str | None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return str(to_db(value))

    return (
        ticket_id,
        when(values["created_at"]),
        when(values["solved_at"]),
        when(values["done_at"]),
        values["channel"],
        values["group_id"],
        values["assignee_id"],
        values["policy_id"],
        to_db(values["due_at"]),
        when(values["breach_at"]),
        int(values["paused"]),
        when(values["first_reply_due"]),
        when(values["next_reply_due"]),
        when(values["resolution_due"]),
        values["sla_met"],
        values["sla_missed"],
        values["first_reply_s"],
        values["replies"],
        values["next_reply_total_s"],
        values["next_reply_count"],
        values["resolution_s"],
        values["reopens"],
        handle_s,
        to_json(values["history"]),
        to_json(values["clocks"]),
    )


def db_row(
    ticket_id: str,
    history: list[Event],
    targets: Targets,
    dims: Mapping[str, Any],
    handle_s: int = 0,
    *,
    to_json: Callable[[Any], str] = json.dumps,
) -> tuple[Any, ...]:
    """A ``ticket_timing`` row for bulk loaders; ``dims`` as :func:`ticket_dims` makes them, or
    with its times already in their stored text form. ``to_json`` writes the history and the
    clocks; a loader that knows its values need no escaping may pass a faster one that writes
    what ``json.dumps`` would."""
    from supportdesk.store.times import to_db

    return _db_row(ticket_id, {**timing_row(history, targets), **dims}, handle_s, to_db, to_json)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- what the ticket pane and the CLI show --------------------------------------------------------


def clock_views(connection: Any, ticket_id: str, now: datetime) -> list[ClockView]:
    """Every SLA clock of a ticket as of ``now`` (plain sqlite3), oldest first."""
    row = connection.execute(
        "SELECT t.priority, t.group_id, s.clocks FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id "
        "WHERE t.id = ?",
        (ticket_id,),
    ).fetchone()
    if row is None or not row[2]:
        return []
    hours = load_book_sqlite(connection).targets(row[0], row[1]).hours
    moment = to_epoch(now)
    views = []
    for clock in json.loads(row[2]):
        since, deadline, breach = clock["since"], clock["deadline"], clock["breach"]
        elapsed = clock["elapsed"] + (hours.elapsed(since, moment) if since is not None else 0.0)
        if clock["stopped"] is not None:
            state = "met" if clock["elapsed"] <= clock["target"] else "missed"
        else:
            state = "running" if since is not None else "paused"
        if breach is None and deadline is not None and deadline <= moment:
            breach = deadline
        views.append(
            ClockView(
                metric=clock["metric"],
                target_s=clock["target"],
                elapsed_s=elapsed,
                state=state,
                deadline=_maybe(deadline),
                breached_at=_maybe(breach),
            )
        )
    return views
