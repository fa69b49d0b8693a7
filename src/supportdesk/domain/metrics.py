"""Support metrics over a period, overall or by agent, group, channel, day, week or month.

Every per-ticket fact comes from the ticket's history — the audit trail, kept as
``ticket_timing`` by the write path (and rebuilt from ``audit_event`` by ``supportdesk sla
rebuild``) — so a report is a handful of grouped SQL aggregates over indexed columns, never a
replay of events: fast on a million tickets. Definitions (README, "SLAs, rules, feedback and
metrics", says the same):

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
- **handle time** — time agents recorded focused on tickets in the period (hours), and per
  ticket handled (minutes).
- **SLA attainment** — of the SLA targets of tickets created in the period that are decided,
  the share met: a target is met when its clock stopped within the target, missed when it ran
  past it (a running clock counts as missed from its deadline on).
- **CSAT** — good ÷ (good + bad) of the survey answers given in the period; **NPS** — % of
  promoters (9–10) minus % of detractors (0–6); **CES** — mean effort score (1–7).

By agent, ticket metrics go to the ticket's assignee and handle time to the agent who spent it;
by group or channel, to the ticket's group or channel. Days, weeks (from Monday) and months are
UTC.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from supportdesk.store.times import to_db

GROUPINGS = ("agent", "group", "channel", "day", "week", "month")
UNSOLVED_SQL = "('new', 'open', 'pending', 'on_hold')"
DONE_AT = "coalesce(t.solved_at, CASE WHEN t.status = 'closed' THEN t.updated_at END)"

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
)


def _bucket(column: str, by: str) -> str:
    if by == "day":
        return f"substr({column}, 1, 10)"
    if by == "week":
        return f"date({column}, '-6 days', 'weekday 1')"
    return f"substr({column}, 1, 7)"


def _key(by: str | None, column: str, owner: str = "t.assignee_id") -> str:
    if by is None:
        return "'all'"
    if by == "agent":
        return owner
    if by == "group":
        return "t.group_id"
    if by == "channel":
        return "t.channel"
    return _bucket(column, by)


@dataclass
class _Row:
    values: dict[str, Any] = field(default_factory=dict)
    first_replies: list[int] = field(default_factory=list)
    resolutions: list[int] = field(default_factory=list)


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


def build_report(connection: sqlite3.Connection, *, since: datetime, until: datetime, by: str | None = None) -> Report:
    """Every metric for [since, until), grouped by ``by`` (None: one row for everything)."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    period = {"since": to_db(since), "until": to_db(until), "now": to_db(until)}
    rows: dict[Any, _Row] = defaultdict(_Row)

    created_key = _key(by, "t.created_at")
    for key, created, met, missed, overdue, waits, wait_count, mean_first in connection.execute(
        f"SELECT {created_key}, count(*), sum(s.sla_met), sum(s.sla_missed), "
        "sum(coalesce(s.first_reply_due < :now, 0) + coalesce(s.next_reply_due < :now, 0) "
        "+ coalesce(s.resolution_due < :now, 0)), sum(s.next_reply_total_s), sum(s.next_reply_count), "
        "avg(s.first_reply_s) "
        "FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id "
        f"WHERE t.created_at >= :since AND t.created_at < :until GROUP BY 1",
        period,
    ):
        row = rows[key].values
        row["created"] = created
        row["sla_attainment_pct"] = _pct(met, met + missed + overdue)
        row["next_reply_mean_m"] = _round(waits / wait_count if wait_count else None, 60)
        row["first_reply_mean_m"] = _round(mean_first, 60)
    for key, seconds in connection.execute(
        f"SELECT {created_key}, s.first_reply_s FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id "
        "WHERE t.created_at >= :since AND t.created_at < :until AND s.first_reply_s IS NOT NULL",
        period,
    ):
        rows[key].first_replies.append(seconds)

    solved_key = _key(by, "t.solved_at")
    solved_where = "t.solved_at >= :since AND t.solved_at < :until AND t.status IN ('solved', 'closed')"
    for key, solved, mean_resolution, first_contact, reopened in connection.execute(
        f"SELECT {solved_key}, count(*), avg(s.resolution_s), sum(s.replies = 1 AND s.reopens = 0), "
        f"sum(s.reopens > 0) FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id WHERE {solved_where} GROUP BY 1",
        period,
    ):
        row = rows[key].values
        row["solved"] = solved
        row["resolution_mean_h"] = _round(mean_resolution, 3600)
        row["fcr_pct"] = _pct(first_contact, solved)
        row["reopen_pct"] = _pct(reopened, solved)
    for key, seconds in connection.execute(
        f"SELECT {solved_key}, s.resolution_s FROM ticket t JOIN ticket_timing s ON s.ticket_id = t.id "
        f"WHERE {solved_where} AND s.resolution_s IS NOT NULL",
        period,
    ):
        rows[key].resolutions.append(seconds)

    survey_key = _key(by, "v.answered_at")
    for key, answers, good, rated, promoters, detractors, scored, effort in connection.execute(
        f"SELECT {survey_key}, count(*), sum(v.csat = 'good'), sum(v.csat IS NOT NULL), sum(v.nps >= 9), "
        "sum(v.nps <= 6), sum(v.nps IS NOT NULL), avg(v.ces) FROM survey v JOIN ticket t ON t.id = v.ticket_id "
        "WHERE v.answered_at >= :since AND v.answered_at < :until GROUP BY 1",
        period,
    ):
        row = rows[key].values
        row["surveys"] = answers
        row["csat_pct"] = _pct(good, rated)
        row["nps"] = round(100.0 * (promoters - detractors) / scored, 1) if scored else None
        row["ces"] = round(effort, 2) if effort is not None else None

    handle_key = _key(by, "h.at", owner="h.agent_id")
    for key, seconds, tickets in connection.execute(
        f"SELECT {handle_key}, sum(h.seconds), count(DISTINCT h.ticket_id) FROM handle_time h "
        "JOIN ticket t ON t.id = h.ticket_id WHERE h.at >= :since AND h.at < :until GROUP BY 1",
        period,
    ):
        row = rows[key].values
        row["handle_h"] = _round(seconds, 3600)
        row["handle_per_ticket_m"] = _round(seconds / tickets if tickets else None, 60)

    if by in ("day", "week", "month"):
        _bucket_backlog(connection, rows, by, period)
    else:
        for key, waiting in connection.execute(
            f"SELECT {_key(by, 't.created_at')}, count(*) FROM ticket t WHERE t.status IN {UNSOLVED_SQL} GROUP BY 1"
        ):
            rows[key].values["backlog"] = waiting

    return Report(by, since, until, _finish(connection, rows, by))


