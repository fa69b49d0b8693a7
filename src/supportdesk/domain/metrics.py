"""Support metrics over a period, overall or by agent, group, channel, day, week or month.

Every per-ticket fact comes from the ticket's history — the audit trail, kept as
``ticket_timing`` by the write path (and rebuilt from ``audit_event`` by ``supportdesk sla
rebuild``) — so a report is a handful of grouped SQL aggregates over indexed columns, never a
replay of events. Over whole UTC days the counts and sums come already added up from the
per-day rollup ``report_day`` (:mod:`supportdesk.store.rollup`), and medians are read as the
middle entries of value-ordered indexes, so a long report costs days, not tickets.

Definitions (README, "SLAs, rules, feedback and metrics", says the same):

- **created** — tickets created in the period (volume; by channel: volume by channel).
- **solved** — tickets solved in the period and still solved or closed.
- **backlog** — unsolved tickets (new, open, pending, on hold) now; by day/week/month, at the
  end of that bucket: created by then and not yet solved (or closed) by then.
- **first reply** — from the customer's first message to the first public agent reply, for
  tickets created in the period (wall-clock minutes; median and mean).
- **next reply** — from a customer message that arrives after an agent replied to the next
  public agent reply, averaged over every such wait of tickets created in the period.
- **resolution** — from creation to the (final) solve, for tickets solved in the period (hours).
- **FCR** — of the tickets solved in the period, the share solved after exactly one public
  agent reply and never reopened.
- **reopen rate** — of the tickets solved in the period, the share reopened at least once.
- **handle time** — time the console measured agents focused on tickets in the period (hours),
  and per ticket handled (minutes); **logged time** — time agents logged by hand
  (``tickets time N 15m``) in the period (hours); **time spent** — the two together (hours).
- **SLA attainment** — of the SLA targets of tickets created in the period that are decided,
  the share met: a target is met when its clock stopped within the target, missed when it ran
  past it (a running clock counts as missed from its deadline on).
- **CSAT** — good ÷ (good + bad) of the survey answers given in the period; **NPS** — % of
  promoters (9–10) minus % of detractors (0–6); **CES** — mean effort score (1–7).

By agent, ticket metrics go to the ticket's assignee and handle and logged time to the agent who
spent it;
by group or channel, to the ticket's group or channel. Days, weeks (from Monday) and months are
UTC.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from statistics import median
from typing import Any

from supportdesk.store.rollup import RUNNING, RUNNING_INDEX
from supportdesk.store.times import to_db

GROUPINGS = ("agent", "group", "channel", "day", "week", "month")

FIELDS = (
    "created",
    "solved",
    "backlog",
    "first_reply_median_m",
    "first_reply_mean_m",
    "next_reply_mean_m",
    "resolution_median_h",
    "resolution_mean_h",
    "fcr_pct",
    "reopen_pct",
    "sla_attainment_pct",
    "csat_pct",
    "nps",
    "ces",
    "surveys",
    "handle_h",
    "handle_per_ticket_m",
    "logged_h",
    "time_spent_h",
)
_DIMENSION = {"agent": "s.assignee_id", "group": "s.group_id", "channel": "s.channel"}


def _bucket(column: str, by: str) -> str:
    if by == "day":
        return f"substr({column}, 1, 10)"
    if by == "week":
        return f"date({column}, '-6 days', 'weekday 1')"
    return f"substr({column}, 1, 7)"


def _key(by: str | None, column: str) -> str:
    """The grouping expression: a dimension of ``ticket_timing s`` or a bucket of ``column``."""
    if by is None:
        return "'all'"
    return _DIMENSION.get(by) or _bucket(column, by)


def _group(by: str | None) -> str:
    """No GROUP BY for one overall row: SQLite would sort every row on a constant key."""
    return "" if by is None else " GROUP BY 1"


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _round(value: float | None, unit: float) -> float | None:
    return None if value is None else round(value / unit, 1)


@dataclass
class Report:
    by: str | None
    since: datetime
    until: datetime
    rows: list[dict[str, Any]]

    @property
    def key(self) -> str:
        return self.by or "scope"

    @property
    def fields(self) -> list[str]:
        return [self.key, *FIELDS]


def _day_parts(since: datetime, until: datetime) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """Split [since, until) into the whole UTC days inside it and the partial days at its ends.

    The whole days are read from the rollup (``report_day``: ``[first, last)`` as day texts); the
    edges, an ``--since 30d`` report's first and last part-days, from ``ticket_timing`` itself.
    """
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    midnight = since.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight if midnight == since else midnight + timedelta(days=1)
    last = until.replace(hour=0, minute=0, second=0, microsecond=0)
    if first >= last:
        return [(to_db(since), to_db(until))], None
    edges = [(to_db(a), to_db(b)) for a, b in ((since, first), (last, until)) if a < b]
    return edges, (first.date().isoformat(), last.date().isoformat())


def _rollup_key(by: str | None) -> tuple[str, str]:
    """The grouping expression over ``report_day r`` and the dimension it reads (the rollup keeps
    NULL keys as '')."""
    if by in ("agent", "group"):
        return "nullif(r.value, '')", by
    if by == "channel":
        return "r.value", by
    return ("'all'" if by is None else _bucket("r.day", by)), "all"


#: What each side of a report adds up: over ``ticket_timing s`` and over ``report_day r``.
_CREATED_SUMS = (
    ("count(*)", "sum(r.created)"),
    ("sum(s.sla_met)", "sum(r.sla_met)"),
    ("sum(s.sla_missed)", "sum(r.sla_missed)"),
    ("sum(s.next_reply_total_s)", "sum(r.next_reply_total_s)"),
    ("sum(s.next_reply_count)", "sum(r.next_reply_count)"),
    ("count(s.first_reply_s)", "sum(r.first_reply_n)"),
    ("sum(s.first_reply_s)", "sum(r.first_reply_total_s)"),
)
_SOLVED_SUMS = (
    ("count(*)", "sum(r.solved)"),
    ("count(s.resolution_s)", "sum(r.resolution_n)"),
    ("sum(s.resolution_s)", "sum(r.resolution_total_s)"),
    ("sum(s.replies = 1 AND s.reopens = 0)", "sum(r.fcr)"),
    ("sum(s.reopens > 0)", "sum(r.reopened)"),
)
_DONE_SUMS = (("count(*)", "sum(r.done)"),)


def _sums(
    connection: sqlite3.Connection,
    by: str | None,
    column: str,
    figures: tuple[tuple[str, str], ...],
    edges: list[tuple[str, str]],
    days: tuple[str, str] | None,
) -> dict[Any, list[int]]:
    """Per key, the sums of ``figures`` over the timing rows whose ``column`` falls in the period.

    Whole days come from the rollup, the edges from ``ticket_timing``; a key none of whose rows
    fall in the period is left out (one ``'all'`` row is always there when ``by`` is None).
    """
    edge_rows = _edge_sums(connection, by, "ticket_timing s", _key(by, f"s.{column}"), f"s.{column}", figures, edges)
    return _added_up(by, len(figures), chain(edge_rows, _rolled_up(connection, "report_day", by, figures, days)))


def _edge_sums(
    connection: sqlite3.Connection,
    by: str | None,
    source: str,
    key: str,
    stamp: str,
    figures: tuple[tuple[str, str], ...],
    edges: list[tuple[str, str]],
) -> Iterator[Iterable[tuple[Any, ...]]]:
    """The part-days' sums of ``figures`` (their source side) from the rows of ``source`` (a
    table with its alias and joins) whose ``stamp`` falls in each edge, keyed by ``key``."""
    base = ", ".join(sql for sql, _rolled in figures)
    for start, end in edges:
        yield connection.execute(
            f"SELECT {key}, {base} FROM {source} WHERE {stamp} >= ? AND {stamp} < ?{_group(by)}", (start, end)
        )


def _rolled_up(
    connection: sqlite3.Connection,
    rollup: str,
    by: str | None,
    figures: tuple[tuple[str, str], ...],
    days: tuple[str, str] | None,
) -> Iterator[Iterable[tuple[Any, ...]]]:
    """The whole days' sums of ``figures`` from the per-day ``rollup`` table (none without days)."""
    if days is None:
        return
    key, dimension = _rollup_key(by)
    rolled = ", ".join(sql for _base, sql in figures)
    yield connection.execute(
        f"SELECT {key}, {rolled} FROM {rollup} r WHERE r.dimension = ? AND r.day >= ? AND r.day < ?{_group(by)}",
        (dimension, *days),
    )


