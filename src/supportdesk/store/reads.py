"""Read queries of the local store, over a plain ``sqlite3`` connection.

This is the fast path: the console's first frame and every CLI listing come from here without
importing SQLAlchemy or SQLModel. Queue pages use keyset pagination (``(sort key, id)`` after
the last row seen), never OFFSET, so page 5,000 costs what page 1 costs.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.store import ticket_fields
from supportdesk.store.query import BM25, Compiled, compile_query, fts_token
from supportdesk.store.times import from_db

if TYPE_CHECKING:
    from supportdesk.store.viewer import Viewer

STATUS_ORDER_SQL = (
    "CASE t.status WHEN 'new' THEN 1 WHEN 'open' THEN 2 WHEN 'pending' THEN 3 "
    "WHEN 'on_hold' THEN 4 WHEN 'solved' THEN 5 WHEN 'closed' THEN 6 ELSE 7 END"
)

_REQUESTER_NAME = "coalesce((SELECT lower(c.name) FROM customer c WHERE c.id = t.requester_id), '')"
_ASSIGNEE_NAME = "coalesce((SELECT lower(a.name) FROM agent a WHERE a.id = t.assignee_id), '')"
_GROUP_NAME = "coalesce((SELECT lower(g.name) FROM groups g WHERE g.id = t.group_id), '')"

#: The key of each sort, most significant first; ``t.id`` always breaks the last tie. Where a
#: sort has an index (updated, created, priority …) the key matches it column for column, so a
#: keyset page is an index range scan and never a sort of the whole result.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "updated": ("t.updated_at",),
    "created": ("t.created_at",),
    "number": ("coalesce(t.number, 0)",),
    "priority": ("t.priority_rank", "t.updated_at"),
    "status": (STATUS_ORDER_SQL, "t.updated_at"),
    "subject": ("lower(t.subject)",),
    "requester": (_REQUESTER_NAME, "t.updated_at"),
    "assignee": (_ASSIGNEE_NAME, "t.updated_at"),
    "group": (_GROUP_NAME, "t.updated_at"),
    "channel": ("t.channel", "t.updated_at"),
    "sla": ("s.due_at",),
    **{f.name: (f"t.{f.store_column}", "t.updated_at") for f in ticket_fields.plain_fields() if f.sortable},
}
#: Sorts whose key lives in ``ticket_timing s`` (one row per ticket, see store.sla): the page
#: walks that table's ``(due_at, ticket_id)`` index (see :func:`_timing_source`).
TIMING_SORTS = frozenset({("s.due_at",)})

_BASE_COLUMNS = (
    "id",
    "number",
    "subject",
    "status",
    "priority",
    "type",
    "channel",
    "created_at",
    "updated_at",
    "group_id",
    "assignee_id",
    "requester_id",
)
#: Fields of the ticket field table that no code names (``ticket.set_field`` ones) or that have a
#: queue column: a queue row carries them in ``values``, so the queue and ``tickets list`` show them.
ROW_FIELDS = tuple(
    f
    for f in ticket_fields.FIELDS
    if f.kind in ("choice", "text", "number")
    and f.store_column not in _BASE_COLUMNS
    and (f.queue is not None or f.mutation == ticket_fields.SET_FIELD)
)
QUEUE_COLUMNS = f"""
    t.id, t.number, t.subject, t.status, t.priority, t.type, t.channel,
    t.created_at, t.updated_at, t.group_id, t.assignee_id, t.requester_id,
    {"".join(f"t.{f.store_column}, " for f in ROW_FIELDS)}
    (SELECT c.name FROM customer c WHERE c.id = t.requester_id) AS requester,
    (SELECT a.name FROM agent a WHERE a.id = t.assignee_id) AS assignee,
    (SELECT g.name FROM groups g WHERE g.id = t.group_id) AS group_name,
    EXISTS (SELECT 1 FROM ticket_seen s WHERE s.ticket_id = t.id AND s.seen_at >= t.updated_at)
        AS seen
"""


@dataclass(frozen=True)
class QueueRow:
    id: str
    number: int | None
    subject: str
    status: str
    priority: str
    type: str
    channel: str
    created_at: datetime
    updated_at: datetime
    group_id: str | None
    assignee_id: str | None
    requester_id: str
    requester: str
    assignee: str | None
    group: str | None
    seen: bool
    cursor: tuple[Any, ...]
    #: The values of :data:`ROW_FIELDS`, by field name.
    values: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """A field's value by its name in the ticket field table (names, not ids, for people)."""
        if name in self.values:
            return self.values[name]
        if hasattr(self, name):
            return getattr(self, name)
        known = ticket_fields.BY_NAME.get(name)
        return getattr(self, known.store_column, None) if known else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.values,
            "id": self.id,
            "number": self.number,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "type": self.type,
            "channel": self.channel,
            "group": self.group,
            "assignee": self.assignee,
            "requester": self.requester,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Page:
    rows: list[QueueRow]
    more: bool

    @property
    def next_cursor(self) -> tuple[Any, ...] | None:
        return self.rows[-1].cursor if self.rows and self.more else None