def _bucket_backlog(connection: sqlite3.Connection, rows: dict[Any, _Row], by: str, period: dict[str, str]) -> None:
    """Backlog at the end of each bucket: created by then minus done by then."""
    opened_before = connection.execute("SELECT count(*) FROM ticket t WHERE t.created_at < :since", period).fetchone()[
        0
    ]
    done_before = connection.execute(f"SELECT count(*) FROM ticket t WHERE {DONE_AT} < :since", period).fetchone()[0]
    created = dict(
        connection.execute(
            f"SELECT {_bucket('t.created_at', by)}, count(*) FROM ticket t "
            "WHERE t.created_at >= :since AND t.created_at < :until GROUP BY 1",
            period,
        ).fetchall()
    )
    done = dict(
        connection.execute(
            f"SELECT {_bucket(DONE_AT, by)}, count(*) FROM ticket t "
            f"WHERE {DONE_AT} >= :since AND {DONE_AT} < :until GROUP BY 1",
            period,
        ).fetchall()
    )
    keys = sorted(set(created) | set(done) | set(rows))
    waiting = opened_before - done_before
    for key in keys:
        waiting += created.get(key, 0) - done.get(key, 0)
        rows[key].values["backlog"] = waiting


def _finish(connection: sqlite3.Connection, rows: dict[Any, _Row], by: str | None) -> list[dict[str, Any]]:
    names: dict[Any, str] = {}
    if by == "agent":
        names = {r[0]: r[1] for r in connection.execute("SELECT id, name FROM agent")}
    elif by == "group":
        names = {r[0]: r[1] for r in connection.execute("SELECT id, name FROM groups")}
    finished = []
    for key, row in rows.items():
        values = dict(row.values)
        values["first_reply_median_m"] = _round(median(row.first_replies), 60) if row.first_replies else None
        values["resolution_median_h"] = _round(median(row.resolutions), 3600) if row.resolutions else None
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
    from datetime import UTC, date

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