def _added_up(by: str | None, width: int, results: Iterable[Iterable[tuple[Any, ...]]]) -> dict[Any, list[int]]:
    """Per key (each row's first value), the sums of the rows' other values over every result:
    the edges' and the whole days' parts of one period. A key whose first figure sums to nothing
    is left out; one ``'all'`` row is always there when ``by`` is None."""
    totals: dict[Any, list[int]] = {}
    for rows in results:
        for key, *values in rows:
            found = totals.setdefault(key, [0] * width)
            for index, value in enumerate(values):
                found[index] += value or 0
    if by is None:
        return {"all": totals.get("all", [0] * width)}
    return {key: values for key, values in totals.items() if values[0]}


def _medians(
    connection: sqlite3.Connection, key: str, value: str, where: str, period: dict[str, str]
) -> list[tuple[Any, float]]:
    """(key, median of ``value``) over the rows of ``ticket_timing s`` matching ``where``.

    The values come from the covering index and the median is taken in Python: measured on a
    million tickets, several times faster than SQL window functions (which sort twice).
    """
    values: dict[Any, list[int]] = defaultdict(list)
    for group, number in connection.execute(
        f"SELECT {key}, {value} FROM ticket_timing s WHERE {where} AND {value} IS NOT NULL", period
    ):
        values[group].append(number)
    return [(group, median(numbers)) for group, numbers in values.items()]