@dataclass
class QueuePlan:
    """The SQL for one query and sort: reused for every page of it."""

    compiled: Compiled
    keys: tuple[str, ...]
    direction: str
    text_driven: bool

    @property
    def descending(self) -> bool:
        return self.direction == "DESC"


def plan_queue(
    query: str | Compiled, *, me: str | None = None, sort: str | None = None, viewer: Viewer | None = None
) -> QueuePlan:
    """The plan of ``query``; with ``viewer``, only the tickets that agent may see (see store.viewer)."""
    compiled = query if isinstance(query, Compiled) else compile_query(query, me=me, sort=sort)
    if viewer is not None:
        compiled = seen_by(compiled, viewer)
    chosen = compiled.sort
    if chosen == "newest":
        return QueuePlan(compiled, ("t.rowid",), "DESC", text_driven=bool(compiled.fts))
    if chosen == "relevance":
        return QueuePlan(compiled, (BM25,), "ASC", text_driven=True)
    key, _, way = chosen.rpartition("-")
    return QueuePlan(compiled, SORT_KEYS[key], "DESC" if way == "desc" else "ASC", False)


def seen_by(compiled: Compiled, viewer: Viewer) -> Compiled:
    """``compiled`` kept to what ``viewer`` may see: the condition joins ``where`` and ``rest``
    (a text search's other conditions), so every source and sort of the queue applies it, and
    so does anything else reading ``where`` on ``ticket t`` (exports, selections)."""
    if viewer.sees_all:
        return compiled
    condition, params = viewer.condition("t")
    return replace(
        compiled,
        where=f"({compiled.where}) AND {condition}",
        rest=None if compiled.rest is None else f"({compiled.rest}) AND {condition}",
        params={**compiled.params, **params},
    )


def _source(plan: QueuePlan) -> tuple[str, list[str], dict[str, Any]]:
    """FROM, the WHERE conditions and their parameters of a queue query.

    Text queries are driven from the FTS index, newest match first. When the query also keeps to
    unsolved statuses, each match is checked against the rowids of those few tickets, gathered
    once from the status index, instead of by reading the matching ticket's row: on 1M tickets,
    ``status:new refund`` read 156k ticket rows to find 24 (65 ms) and now reads none (5 ms). The
    ``+`` keeps that check away from the FTS table, which would otherwise seek every listed rowid.
    """
    compiled = plan.compiled
    params: dict[str, Any] = dict(compiled.params)
    if compiled.fts is None:
        return "ticket t", [compiled.where], params
    params["fts"] = compiled.fts
    if not plan.text_driven:
        matching = "t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :fts)"
        return "ticket t", [compiled.where, matching], params
    source = "ticket_fts JOIN ticket t ON t.rowid = ticket_fts.rowid"
    if compiled.unsolved is not None and compiled.rest is not None:
        few = f"+ticket_fts.rowid IN (SELECT t.rowid FROM ticket t WHERE {compiled.unsolved})"
        return source, [compiled.rest, "ticket_fts MATCH :fts", few], params
    return source, [compiled.where, "ticket_fts MATCH :fts"], params


def _timing_source(plan: QueuePlan) -> tuple[str, str]:
    """FROM and WHERE for a sort by time to breach: ``ticket_timing s`` walked in index order.

    The query's conditions on the ticket go in an EXISTS probe rather than a join: joined,
    SQLite may first build a Bloom filter over every ticket (its choice depends on sampled
    statistics), which costs a full scan before the first row of a 50-row page.
    """
    conditions = [plan.compiled.where]
    if plan.compiled.fts is not None:
        conditions.append("t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :fts)")
    return "ticket_timing s", f"EXISTS (SELECT 1 FROM ticket t WHERE t.id = s.ticket_id AND {' AND '.join(conditions)})"


def _timing_page_sql(
    plan: QueuePlan, after: tuple[Any, ...] | None, limit: int, reverse: bool
) -> tuple[str, dict[str, Any]]:
    """A page sorted by time to breach: the 50 ticket ids from the due index, then their rows."""
    direction = "DESC" if plan.descending != reverse else "ASC"
    source, condition = _timing_source(plan)
    conditions = [condition]
    params: dict[str, Any] = dict(plan.compiled.params)
    if plan.compiled.fts is not None:
        params["fts"] = plan.compiled.fts
    if after is not None:
        if len(after) != 2:
            raise ValueError("the cursor belongs to another sort")
        conditions.append(f"(s.due_at, s.ticket_id) {'<' if direction == 'DESC' else '>'} (:after_0, :after_1)")
        params.update(after_0=after[0], after_1=after[1])
    params["limit"] = limit + 1
    order = f"s.due_at {direction}, s.ticket_id {direction}"
    sql = (
        f"SELECT {QUEUE_COLUMNS}, s.due_at AS sort_key_0 FROM (SELECT s.ticket_id, s.due_at FROM {source} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit) s "
        f"JOIN ticket t ON t.id = s.ticket_id ORDER BY {order}"
    )
    return sql, params


