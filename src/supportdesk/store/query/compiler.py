"""Compile a parsed query into a parameterised SQL condition over ``ticket t``.

Every user value travels as a bound parameter (``:p1``…, accepted by ``sqlite3`` and by
SQLAlchemy's ``text()``). Free text becomes one FTS5 ``MATCH`` expression in which every token
is double-quoted, so no input can produce an FTS or SQL syntax error. On PostgreSQL (the team
server) free text is PostgreSQL full-text search with the same meaning (words, phrases, ``word*``
prefixes) over each ticket's stored search document (migration ``0027_pgsearch13_ticket_search``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from supportdesk.store import semantic, ticket_fields
from supportdesk.store.enums import PRIORITY_RANK, STATUS_RANK, UNSOLVED, Priority, Status, status_in
from supportdesk.store.query import pg_text
from supportdesk.store.query.parser import SEMANTIC, Query, QueryError, Term, parse, parse_sla_due, parse_time_value
from supportdesk.store.sla import NO_DEADLINE
from supportdesk.store.ticket_fields import TicketField
from supportdesk.store.times import to_db, utcnow

#: bm25 weights for ticket_fts(subject, body, people).
BM25 = "bm25(ticket_fts, 5.0, 1.0, 2.0)"


@dataclass
class Compiled:
    """``where`` is a SQL condition on ``ticket t``; ``fts`` the MATCH text, if any.

    ``unsolved`` is the query's status condition when it keeps to unsolved statuses (few tickets
    in any workspace that has lived a while), and ``rest`` is ``where`` without it: a text search
    checks its matches against that small set of ticket rowids instead of reading each matching
    ticket's row (see ``store.reads``).

    ``rank`` (PostgreSQL) is the ``tsquery`` of the positive free-text terms, all of them, which
    ``sort:relevance`` ranks each ticket's document by (:data:`PG_RANK`). ``phrase`` (PostgreSQL)
    says one of them is a phrase: how many tickets hold it, the planner cannot tell (it counts a
    phrase's words as if any order would do), so the server pages such a search its own way
    (``server.routes.tickets``).
    """

    where: str
    params: dict[str, Any]
    fts: str | None = None
    sort: str = "updated-desc"
    dialect: str = "sqlite"
    notes: list[str] = field(default_factory=list)
    unsolved: str | None = None
    rest: str | None = None
    rank: str | None = None
    phrase: bool = False


class _Params:
    def __init__(self, dialect: str) -> None:
        self.values: dict[str, Any] = {}
        self.dialect = dialect

    @property
    def false(self) -> str:
        return "0" if self.dialect == "sqlite" else "FALSE"

    def add(self, value: Any) -> str:
        name = f"p{len(self.values) + 1}"
        if isinstance(value, datetime) and self.dialect == "sqlite":
            value = to_db(value)
        self.values[name] = value
        return f":{name}"

    def many(self, values: tuple[Any, ...] | list[Any]) -> str:
        return ", ".join(self.add(v) for v in values)


def fts_token(text: str, *, prefix: bool = False) -> str | None:
    """Quote one free-text term for FTS5; None when it holds nothing the tokenizer indexes.

    Control characters become spaces: FTS5 reads its query as a C string, so a NUL would end it
    in the middle of a quoted token ("unterminated string").
    """
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if not any(ch.isalnum() for ch in text):
        return None
    quoted = '"' + text.replace('"', '""') + '"'
    return quoted + " *" if prefix else quoted


def _local_midnight(day: date) -> datetime:
    local = datetime.combine(day, time.min).astimezone()
    return local.astimezone(UTC)


def _time_bounds(value: str, now: datetime) -> tuple[datetime, datetime] | timedelta:
    """A duration, or the [start, end) instants of a day / an instant."""
    parsed = parse_time_value(value)
    if isinstance(parsed, timedelta):
        return parsed
    if parsed in ("today", "yesterday"):
        today = now.astimezone().date()
        day = today if parsed == "today" else today - timedelta(days=1)
        return _local_midnight(day), _local_midnight(day + timedelta(days=1))
    if isinstance(parsed, datetime):
        instant = parsed if parsed.tzinfo else parsed.astimezone()
        instant = instant.astimezone(UTC)
        return instant, instant
    if isinstance(parsed, date):
        return _local_midnight(parsed), _local_midnight(parsed + timedelta(days=1))
    raise QueryError(f"{value!r} is not a time", 0)  # pragma: no cover - parser checked it


def _time_condition(term: Term, column: str, params: _Params, now: datetime) -> str:
    bounds = _time_bounds(term.values[0], now)
    if isinstance(bounds, timedelta):
        # An age: created>7d means older than seven days, updated<2h newer than two hours.
        cutoff = params.add(now - bounds)
        return {
            ">": f"{column} < {cutoff}",
            ">=": f"{column} <= {cutoff}",
            "<": f"{column} > {cutoff}",
            "<=": f"{column} >= {cutoff}",
        }[term.op]
    start, end = bounds
    if start == end:
        instant = params.add(start)
        op = {":": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}[term.op]
        return f"{column} {op} {instant}"
    if term.op == ":":
        return f"({column} >= {params.add(start)} AND {column} < {params.add(end)})"
    if term.op == ">":
        return f"{column} >= {params.add(end)}"
    if term.op == ">=":
        return f"{column} >= {params.add(start)}"
    if term.op == "<":
        return f"{column} < {params.add(start)}"
    return f"{column} < {params.add(end)}"


def _status_set(term: Term) -> list[Status]:
    """The statuses a ``status`` term asks for, in rank order."""
    if term.op == ":":
        wanted = {Status(value) for value in term.values}
    else:
        rank = STATUS_RANK[Status(term.values[0])]
        wanted = {status for status, r in STATUS_RANK.items() if _compare(r, term.op, rank)}
    return [status for status in Status if status in wanted]


def _statuses(term: Term, params: _Params) -> str:
    """Statuses as literals of our own enum (never the user's text), always in rank order.

    The unsolved set then reads exactly like the condition of the partial index
    ``ix_ticket_unsolved_updated`` (see store.models), which SQLite uses only for a query
    holding the very same term — and that index is what keeps "All open" fast whatever else is
    asked: it tells the planner how few unsolved tickets there are, which the statistics of a
    status index (an average over six values) cannot.
    """
    wanted = _status_set(term)
    return status_in(wanted) if wanted else params.false


def _compare(left: int, op: str, right: int) -> bool:
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]


def _condition(term: Term, params: _Params, me: str | None, now: datetime) -> str:
    """The SQL of one filter term: a field of the ticket (by its kind, see ``store.ticket_fields``)
    or one of the terms that are not a field (``org``, ``is``, ``sla``)."""
    name, values = term.field, term.values
    field = ticket_fields.BY_TERM.get(name or "")
    if field is not None:
        return _field_condition(field, term, params, me, now)
    if name == "org":
        return _any_of(
            values,
            lambda v: (
                "t.requester_id IN (SELECT c.id FROM customer c JOIN organization o "
                f"ON o.id = c.organization_id WHERE lower(o.name) = {params.add(v)} "
                f"OR o.domain = {params.add(v)})"
            ),
        )
    if name == "is":
        return _any_of(values, lambda v: _snoozed(params, now) if v == "snoozed" else _flag(v))
    if name == "sla":
        return _any_of(values, lambda v: _sla(v, params, now))
    raise QueryError(f"unknown field {name!r}", term.position)  # pragma: no cover


def _field_condition(field: TicketField, term: Term, params: _Params, me: str | None, now: datetime) -> str:
    values, column = term.values, f"t.{field.store_column}"
    if field.name == "status":
        return _statuses(term, params)
    if field.kind == "choice":
        if term.op == ":":
            return f"{column} IN ({params.many(list(values))})"
        if field.name == "priority":  # a stored rank, indexed (see store.models)
            rank = PRIORITY_RANK[Priority(values[0])]
            return f"t.priority_rank {_SQL_OPS[term.op]} {params.add(rank)}"
        position = field.choices.index(values[0])
        wanted = [c for i, c in enumerate(field.choices) if _compare(i, term.op, position)]
        return f"{column} IN ({params.many(wanted)})" if wanted else params.false
    if field.kind == "text":
        return f"lower({column}) IN ({params.many(list(values))})"
    if field.kind == "tags":
        return (
            "EXISTS (SELECT 1 FROM ticket_tag tt WHERE tt.ticket_id = t.id "
            f"AND tt.tag IN ({params.many(list(values))}))"
        )
    if field.kind == "agent":
        return _any_of(values, lambda v: _assignee(v, params, me, column))
    if field.kind == "group":
        return _any_of(values, lambda v: _group(v, params, column))
    if field.kind == "customer":
        return _any_of(values, lambda v: _requester(v, params, column))
    if field.kind == "time":
        return _time_condition(term, column, params, now)
    if field.kind == "number":
        if term.op == ":":
            return f"{column} IN ({params.many([int(v) for v in values])})"
        return f"{column} {_SQL_OPS[term.op]} {params.add(int(values[0]))}"
    if field.kind == "id":
        return f"{column} IN ({params.many(list(values))})"
    raise QueryError(f"{field.term} cannot be searched", term.position)  # pragma: no cover


_SQL_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _any_of(values: tuple[str, ...], one: Any) -> str:
    parts = [one(v) for v in values]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _assignee(value: str, params: _Params, me: str | None, column: str = "t.assignee_id") -> str:
    if value == "none":
        return f"{column} IS NULL"
    if value == "me":
        return f"{column} = {params.add(me)}" if me else params.false
    p = params.add(value)
    return f"{column} IN (SELECT a.id FROM agent a WHERE lower(a.email) = {p} OR lower(a.name) = {p} OR a.id = {p})"


def _group(value: str, params: _Params, column: str = "t.group_id") -> str:
    if value == "none":
        return f"{column} IS NULL"
    p = params.add(value)
    return f"{column} IN (SELECT g.id FROM groups g WHERE lower(g.name) = {p} OR g.id = {p})"


def _requester(value: str, params: _Params, column: str = "t.requester_id") -> str:
    p = params.add(value)
    return (
        f"{column} IN (SELECT i.customer_id FROM identity i WHERE i.value = {p} "
        f"UNION SELECT c.id FROM customer c WHERE lower(c.name) = {p})"
    )


def _flag(value: str) -> str:
    return {
        "unread": ("NOT EXISTS (SELECT 1 FROM ticket_seen s WHERE s.ticket_id = t.id AND s.seen_at >= t.updated_at)"),
        "unassigned": "t.assignee_id IS NULL",
        "merged": "t.merged_into_id IS NOT NULL",
        "followup": "t.follow_up_of_id IS NOT NULL",
    }[value]


def _snoozed(params: _Params, now: datetime) -> str:
    """``is:snoozed``: the snooze has not ended yet (``ticket.snooze``)."""
    return f"(t.snoozed_until IS NOT NULL AND t.snoozed_until > {params.add(now)})"


def _mentions_snooze(terms: tuple[Term, ...]) -> bool:
    return any(term.field == "is" and "snoozed" in term.values for term in terms)


def _sla(value: str, params: _Params, now: datetime) -> str:
    """SLA states from ``ticket_timing`` (one row per ticket, see store.models_sla).

    ``breached``: some clock is past its target (now, or it was when it stopped or paused);
    ``paused``: the clocks wait while the ticket is pending or on hold; ``active``: a clock is
    running; ``none``: no SLA policy applies; ``due<1h``: the nearest running deadline is less
    than an hour away, or already passed; ``due>1h``: it is more than an hour away.
    """
    probe = "EXISTS (SELECT 1 FROM ticket_timing s WHERE s.ticket_id = t.id AND {})"
    if value == "breached":
        return probe.format(f"s.breach_at <= {params.add(now)}")
    if value == "paused":
        return probe.format(f"s.paused = {params.add(True)}")
    if value == "active":
        return probe.format(f"s.due_at < {params.add(NO_DEADLINE)}")
    if value == "none":
        return probe.format("s.policy_id IS NULL")
    due = parse_sla_due(value)
    assert due is not None  # the parser checked it
    op, duration = due
    if op == "<":
        return probe.format(f"s.due_at <= {params.add(now + duration)}")
    return probe.format(f"s.due_at > {params.add(now + duration)} AND s.due_at < {params.add(NO_DEADLINE)}")


#: ``ts_rank`` of a ticket's search document ``ts.document`` (migration 0027) for the tsquery
#: ``{}``: weights {messages, -, people, subject} in the ratio of the workspace's bm25 (1, 2, 5),
#: the rank divided by 1 + log(length) as bm25 favours short documents.
PG_RANK = "ts_rank('{{0.2, 0, 0.4, 1.0}}'::real[], ts.document, {}, 1)"


def compile_query(
    query: Query | str,
    *,
    me: str | None = None,
    now: datetime | None = None,
    dialect: str = "sqlite",
    sort: str | None = None,
) -> Compiled:
    """Turn a query into SQL. ``me`` is the current agent's id (for ``assignee:me``)."""
    parsed = parse(query) if isinstance(query, str) else query
    now = now or utcnow()
    params = _Params(dialect)
    conditions: list[str] = []
    positive: list[str] = []
    negative: list[str] = []
    unsolved: str | None = None
    ranked: list[pg_text.TextTerm] = []
    excluded: list[pg_text.TextTerm] = []
    for term in parsed.terms:
        if term.field is None:
            if dialect != "sqlite":
                text_term = pg_text.text_term(term.values[0], term.prefix)
                if text_term is not None:
                    (excluded if term.negated else ranked).append(text_term)
                continue
            token = fts_token(term.values[0], prefix=term.prefix)
            if token is not None:
                (negative if term.negated else positive).append(token)
            continue
        if term.field == SEMANTIC:
            if dialect != "sqlite" or not semantic.available():
                raise QueryError('searching by meaning (~"…") works on an agent\'s workspace, not here', term.position)
            condition = semantic.condition(params.add(term.values[0]))
            conditions.append(f"NOT coalesce(({condition}), {params.false})" if term.negated else condition)
            continue
        condition = _condition(term, params, me, now)
        if term.field == "status" and not term.negated and unsolved is None and set(_status_set(term)) <= set(UNSOLVED):
            unsolved = condition
        conditions.append(f"NOT coalesce(({condition}), {params.false})" if term.negated else condition)
    if unsolved is not None and not _mentions_snooze(parsed.terms):
        # a worklist (a query that keeps to unsolved statuses) leaves snoozed tickets out until
        # their time; ``is:snoozed`` / ``-is:snoozed`` say otherwise, other queries show them
        conditions.append(f"NOT coalesce({_snoozed(params, now)}, {params.false})")
    # each distinct term once (the same word 499 times cost seconds: see store.query.pg_text)
    wanted = [pg_text.compile_term(t, params.add) for t in pg_text.distinct(ranked)]
    if wanted:
        conditions.append(pg_text.matching(wanted, "&&"))
    if excluded:
        unwanted = [pg_text.compile_term(t, params.add) for t in pg_text.distinct(excluded)]
        conditions.append(f"NOT coalesce({pg_text.matching(unwanted, '||')}, FALSE)")
    fts = " AND ".join(positive) if positive else None
    if negative:
        conditions.append(
            f"t.rowid NOT IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH {params.add(' OR '.join(negative))})"
        )
    searched = bool(fts or ranked)
    chosen = sort or parsed.sort or ("newest" if searched else "updated-desc")
    if chosen == "relevance" and not searched:
        chosen = "updated-desc"
    if dialect != "sqlite" and chosen == "newest":
        chosen = "created-desc"

    def joined(parts: list[str]) -> str:
        return " AND ".join(f"({c})" for c in parts) if parts else f"NOT {params.false}"

    rest = None
    if unsolved is not None:
        others = list(conditions)
        others.remove(unsolved)
        rest = joined(others)
    return Compiled(
        where=joined(conditions),
        params=params.values,
        fts=fts,
        sort=chosen,
        dialect=dialect,
        unsolved=unsolved,
        rest=rest,
        rank=pg_text.rank_query(wanted) if wanted else None,
        phrase=any(len(t.words) > 1 for t in ranked),
    )