def _indexed_medians(
    connection: sqlite3.Connection,
    by: str | None,
    value: str,
    column: str,
    counts: dict[Any, int],
    period: dict[str, str],
) -> list[tuple[Any, float]]:
    """(key, median of ``value``) per key, knowing how many values each key has in the period.

    The median is the middle entry (or the two middle ones) of the key's values in order: SQLite
    walks the grouping's value-ordered index (:func:`supportdesk.store.rollup.median_index`),
    skipping entries outside the period, and returns the one or two it lands on — counting index
    entries instead of handing a million values to Python.
    """
    from supportdesk.store.rollup import median_index

    if by is None:
        match = ""
    elif by == "day":
        match = f"substr(s.{column}, 1, 10) = :key AND "
    else:
        match = f"{_DIMENSION[by]} = :key AND "
    statement = (
        f"SELECT s.{value} FROM ticket_timing s INDEXED BY {median_index(value, by)} WHERE {match}"
        f"s.{value} IS NOT NULL AND s.{column} >= :since AND s.{column} < :until "
        f"ORDER BY s.{value} LIMIT :take OFFSET :skip"
    )
    found = []
    for key, count in counts.items():
        if not count:
            continue
        query = statement if key is not None or by is None else statement.replace(" = :key", " IS NULL")
        params = {**period, "key": key, "take": 2 - count % 2, "skip": (count - 1) // 2}
        middle = [row[0] for row in connection.execute(query, params)]
        found.append((key, middle[0] if len(middle) == 1 else (middle[0] + middle[1]) / 2))
    return found


def _medians_of(
    connection: sqlite3.Connection,
    by: str | None,
    value: str,
    column: str,
    counts: dict[Any, int],
    period: dict[str, str],
    indexed: bool,
) -> list[tuple[Any, float]]:
    """Medians through the value-ordered indexes, or (weeks, months, the slow path) in Python."""
    if indexed and by not in ("week", "month"):
        return _indexed_medians(connection, by, value, column, counts, period)
    where = f"s.{column} >= :since AND s.{column} < :until"
    return _medians(connection, _key(by, f"s.{column}"), f"s.{value}", where, period)


def build_report(
    connection: sqlite3.Connection, *, since: datetime, until: datetime, by: str | None = None, rollup: bool = True
) -> Report:
    """Every metric for [since, until), grouped by ``by`` (None: one row for everything).

    Counts, sums and means of whole days come from the rollup ``report_day`` (kept by triggers,
    see :mod:`supportdesk.store.rollup`) and the part-days at either end from ``ticket_timing``;
    ``rollup=False`` reads ``ticket_timing`` alone (the slow path the tests compare with).
    Medians, running clocks past their deadline and the backlog now are read from
    ``ticket_timing``'s indexes; surveys, handle and logged time from their own tables.
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    period = {"since": to_db(since), "until": to_db(until), "now": to_db(until)}
    rows: dict[Any, dict[str, Any]] = defaultdict(dict)
    edges, days = _day_parts(since, until) if rollup else ([(period["since"], period["until"])], None)

    created_key = _key(by, "s.created_at")
    created = "s.created_at >= :since AND s.created_at < :until"
    created_sums = _sums(connection, by, "created_at", _CREATED_SUMS, edges, days)
    overdue = dict(
        connection.execute(
            f"SELECT {created_key}, sum(coalesce(s.first_reply_due < :now, 0) + coalesce(s.next_reply_due < :now, 0) "
            f"+ coalesce(s.resolution_due < :now, 0)) FROM ticket_timing s INDEXED BY {RUNNING_INDEX} "
            f"WHERE {created} AND {RUNNING}{_group(by)}",
            period,
        ).fetchall()
    )
    for key, (count, met, missed, waits, wait_count, first_n, first_total) in created_sums.items():
        row = rows[key]
        row["created"] = count
        late = overdue.get(key) or 0
        row["sla_attainment_pct"] = _pct(met, met + missed + late)
        row["next_reply_mean_m"] = _round(waits / wait_count if wait_count else None, 60)
        row["first_reply_mean_m"] = _round(first_total / first_n if first_n else None, 60)
    first_counts = {key: values[5] for key, values in created_sums.items()}
    for key, middle in _medians_of(connection, by, "first_reply_s", "created_at", first_counts, period, rollup):
        rows[key]["first_reply_median_m"] = _round(middle, 60)

    solved_sums = _sums(connection, by, "solved_at", _SOLVED_SUMS, edges, days)
    for key, (count, resolution_n, resolution_total, first_contact, reopened) in solved_sums.items():
        row = rows[key]
        row["solved"] = count
        row["resolution_mean_h"] = _round(resolution_total / resolution_n if resolution_n else None, 3600)
        row["fcr_pct"] = _pct(first_contact, count)
        row["reopen_pct"] = _pct(reopened, count)
    resolution_counts = {key: values[1] for key, values in solved_sums.items()}
    for key, middle in _medians_of(connection, by, "resolution_s", "solved_at", resolution_counts, period, rollup):
        rows[key]["resolution_median_h"] = _round(middle, 3600)

    if rollup:
        _surveys(connection, rows, by, edges, days)
        _handle(connection, rows, by, edges, days)
        for key, (seconds, entries) in _activity_sums(connection, by, "time_entry", _LOGGED_SUMS, edges, days).items():
            if not entries:
                continue
            row = rows[key]
            row["logged_h"] = _round(seconds, 3600)
            row["_logged_s"] = seconds
    else:  # the slow path, as before the rollups: every row of the period
        tickets = "JOIN ticket_timing s ON s.ticket_id = {}.ticket_id" if by in _DIMENSION else ""
        for key, answers, good, rated, promoters, detractors, scored, effort in connection.execute(
            f"SELECT {_key(by, 'v.answered_at')}, count(*), sum(v.csat = 'good'), sum(v.csat IS NOT NULL), "
            "sum(v.nps >= 9), sum(v.nps <= 6), sum(v.nps IS NOT NULL), avg(v.ces) "
            f"FROM survey v {tickets.format('v')} WHERE v.answered_at >= :since AND v.answered_at < :until{_group(by)}",
            period,
        ):
            row = rows[key]
            row["surveys"] = answers
            row["csat_pct"] = _pct(good or 0, rated or 0)
            row["nps"] = round(100.0 * ((promoters or 0) - (detractors or 0)) / scored, 1) if scored else None
            row["ces"] = round(effort, 2) if effort is not None else None

        handle_key = "h.agent_id" if by == "agent" else _key(by, "h.at")
        join = tickets.format("h") if by in ("group", "channel") else ""
        for key, seconds, handled in connection.execute(
            f"SELECT {handle_key}, sum(h.seconds), count(DISTINCT h.ticket_id) FROM handle_time h {join} "
            f"WHERE h.at >= :since AND h.at < :until{_group(by)}",
            period,
        ):
            row = rows[key]
            if not handled:
                continue
            row["handle_h"] = _round(seconds, 3600)
            row["handle_per_ticket_m"] = _round(seconds / handled if handled else None, 60)
            row["_handle_s"] = seconds

        logged_key = "e.agent_id" if by == "agent" else _key(by, "e.at")
        join = tickets.format("e") if by in ("group", "channel") else ""
        for key, seconds, entries in connection.execute(
            f"SELECT {logged_key}, sum(e.seconds), count(*) FROM time_entry e {join} "
            f"WHERE e.at >= :since AND e.at < :until{_group(by)}",
            period,
        ):
            if not entries:
                continue
            row = rows[key]
            row["logged_h"] = _round(seconds, 3600)
            row["_logged_s"] = seconds
    for row in rows.values():
        if "_handle_s" in row or "_logged_s" in row:
            row["time_spent_h"] = _round(row.pop("_handle_s", 0) + row.pop("_logged_s", 0), 3600)

    if by in ("day", "week", "month"):
        done = {key: values[0] for key, values in _sums(connection, by, "done_at", _DONE_SUMS, edges, days).items()}
        created_by_bucket = {key: values[0] for key, values in created_sums.items()}
        _bucket_backlog(connection, rows, created_by_bucket, done, period)
    else:
        for key, waiting in connection.execute(
            f"SELECT {_key(by, '')}, count(*) FROM ticket_timing s WHERE s.done_at IS NULL{_group(by)}"
        ):
            rows[key]["backlog"] = waiting

    return Report(by, since, until, _finish(connection, rows, by))


#: Survey answers and logged time: the source table (alias), its time column, and what it adds up
#: (over the rows and over ``report_activity_day r``, see :mod:`supportdesk.store.rollup_activity`).
_SOURCES = {"survey": ("v", "answered_at"), "time_entry": ("e", "at"), "handle_time": ("h", "at")}
_SURVEY_SUMS = (
    ("count(*)", "sum(r.surveys)"),
    ("sum(v.csat = 'good')", "sum(r.csat_good)"),
    ("sum(v.csat IS NOT NULL)", "sum(r.csat_rated)"),
    ("sum(v.nps >= 9)", "sum(r.promoters)"),
    ("sum(v.nps <= 6)", "sum(r.detractors)"),
    ("sum(v.nps IS NOT NULL)", "sum(r.nps_scored)"),
    ("sum(v.ces)", "sum(r.ces_total)"),
    ("count(v.ces)", "sum(r.ces_n)"),
)
_LOGGED_SUMS = (("sum(e.seconds)", "sum(r.logged_s)"), ("count(*)", "sum(r.logged_n)"))


def _source_key(by: str | None, source: str) -> tuple[str, str]:
    """The grouping expression over a row of ``source`` and the join its ticket dimensions need:
    handle and logged time go to the agent who spent it, answers to the ticket's assignee."""
    alias, column = _SOURCES[source]
    join = f" JOIN ticket_timing s ON s.ticket_id = {alias}.ticket_id"
    if by == "agent" and source != "survey":
        return f"{alias}.agent_id", ""
    if by in _DIMENSION:
        return _DIMENSION[by], join
    return _key(by, f"{alias}.{column}"), ""


def _activity_sums(
    connection: sqlite3.Connection,
    by: str | None,
    source: str,
    figures: tuple[tuple[str, str], ...],
    edges: list[tuple[str, str]],
    days: tuple[str, str] | None,
) -> dict[Any, list[int]]:
    """Per key, the sums of ``figures`` over the ``source`` rows stamped in the period: whole days
    from ``report_activity_day``, the edges from ``source`` itself. Keys with no row are left out
    (one ``'all'`` row is always there when ``by`` is None)."""
    alias, column = _SOURCES[source]
    key, join = _source_key(by, source)
    edge_rows = _edge_sums(connection, by, f"{source} {alias}{join}", key, f"{alias}.{column}", figures, edges)
    whole_days = _rolled_up(connection, "report_activity_day", by, figures, days)
    return _added_up(by, len(figures), chain(edge_rows, whole_days))


def _surveys(
    connection: sqlite3.Connection,
    rows: dict[Any, dict[str, Any]],
    by: str | None,
    edges: list[tuple[str, str]],
    days: tuple[str, str] | None,
) -> None:
    """CSAT, NPS and CES of the answers given in the period."""
    sums = _activity_sums(connection, by, "survey", _SURVEY_SUMS, edges, days)
    for key, (answers, good, rated, promoters, detractors, scored, effort, efforts) in sums.items():
        row = rows[key]
        row["surveys"] = answers
        row["csat_pct"] = _pct(good, rated)
        row["nps"] = round(100.0 * (promoters - detractors) / scored, 1) if scored else None
        row["ces"] = round(effort / efforts, 2) if efforts else None


def _handle(
    connection: sqlite3.Connection,
    rows: dict[Any, dict[str, Any]],
    by: str | None,
    edges: list[tuple[str, str]],
    days: tuple[str, str] | None,
) -> None:
    """Handle time in the period, and per ticket handled (each ticket once per key and bucket).

    Whole days come from ``report_handle_day``: the seconds add up, and a ticket counts on the
    first day it was handled in the period (or in the day, week or month bucket): the rows whose
    previous handled day (``prev``) falls before it. The part-days at either end are read from
    ``handle_time``, their tickets counted unless they were handled in the whole days already
    (under the same key, in the same bucket).
    """
    key, join = _source_key(by, "handle_time")
    seconds: dict[Any, int] = defaultdict(int)
    handled: dict[Any, int] = defaultdict(int)
    ranges = " UNION ALL ".join(
        f"SELECT * FROM handle_time WHERE at >= :since{n} AND at < :until{n}" for n in range(len(edges))
    )
    params: dict[str, Any] = {
        f"{name}{n}": edge[i] for n, edge in enumerate(edges) for i, name in enumerate(("since", "until"))
    }
    unseen = ""
    if days is not None:
        same_agent = " AND o.agent_id = h.agent_id" if by == "agent" else ""
        same_bucket = f" AND {_bucket('o.at', by)} = {_bucket('h.at', by)}" if by in ("day", "week", "month") else ""
        unseen = (
            " AND NOT EXISTS (SELECT 1 FROM handle_time o WHERE o.ticket_id = h.ticket_id"
            f"{same_agent} AND o.at >= :first AND o.at < :last{same_bucket})"
        )
        params.update(first=_midnight(days[0]), last=_midnight(days[1]))
    for group, spent in connection.execute(f"SELECT {key}, sum(h.seconds) FROM ({ranges}) h{join}{_group(by)}", params):
        if spent is not None:
            seconds[group] += spent
    for group, count in connection.execute(
        f"SELECT {key}, count(DISTINCT h.ticket_id) FROM ({ranges}) h{join} WHERE true{unseen}{_group(by)}", params
    ):
        handled[group] += count
    if days is not None:
        rolled_key, dimension = _rollup_key(by)
        start = ":first_day"
        if by in ("day", "week", "month"):
            start = f"max(:first_day, {_bucket_start('r.day', by)})"
        for group, spent, count in connection.execute(
            f"SELECT {rolled_key}, sum(r.seconds), sum(CASE WHEN r.prev < {start} THEN r.tickets ELSE 0 END) "
            f"FROM report_handle_day r WHERE r.dimension = :dimension AND r.day >= :first_day AND r.day < :last_day"
            f"{_group(by)}",
            {"dimension": dimension, "first_day": days[0], "last_day": days[1]},
        ):
            seconds[group] += spent or 0
            handled[group] += count or 0
    for group, count in handled.items():
        if not count:
            continue
        row = rows[group]
        row["handle_h"] = _round(seconds[group], 3600)
        row["handle_per_ticket_m"] = _round(seconds[group] / count, 60)
        row["_handle_s"] = seconds[group]


def _midnight(day: str) -> str:
    return to_db(datetime.fromisoformat(day).replace(tzinfo=UTC))


def _bucket_start(day: str, by: str) -> str:
    """The first day of the bucket of the day text ``day``."""
    if by == "day":
        return day
    if by == "week":
        return f"date({day}, '-6 days', 'weekday 1')"
    return f"substr({day}, 1, 7) || '-01'"


def _bucket_backlog(
    connection: sqlite3.Connection,
    rows: dict[Any, dict[str, Any]],
    created: dict[Any, int],
    done: dict[Any, int],
    period: dict[str, str],
) -> None:
    """Backlog at the end of each bucket: created by then minus done by then."""
    opened_before = connection.execute(
        "SELECT count(*) FROM ticket_timing s WHERE s.created_at < :since", period
    ).fetchone()[0]
    done_before = connection.execute(
        "SELECT count(*) FROM ticket_timing s WHERE s.done_at < :since", period
    ).fetchone()[0]
    waiting = opened_before - done_before
    for key in sorted(set(created) | set(done) | set(rows)):
        waiting += created.get(key, 0) - done.get(key, 0)
        rows[key]["backlog"] = waiting


def _finish(connection: sqlite3.Connection, rows: dict[Any, dict[str, Any]], by: str | None) -> list[dict[str, Any]]:
    names: dict[Any, str] = {}
    if by == "agent":
        names = {r[0]: r[1] for r in connection.execute("SELECT id, name FROM agent")}
    elif by == "group":
        names = {r[0]: r[1] for r in connection.execute("SELECT id, name FROM groups")}
    finished = []
    for key, values in rows.items():
        for name in ("created", "solved", "surveys", "backlog"):
            values.setdefault(name, 0)
        label = names.get(key, key) if by in ("agent", "group") else key
        if label is None:
            label = "(unassigned)" if by == "agent" else "(no group)"
        finished.append({by or "scope": label, **{f: values.get(f) for f in FIELDS}})
    if by in ("day", "week", "month"):
        finished.sort(key=lambda r: str(r[by]))
    elif by is not None:
        finished.sort(key=lambda r: (-(r["created"] or 0), str(r[by])))
    return finished


def since_from(text: str, now: datetime) -> datetime:
    """``30d``, ``12w``, ``6h`` → that long before ``now``; ``2026-01-01`` → that UTC midnight."""
    from datetime import date

    from supportdesk.store.times import parse_duration

    duration = parse_duration(text)
    if duration is not None:
        return now - duration
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a period: use an age such as 30d or 12w, or a date such as 2026-01-01"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def series(report: Report, metric: str) -> list[tuple[str, float | None]]:
    """One metric over the buckets of a day/week/month report, for a chart."""
    assert report.by in ("day", "week", "month")
    return [(str(row[report.by]), row.get(metric)) for row in report.rows]