def _ordering(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The ORDER BY terms: the keys, then ``t.id`` to break ties — unless the key is a rowid.

    A rowid is already unique, and an extra term would stop SQLite from reading the FTS index
    in rowid order and stopping after one page: it would sort every match first (measured on 1M
    tickets: ``refund`` newest-first went from 4 ms to 2 s).
    """
    if keys[0] in ("t.rowid", "ticket_fts.rowid"):
        return keys
    return (*keys, "t.id")


def _sort_keys_sql(plan: QueuePlan) -> tuple[str, ...]:
    if plan.keys == ("t.rowid",) and plan.text_driven:
        return ("ticket_fts.rowid",)
    return plan.keys


def queue_page_sql(
    plan: QueuePlan,
    *,
    after: tuple[Any, ...] | None = None,
    limit: int = 50,
    reverse: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of one queue page (see :func:`queue_page`)."""
    if plan.keys in TIMING_SORTS:
        return _timing_page_sql(plan, after, limit, reverse)
    source, conditions, params = _source(plan)
    keys = _sort_keys_sql(plan)
    descending = plan.descending != reverse
    direction = "DESC" if descending else "ASC"
    ordering = _ordering(keys)
    if after is not None:
        if len(after) != len(keys) + 1:
            raise ValueError("the cursor belongs to another sort")
        op = "<" if descending else ">"
        names = [f":after_{i}" for i in range(len(ordering))]
        conditions.append(f"({', '.join(ordering)}) {op} ({', '.join(names)})")
        params.update({name[1:]: value for name, value in zip(names, after, strict=False)})
    params["limit"] = limit + 1
    selected = ", ".join(f"{key} AS sort_key_{i}" for i, key in enumerate(keys))
    order = ", ".join(f"{key} {direction}" for key in ordering)
    sql = (
        f"SELECT {QUEUE_COLUMNS}, {selected} FROM {source} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit"
    )
    return sql, params


def queue_page(
    connection: sqlite3.Connection,
    plan: QueuePlan,
    *,
    after: tuple[Any, ...] | None = None,
    limit: int = 50,
    reverse: bool = False,
) -> Page:
    """One page of the queue. ``after`` is the cursor of the last row already shown.

    With ``reverse`` the page is read backwards from ``after`` (for scrolling up, or for ``G``
    with ``after=None``) and returned in display order.
    """
    limit = max(1, min(limit, 1000))
    sql, params = queue_page_sql(plan, after=after, limit=limit, reverse=reverse)
    rows = connection.execute(sql, params).fetchall()
    more = len(rows) > limit
    key_count = len(_sort_keys_sql(plan))
    result = [_queue_row(row, key_count) for row in rows[:limit]]
    if reverse:
        result.reverse()
    return Page(result, more)


def _queue_row(row: sqlite3.Row, key_count: int) -> QueueRow:
    return QueueRow(
        id=row["id"],
        number=row["number"],
        subject=row["subject"],
        status=row["status"],
        priority=row["priority"],
        type=row["type"],
        channel=row["channel"],
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        group_id=row["group_id"],
        assignee_id=row["assignee_id"],
        requester_id=row["requester_id"],
        requester=row["requester"] or "",
        assignee=row["assignee"],
        group=row["group_name"],
        seen=bool(row["seen"]),
        cursor=(*(row[f"sort_key_{i}"] for i in range(key_count)), row["id"]),
        values={f.name: row[f.store_column] for f in ROW_FIELDS},
    )


def _time(value: str) -> datetime:
    parsed = from_db(value)
    assert parsed is not None
    return parsed


def queue_count(connection: sqlite3.Connection, plan: QueuePlan) -> int:
    source, conditions, params = _source(plan)
    sql = f"SELECT count(*) FROM {source} WHERE {' AND '.join(conditions)}"
    return int(connection.execute(sql, params).fetchone()[0])


def queue_anchors(connection: sqlite3.Connection, plan: QueuePlan, every: int = 1000) -> list[tuple[Any, ...]]:
    """Every ``every``-th cursor of the whole result, for jumping to any position quickly.

    One pass over the index; the console computes it in a worker and then reaches row N by a
    keyset page from the nearest anchor instead of an OFFSET.
    """
    source, conditions, params = _source(plan)
    keys = _sort_keys_sql(plan)
    ordering, ticket_id = _ordering(keys), "t.id"
    if plan.keys in TIMING_SORTS:
        source, condition = _timing_source(plan)
        conditions, ordering, ticket_id = [condition], ("s.due_at", "s.ticket_id"), "s.ticket_id"
    params["every"] = max(1, every)
    selected = ", ".join(f"{key} AS k{i}" for i, key in enumerate(keys))
    names = ", ".join(f"k{i}" for i in range(len(keys)))
    order = ", ".join(f"{key} {plan.direction}" for key in ordering)
    sql = (
        f"SELECT {names}, id FROM (SELECT {selected}, {ticket_id} AS id, "
        f"row_number() OVER (ORDER BY {order}) AS rn "
        f"FROM {source} WHERE {' AND '.join(conditions)}) WHERE (rn - 1) % :every = 0 ORDER BY rn"
    )
    return [tuple(row) for row in connection.execute(sql, params)]


# --- views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewRow:
    id: str
    name: str
    query: str
    sort: str
    shared: bool
    position: int


def list_views(connection: sqlite3.Connection, me: str | None) -> list[ViewRow]:
    rows = connection.execute(
        "SELECT id, name, query, sort, owner_id, position FROM saved_view "
        "WHERE owner_id IS NULL OR owner_id = ? ORDER BY owner_id IS NOT NULL, position, name",
        (me,),
    ).fetchall()
    return [ViewRow(r[0], r[1], r[2], r[3], r[4] is None, r[5]) for r in rows]


def view_counts(
    connection: sqlite3.Connection, views: list[ViewRow], *, me: str | None, viewer: Viewer | None = None
) -> dict[str, int]:
    """The number of tickets in each view (a view whose query no longer parses counts -1); with
    ``viewer``, of the tickets that agent may see."""
    from supportdesk.store.query import QueryError

    counts: dict[str, int] = {}
    for view in views:
        try:
            counts[view.id] = queue_count(connection, plan_queue(view.query, me=me, sort=view.sort, viewer=viewer))
        except QueryError:
            counts[view.id] = -1
    return counts


# --- one ticket -----------------------------------------------------------------------------

_NUMBER_REF = re.compile(r"^#?(\d{1,12})$")
_ID_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]{7,35}$")


def resolve_ticket(connection: sqlite3.Connection, ref: str) -> str | None:
    """A ticket id from ``1042``, ``#1042``, a full id or an unambiguous id prefix (8+ chars)."""
    ref = ref.strip().lower()
    number = _NUMBER_REF.match(ref)
    if number:
        row = connection.execute("SELECT id FROM ticket WHERE number = ?", (int(number.group(1)),)).fetchone()
        return row[0] if row else None
    if not _ID_PREFIX.match(ref):
        return None
    if len(ref) == 36:
        row = connection.execute("SELECT id FROM ticket WHERE id = ?", (ref,)).fetchone()
        return row[0] if row else None
    rows = connection.execute(
        "SELECT id FROM ticket WHERE id >= ? AND id < ? LIMIT 2", (ref, ref + "\uffff")
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def resolve_ticket_label(connection: sqlite3.Connection, ref: str) -> tuple[str, str] | None:
    """:func:`resolve_ticket` and the ticket's label (``#1042``, or its id while it has no
    number); a number is looked up with its label in one statement."""
    number = _NUMBER_REF.match(ref.strip().lower())
    if number:
        row = connection.execute("SELECT id FROM ticket WHERE number = ?", (int(number.group(1)),)).fetchone()
        return (row[0], f"#{int(number.group(1))}") if row else None
    found = resolve_ticket(connection, ref)
    if found is None:
        return None
    row = connection.execute("SELECT number FROM ticket WHERE id = ?", (found,)).fetchone()
    return found, f"#{row[0]}" if row and row[0] else found


@dataclass
class TimelineEntry:
    id: str
    ticket_id: str
    channel: str
    direction: str
    public: bool
    author_kind: str
    author: str
    body: str
    meta: dict[str, Any]
    created_at: datetime
    ticket_number: int | None = None
    ticket_subject: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def visibility(self) -> str:
        return "public" if self.public else "internal"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "direction": self.direction,
            "visibility": self.visibility,
            "author_kind": self.author_kind,
            "author": self.author,
            "body": self.body,
            "meta": self.meta,
            "created_at": self.created_at,
            "attachments": self.attachments,
        }


@dataclass
class TicketDetail:
    ticket: dict[str, Any]
    tags: list[str]
    requester: dict[str, Any]
    identities: list[dict[str, Any]]
    organization: str | None
    messages: list[TimelineEntry]

    def as_dict(self) -> dict[str, Any]:
        t = self.ticket
        return {
            "id": t["id"],
            "number": t["number"],
            "subject": t["subject"],
            "status": t["status"],
            "priority": t["priority"],
            "type": t["type"],
            "group": t["group_name"],
            "assignee": t["assignee"],
            "requester": self.requester.get("name"),
            "requester_email": next((i["value"] for i in self.identities if i["kind"] == "email"), None),
            "organization": self.organization,
            "channel": t["channel"],
            "tags": self.tags,
            "created_at": t["created_at"],
            "updated_at": t["updated_at"],
            "first_response_at": t["first_response_at"],
            "solved_at": t["solved_at"],
            "problem_id": t["problem_id"],
            "merged_into_id": t["merged_into_id"],
            "follow_up_of_id": t["follow_up_of_id"],
            "snoozed_until": t.get("snoozed_until"),
            "fields": t["fields"],
            **{f.name: t[f.store_column] for f in ticket_fields.plain_fields()},
            **{f.name: t.get(f.store_column) for f in ticket_fields.FIELDS if f.kind == "score"},
            "messages": [m.as_dict() for m in self.messages],
        }


_MESSAGE_COLUMNS = """
    m.id, m.ticket_id, m.channel, m.direction, m.public, m.author_kind, m.body, m.meta,
    m.created_at,
    coalesce(a.name, c.name, 'supportdesk') AS author
"""


def _entry(row: sqlite3.Row, **extra: Any) -> TimelineEntry:
    return TimelineEntry(
        id=row["id"],
        ticket_id=row["ticket_id"],
        channel=row["channel"],
        direction=row["direction"],
        public=bool(row["public"]),
        author_kind=row["author_kind"],
        author=row["author"],
        body=row["body"],
        meta=json.loads(row["meta"]) if row["meta"] else {},
        created_at=_time(row["created_at"]),
        **extra,
    )


def reply_anchor(
    connection: sqlite3.Connection, ticket_id: str, me: str | None, among: Sequence[str] | None = None
) -> str | None:
    """The message a reply from ``me`` is written after (its ``seen_message_id``): the newest one
    somebody else wrote, or the ticket's first message when all are the agent's own.

    The agent's own messages never count: a note written offline is newer than a customer
    message not pulled yet, and would hide it. The first message stands in on a ticket the agent
    opened for a customer (the server records that as the agent's note), so a customer message
    arriving after it still refuses the reply. ``among`` limits it to the messages the agent was
    shown (the console's pane): one pulled while they typed was not seen, and must refuse it."""
    shown = ""
    params: list[Any] = [ticket_id]
    if among is not None:
        if not among:
            return None
        shown = f" AND id IN ({', '.join('?' * len(among))})"
        params.extend(among)
    row = connection.execute(
        f"SELECT id FROM message WHERE ticket_id = ?{shown} AND (author_agent_id IS NULL OR author_agent_id != ?) "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (*params, me or ""),
    ).fetchone()
    if row is None:
        row = connection.execute(
            f"SELECT id FROM message WHERE ticket_id = ?{shown} ORDER BY created_at, rowid LIMIT 1", params
        ).fetchone()
    return str(row[0]) if row else None


def ticket_detail(connection: sqlite3.Connection, ticket_id: str) -> TicketDetail | None:
    """A ticket with its names, tags, requester and the whole timeline in order."""
    row = connection.execute(
        "SELECT t.*, (SELECT a.name FROM agent a WHERE a.id = t.assignee_id) AS assignee, "
        "(SELECT g.name FROM groups g WHERE g.id = t.group_id) AS group_name "
        "FROM ticket t WHERE t.id = ?",
        (ticket_id,),
    ).fetchone()
    if row is None:
        return None
    ticket = dict(row)
    ticket["fields"] = json.loads(ticket["fields"]) if ticket["fields"] else {}
    for name in ("created_at", "updated_at", "first_response_at", "solved_at", "snoozed_until"):
        ticket[name] = from_db(ticket.get(name))
    tags = [
        r[0] for r in connection.execute("SELECT tag FROM ticket_tag WHERE ticket_id = ? ORDER BY tag", (ticket_id,))
    ]
    requester = connection.execute("SELECT * FROM customer WHERE id = ?", (ticket["requester_id"],)).fetchone()
    identities = [
        dict(r)
        for r in connection.execute(
            "SELECT kind, value, is_primary FROM identity WHERE customer_id = ? ORDER BY kind, is_primary DESC, value",
            (ticket["requester_id"],),
        )
    ]
    organization = None
    if requester is not None and requester["organization_id"]:
        org = connection.execute(
            "SELECT name FROM organization WHERE id = ?", (requester["organization_id"],)
        ).fetchone()
        organization = org[0] if org else None
    messages = [
        _entry(r)
        for r in connection.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM message m "
            "LEFT JOIN agent a ON a.id = m.author_agent_id "
            "LEFT JOIN customer c ON c.id = m.author_customer_id "
            "WHERE m.ticket_id = ? ORDER BY m.created_at, m.rowid",
            (ticket_id,),
        )
    ]
    if messages:
        by_id = {m.id: m for m in messages}
        placeholders = ",".join("?" * len(by_id))
        for a in connection.execute(
            "SELECT message_id, filename, size, content_type, sha256, sniffed_type FROM attachment "
            f"WHERE message_id IN ({placeholders}) ORDER BY id",
            list(by_id),
        ):
            by_id[a[0]].attachments.append(
                {"filename": a[1], "size": a[2], "content_type": a[3], "sha256": a[4], "sniffed_type": a[5]}
            )
    return TicketDetail(
        ticket=ticket,
        tags=tags,
        requester=dict(requester) if requester else {},
        identities=identities,
        organization=organization,
        messages=messages,
    )


def tags_for(connection: sqlite3.Connection, ticket_ids: list[str]) -> dict[str, list[str]]:
    """The tags of several tickets at once (for listings that show them)."""
    tags: dict[str, list[str]] = {ticket_id: [] for ticket_id in ticket_ids}
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        placeholders = ",".join("?" * len(chunk))
        for ticket_id, tag in connection.execute(
            f"SELECT ticket_id, tag FROM ticket_tag WHERE ticket_id IN ({placeholders}) ORDER BY tag",
            chunk,
        ):
            tags[ticket_id].append(tag)
    return tags


# --- one customer ---------------------------------------------------------------------------


@dataclass
class CustomerDetail:
    customer: dict[str, Any]
    organization: str | None
    identities: list[dict[str, Any]]
    tickets: list[dict[str, Any]]


def customer_detail(
    connection: sqlite3.Connection, customer_id: str, *, limit: int = 200, viewer: Viewer | None = None
) -> CustomerDetail | None:
    """A customer with every address and every ticket of theirs, newest first, any channel (with
    ``viewer``, only the tickets that agent may see)."""
    row = connection.execute("SELECT * FROM customer WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    organization = None
    if row["organization_id"]:
        org = connection.execute("SELECT name FROM organization WHERE id = ?", (row["organization_id"],)).fetchone()
        organization = org[0] if org else None
    identities = [
        dict(r)
        for r in connection.execute(
            "SELECT id, kind, value, is_primary FROM identity WHERE customer_id = ? "
            "ORDER BY kind, is_primary DESC, value",
            (customer_id,),
        )
    ]
    seen, params = _seen_condition(viewer, "ticket")
    tickets = [
        {**dict(r), "updated_at": _time(r["updated_at"]), "created_at": _time(r["created_at"])}
        for r in connection.execute(
            "SELECT id, number, subject, status, priority, channel, created_at, updated_at "
            f"FROM ticket WHERE requester_id = :customer AND {seen} ORDER BY updated_at DESC, id DESC LIMIT :limit",
            {**params, "customer": customer_id, "limit": limit},
        )
    ]
    return CustomerDetail(dict(row), organization, identities, tickets)


def _seen_condition(viewer: Viewer | None, alias: str) -> tuple[str, dict[str, Any]]:
    return ("1 = 1", {}) if viewer is None else viewer.condition(alias)


def customer_timeline(
    connection: sqlite3.Connection, customer_id: str, *, limit: int = 500, viewer: Viewer | None = None
) -> list[TimelineEntry]:
    """Every message on every ticket of one customer, across channels, newest first (with
    ``viewer``, only on the tickets that agent may see)."""
    seen, params = _seen_condition(viewer, "t")
    return [
        _entry(r, ticket_number=r["number"], ticket_subject=r["subject"])
        for r in connection.execute(
            f"SELECT {_MESSAGE_COLUMNS}, t.number, t.subject FROM message m "
            "JOIN ticket t ON t.id = m.ticket_id "
            "LEFT JOIN agent a ON a.id = m.author_agent_id "
            "LEFT JOIN customer c ON c.id = m.author_customer_id "
            f"WHERE t.requester_id = :customer AND {seen} ORDER BY m.created_at DESC, m.rowid DESC LIMIT :limit",
            {**params, "customer": customer_id, "limit": limit},
        )
    ]


def resolve_customer(connection: sqlite3.Connection, ref: str) -> str | None:
    """A customer id from an id, an address (any channel) or an exact name."""
    ref = ref.strip()
    row = connection.execute("SELECT id FROM customer WHERE id = ?", (ref,)).fetchone()
    if row is None:
        row = connection.execute("SELECT customer_id FROM identity WHERE value = ?", (ref.lower(),)).fetchone()
    if row is None:
        rows = connection.execute("SELECT id FROM customer WHERE lower(name) = ? LIMIT 2", (ref.lower(),)).fetchall()
        row = rows[0] if len(rows) == 1 else None
    return row[0] if row else None


@dataclass(frozen=True)
class CustomerHit:
    """A customer found by name or address, for pickers (a merge, a requester)."""

    id: str
    name: str
    address: str | None
    tickets: int


_IDENTITY_KINDS = ("email", "phone", "chat", "social")


def search_customers(
    connection: sqlite3.Connection,
    text: str,
    *,
    limit: int = 20,
    exclude: str | None = None,
    viewer: Viewer | None = None,
) -> list[CustomerHit]:
    """Live customers whose name, or any address on any channel, starts with ``text``; each with
    their ticket count (with ``viewer``, of the tickets that agent may see).

    Addresses are found through the ``(kind, value)`` index, one range per channel; names by a
    scan that stops after ``limit`` matches (run it in a worker: a rare name reads every customer).
    """
    needle = text.strip().lower()
    if not needle:
        return []
    found: dict[str, None] = {}
    for kind in _IDENTITY_KINDS:
        for row in connection.execute(
            "SELECT i.customer_id FROM identity i JOIN customer c ON c.id = i.customer_id "
            "WHERE i.kind = ? AND i.value >= ? AND i.value < ? AND c.merged_into_id IS NULL LIMIT ?",
            (kind, needle, needle + "\uffff", limit),
        ):
            found[row[0]] = None
    pattern = re.sub(r"([\\%_])", r"\\\1", needle)
    for row in connection.execute(
        "SELECT id FROM customer WHERE merged_into_id IS NULL "
        "AND (lower(name) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\') LIMIT ?",
        (f"{pattern}%", f"% {pattern}%", limit),
    ):
        found[row[0]] = None
    found.pop(exclude or "", None)
    seen, params = _seen_condition(viewer, "ticket")
    hits = []
    for customer_id in list(found)[:limit]:
        name = connection.execute("SELECT name FROM customer WHERE id = ?", (customer_id,)).fetchone()[0]
        address = connection.execute(
            "SELECT value FROM identity WHERE customer_id = ? ORDER BY is_primary DESC, kind != 'email', value LIMIT 1",
            (customer_id,),
        ).fetchone()
        count = connection.execute(
            f"SELECT count(*) FROM ticket WHERE requester_id = :customer AND {seen}",
            {**params, "customer": customer_id},
        ).fetchone()[0]
        hits.append(CustomerHit(customer_id, name, address[0] if address else None, int(count)))
    return sorted(hits, key=lambda hit: (hit.name.lower(), hit.id))


# --- knowledge base and macros --------------------------------------------------------------


@dataclass(frozen=True)
class ArticleHit:
    id: str
    slug: str
    title: str
    snippet: str
    tags: str
    locale: str


def search_articles(connection: sqlite3.Connection, text: str, *, limit: int = 20) -> list[ArticleHit]:
    """Knowledge-base articles matching every word of ``text``, best first (bm25)."""
    tokens = [t for t in (fts_token(word) for word in text.split()) if t]
    if not tokens:
        rows = connection.execute(
            "SELECT id, slug, title, substr(body, 1, 160) AS snippet, tags, locale FROM kb_article "
            "ORDER BY updated_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
    else:
        rows = connection.execute(
            "SELECT a.id, a.slug, a.title, "
            "snippet(kb_fts, 1, '', '', '…', 16) AS snippet, a.tags, a.locale "
            "FROM kb_fts JOIN kb_article a ON a.rowid = kb_fts.rowid "
            "WHERE kb_fts MATCH ? ORDER BY bm25(kb_fts, 4.0, 1.0, 2.0) LIMIT ?",
            (" AND ".join(tokens), limit),
        ).fetchall()
    return [ArticleHit(*row) for row in rows]


def articles_by_id(connection: sqlite3.Connection, article_ids: list[str]) -> list[ArticleHit]:
    """These articles, in the order given (the assist engine's ranking); missing ones left out."""
    if not article_ids:
        return []
    marks = ",".join("?" * len(article_ids))
    rows = {
        row[0]: row
        for row in connection.execute(
            "SELECT id, slug, title, substr(body, 1, 160) AS snippet, tags, locale FROM kb_article "
            f"WHERE id IN ({marks})",
            article_ids,
        )
    }
    return [ArticleHit(*rows[i]) for i in article_ids if i in rows]


_STOPWORDS = frozenset(
    """
    a an and are as at be but by can do for from has have how i if in is it its me my no not of
    on or our please so that the their there this to was we what when why will with you your hi
    hello thanks thank regards
    """.split()
)


def suggest_articles(connection: sqlite3.Connection, ticket_id: str, *, limit: int = 5) -> list[ArticleHit]:
    """Articles for a ticket, ranked from its subject and the customer's latest message.

    The distinctive words (stopwords dropped, at most 12) are OR-ed so one rare word is enough
    to match, and bm25 ranks articles sharing more of them first.
    """
    row = connection.execute("SELECT subject FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return []
    latest = connection.execute(
        "SELECT body FROM message WHERE ticket_id = ? AND author_kind = 'customer' "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (ticket_id,),
    ).fetchone()
    text = f"{row[0]} {latest[0][:2000] if latest else ''}"
    words: dict[str, None] = {}
    for word in re.findall(r"[^\W_]{3,}", text.lower()):
        if word not in _STOPWORDS:
            words[word] = None
    tokens = [t for t in (fts_token(w) for w in list(words)[:12]) if t]
    if not tokens:
        return []
    rows = connection.execute(
        "SELECT a.id, a.slug, a.title, snippet(kb_fts, 1, '', '', '…', 16), a.tags, a.locale "
        "FROM kb_fts JOIN kb_article a ON a.rowid = kb_fts.rowid "
        "WHERE kb_fts MATCH ? ORDER BY bm25(kb_fts, 4.0, 1.0, 2.0) LIMIT ?",
        (" OR ".join(tokens), limit),
    ).fetchall()
    return [ArticleHit(*r) for r in rows]


def list_macros(connection: sqlite3.Connection, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    sql = "SELECT id, name, description, actions, body, public, active FROM macro"
    if not include_inactive:
        sql += " WHERE active"
    rows = connection.execute(sql + " ORDER BY name COLLATE NOCASE").fetchall()
    return [
        {
            **dict(r),
            "actions": json.loads(r["actions"]),
            "public": bool(r["public"]),
            "active": bool(r["active"]),
        }
        for r in rows
    ]


def agent_names(connection: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in connection.execute("SELECT id, name FROM agent")}


def list_groups(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every group as ``(id, name)``, by name (for pickers)."""
    return [(r[0], r[1]) for r in connection.execute("SELECT id, name FROM groups ORDER BY name COLLATE NOCASE")]


@dataclass(frozen=True)
class AgentRow:
    id: str
    name: str
    email: str
    role: str
    group_ids: frozenset[str]


def list_agents(connection: sqlite3.Connection) -> list[AgentRow]:
    """Active agents with their groups, by name (for the assignee picker)."""
    groups: dict[str, set[str]] = {}
    for agent_id, group_id in connection.execute("SELECT agent_id, group_id FROM agent_group"):
        groups.setdefault(agent_id, set()).add(group_id)
    return [
        AgentRow(r[0], r[1], r[2], r[3], frozenset(groups.get(r[0], ())))
        for r in connection.execute("SELECT id, name, email, role FROM agent WHERE active ORDER BY name COLLATE NOCASE")
    ]


@dataclass(frozen=True)
class Article:
    id: str
    slug: str
    title: str
    body: str
    tags: str
    locale: str
    updated_at: datetime


def article(connection: sqlite3.Connection, article_id: str) -> Article | None:
    row = connection.execute(
        "SELECT id, slug, title, body, tags, locale, updated_at FROM kb_article WHERE id = ?", (article_id,)
    ).fetchone()
    if row is None:
        return None
    found_id, slug, title, body, tags, locale, updated_at = row
    return Article(found_id, slug, title, body, tags, locale, _time(updated_at))


@dataclass(frozen=True)
class SyncSummary:
    """What the status bar says about sync: which server, how much waits, the last error."""

    server_url: str | None
    pending: int
    failed: int
    last_error: str | None
    last_pull_at: datetime | None


def sync_summary(connection: sqlite3.Connection) -> SyncSummary:
    """Pending counts the changes the server has not acknowledged (acknowledged ones wait in the
    outbox only until the next pull drops them)."""
    row = connection.execute(
        "SELECT server_url, last_error, last_pull_at, last_acked_mutation_id FROM sync_state WHERE id = 1"
    ).fetchone()
    acked = int(row[3]) if row is not None else 0
    pending, failed = connection.execute("SELECT count(*), count(error) FROM outbox WHERE id > ?", (acked,)).fetchone()
    if row is None:
        return SyncSummary(None, int(pending), int(failed), None, None)
    return SyncSummary(row[0], int(pending), int(failed), row[1], from_db(row[2]))


def data_version(connection: sqlite3.Connection) -> int:
    """SQLite's counter of commits made by *other* connections to this file since this one opened.

    Polling it costs microseconds, so the console notices a CLI command or the sync writing the
    store without re-reading anything until it changes.
    """
    return int(connection.execute("PRAGMA data_version").fetchone()[0])
