"""``report_day``: the per-day rollup of ``ticket_timing`` that long reports read.

A report over a year sums a million timing rows; grouped by agent, SQLite sorts them all first.
This table holds the same sums already made, one row per UTC day and grouping value, so a report
reads a few thousand rows instead. Every column is a count or a sum — additive, so
days add up to any whole-day period and a change to one ticket is a subtraction and an addition:

- by the day a ticket was **created**: ``created``, ``sla_met``, ``sla_missed``, the next-reply
  waits (``next_reply_total_s``, ``next_reply_count``) and the first reply times
  (``first_reply_n``, ``first_reply_total_s``: the mean; medians are not additive and are read
  from ``ticket_timing``'s indexes, see :mod:`supportdesk.domain.metrics`);
- by the day it was **solved**: ``solved``, ``resolution_n``, ``resolution_total_s``, ``fcr``
  (solved after one public reply, never reopened) and ``reopened``;
- by the day it was **done** (solved or closed): ``done``, for the backlog at the end of a day.

Figures that depend on "now" (running clocks past their deadline, the backlog now) are never
rolled up. Each timing row counts once under every dimension (``all``, ``agent``, ``group``, ``channel``,
with the assignee, group or channel as ``value``): a report by agent reads days × agents rows,
never days × groups × agents × channels. A ticket without a group or assignee is kept under
``''`` (a key column must not be NULL, or ``ON CONFLICT`` would never match).

**Kept by triggers**, like the full-text index (:mod:`supportdesk.store.fts`) and for the same
reason: ``ticket_timing`` is written by mutations on the client and the server, by pulled changes
and bootstraps, by ``sla rebuild`` and by the demo loader; a trigger sees every one of them in
the writing transaction, and the rollup (derived, local) is never synced or logged. SQLite and
PostgreSQL get the same upserts (``ON CONFLICT … DO UPDATE``, which both speak); PostgreSQL runs
them from one PL/pgSQL function. Only AFTER triggers: an ``INSERT … ON CONFLICT DO UPDATE`` then
counts once (UPDATE trigger), whereas ``INSERT OR REPLACE`` deletes the old row without a DELETE
trigger — nothing may write ``ticket_timing`` that way while the triggers are installed.

Bulk loaders (``store.bulk``, the sync bootstrap) drop the triggers and sum once at the end:
:func:`drop_triggers`, :func:`rebuild_and_restore`. A watched change costs six upserts (about
0.1 ms of CPU, see bench/README.md); other updates of ``ticket_timing`` cost nothing.
``supportdesk report rebuild`` recomputes the whole table (:func:`rebuild`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from supportdesk.store import rollup_activity
from supportdesk.store.rollup_activity import day_sql

TABLE = "report_day"
KEYS = ("dimension", "day", "value")
#: The groupings a row is kept under: each timing row counts once under each, so a report by
#: agent reads days × agents rows, not days × groups × agents × channels.
DIMENSIONS = {
    "all": "''",
    "agent": "coalesce(t.assignee_id, '')",
    "group": "coalesce(t.group_id, '')",
    "channel": "t.channel",
}

#: What each side adds, as SQL over a timing row ``t`` (NEW, OLD or ``ticket_timing``).
SIDES: dict[str, tuple[str, dict[str, str]]] = {
    "created": (
        "created_at",
        {
            "created": "1",
            "sla_met": "coalesce(t.sla_met, 0)",
            "sla_missed": "coalesce(t.sla_missed, 0)",
            "next_reply_total_s": "coalesce(t.next_reply_total_s, 0)",
            "next_reply_count": "coalesce(t.next_reply_count, 0)",
            "first_reply_n": "CASE WHEN t.first_reply_s IS NULL THEN 0 ELSE 1 END",
            "first_reply_total_s": "coalesce(t.first_reply_s, 0)",
        },
    ),
    "solved": (
        "solved_at",
        {
            "solved": "1",
            "resolution_n": "CASE WHEN t.resolution_s IS NULL THEN 0 ELSE 1 END",
            "resolution_total_s": "coalesce(t.resolution_s, 0)",
            "fcr": "CASE WHEN t.replies = 1 AND t.reopens = 0 THEN 1 ELSE 0 END",
            "reopened": "CASE WHEN t.reopens > 0 THEN 1 ELSE 0 END",
        },
    ),
    "done": ("done_at", {"done": "1"}),
}
COUNTS = tuple(name for _column, figures in SIDES.values() for name in figures)

#: ``ticket_timing`` columns a rollup row depends on; an update of any other column (the
#: countdown, the history) costs the rollup nothing.
WATCHED = (
    "created_at",
    "solved_at",
    "done_at",
    "channel",
    "group_id",
    "assignee_id",
    "sla_met",
    "sla_missed",
    "next_reply_total_s",
    "next_reply_count",
    "first_reply_s",
    "resolution_s",
    "replies",
    "reopens",
)

TRIGGERS = ("report_day_ai", "report_day_au", "report_day_ad")
INSERT_TRIGGER = TRIGGERS[0]

#: Medians are not additive: they are read from ``ticket_timing`` itself, through an index in
#: value order per grouping, as "the n-th smallest" (``ORDER BY value LIMIT 2 OFFSET n``, which
#: SQLite answers by counting index entries in C, the count n coming from the rollup). Each metric
#: has its period column (first reply: created; resolution: solved) and one index per grouping,
#: only over the rows that have a value. SQLite only: reports read a workspace.
MEDIANS = {"first_reply_s": "created_at", "resolution_s": "solved_at"}
MEDIAN_GROUPINGS = {
    "all": "",
    "agent": "assignee_id, ",
    "group": "group_id, ",
    "channel": "channel, ",
    "day": "substr({column}, 1, 10), ",
}


#: Running clocks past their deadline depend on "now", so they are counted at report time, over
#: the few rows that have a running clock at all (a partial index; the query repeats its WHERE).
RUNNING = "(first_reply_due IS NOT NULL OR next_reply_due IS NOT NULL OR resolution_due IS NOT NULL)"
RUNNING_INDEX = "ix_report_running"


def median_index(value: str, by: str | None) -> str:
    """The name of the index a median of ``value`` grouped ``by`` reads."""
    return f"ix_report_{value}_{by or 'all'}"


def median_index_statements() -> list[str]:
    """The median indexes and the running-clock index (SQLite; see :data:`MEDIANS`)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {RUNNING_INDEX} ON ticket_timing (created_at, channel, group_id, "
        f"assignee_id, first_reply_due, next_reply_due, resolution_due) WHERE {RUNNING}",
        *(
            f"CREATE INDEX IF NOT EXISTS {median_index(value, by)} ON ticket_timing "
            f"({lead.format(column=column)}{value}, {column}) WHERE {value} IS NOT NULL"
            for value, column in MEDIANS.items()
            for by, lead in MEDIAN_GROUPINGS.items()
        ),
    ]


PG_FUNCTION = "report_day_keep"


def create_table_sql() -> str:
    counts = ", ".join(f"{name} BIGINT NOT NULL DEFAULT 0" for name in COUNTS)
    return (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (dimension VARCHAR(8) NOT NULL, day VARCHAR(10) NOT NULL, "
        f"value VARCHAR(36) NOT NULL, {counts}, PRIMARY KEY ({', '.join(KEYS)}))"
    )


def _upsert(side: str, source: str, sign: str, dialect: str, grouped: bool = False) -> str:
    """One side's contribution of the rows ``t`` of ``source``, times ``sign``, added in under
    every dimension (one statement: the rows ``t`` × the dimensions ``k``)."""
    column, figures = SIDES[side]
    dimensions = " UNION ALL ".join(f"SELECT '{name}' AS dimension" for name in DIMENSIONS)
    value = "CASE k.dimension " + " ".join(f"WHEN '{n}' THEN {sql}" for n, sql in DIMENSIONS.items()) + " END"
    keys = ["k.dimension", day_sql(f"t.{column}", dialect), value]
    values = [f"sum({sql})" if grouped else f"{sign}({sql})" for sql in figures.values()]
    group = " GROUP BY 1, 2, 3" if grouped else ""
    updates = ", ".join(f"{name} = {TABLE}.{name} + excluded.{name}" for name in figures)
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEYS)}, {', '.join(figures)}) "
        f"SELECT {', '.join(keys + values)} {source}, ({dimensions}) k WHERE t.{column} IS NOT NULL{group} "
        f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET {updates}"
    )


def _row(alias: str) -> str:
    """``FROM (SELECT NEW.x AS x, …) t``: a trigger's row as a one-row table."""
    columns = ", ".join(f"{alias}.{name} AS {name}" for name in WATCHED)
    return f"FROM (SELECT {columns}) t"


def _changes(alias: str, sign: str, dialect: str) -> list[str]:
    return [_upsert(side, _row(alias), sign, dialect) for side in SIDES]


def _changed() -> str:
    """A change the rollup sees; of the reply count only whether it is one (FCR): a ticket's
    third reply costs the rollup nothing."""
    changes = [f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in WATCHED if name != "replies"]
    return " OR ".join([*changes, "(OLD.replies = 1) IS DISTINCT FROM (NEW.replies = 1)"])


def sqlite_triggers() -> dict[str, str]:
    changed = _changed().replace("IS DISTINCT FROM", "IS NOT")
    return {
        "report_day_ai": f"AFTER INSERT ON ticket_timing BEGIN {'; '.join(_changes('NEW', '', 'sqlite'))}; END",
        "report_day_au": (
            f"AFTER UPDATE OF {', '.join(WATCHED)} ON ticket_timing WHEN {changed} BEGIN "
            f"{'; '.join(_changes('OLD', '-', 'sqlite') + _changes('NEW', '', 'sqlite'))}; END"
        ),
        "report_day_ad": f"AFTER DELETE ON ticket_timing BEGIN {'; '.join(_changes('OLD', '-', 'sqlite'))}; END",
    }


def create_statements(dialect: str) -> list[str]:
    """The table, its triggers, its first fill from ``ticket_timing`` and, on SQLite, the
    median indexes (the migration's)."""
    medians = median_index_statements() if dialect != "postgresql" else []
    return [create_table_sql(), *trigger_statements(dialect), *fill_statements(dialect), *medians]


def trigger_statements(dialect: str) -> list[str]:
    if dialect != "postgresql":
        return [f"CREATE TRIGGER IF NOT EXISTS {name} {body}" for name, body in sqlite_triggers().items()]
    out = "; ".join(_changes("OLD", "-", dialect))
    into = "; ".join(_changes("NEW", "", dialect))
    return [
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {out}; END IF; "
        f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {into}; END IF; RETURN NULL; END $body$",
        "DROP TRIGGER IF EXISTS report_day_write ON ticket_timing",
        "CREATE TRIGGER report_day_write AFTER INSERT OR DELETE ON ticket_timing "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        "DROP TRIGGER IF EXISTS report_day_change ON ticket_timing",
        f"CREATE TRIGGER report_day_change AFTER UPDATE OF {', '.join(WATCHED)} ON ticket_timing "
        f"FOR EACH ROW WHEN ({_changed()}) EXECUTE FUNCTION {PG_FUNCTION}()",
    ]


def fill_statements(dialect: str) -> list[str]:
    """Empty the table and sum every timing row into it again."""
    return [
        f"DELETE FROM {TABLE}",
        *(_upsert(side, "FROM ticket_timing t", "", dialect, grouped=True) for side in SIDES),
    ]


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS report_day_change ON ticket_timing",
            "DROP TRIGGER IF EXISTS report_day_write ON ticket_timing",
            f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
            f"DROP TABLE IF EXISTS {TABLE}",
        ]
    return [
        f"DROP INDEX IF EXISTS {RUNNING_INDEX}",
        *(f"DROP INDEX IF EXISTS {median_index(value, by)}" for value in MEDIANS for by in MEDIAN_GROUPINGS),
        *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
        f"DROP TABLE IF EXISTS {TABLE}",
    ]


#: ``IN`` a JSON list bound as the first parameter: any number of ids, one statement.
_IDS = "(SELECT value FROM json_each(?1))"


def _added_rows_sql() -> str:
    """What :data:`TRIGGERS`' ``report_day_ai`` would add for the timing rows of the tickets in
    a JSON list (one parameter), in one statement, with the same result row for row.

    Each timing row counts under every side and dimension, as the trigger's three statements
    count it; the contributions are summed by key, every count at once (a side's figures, zero
    for the others'), and the keys are written in the order the trigger would first have
    written each of them — timing row by row (``rowid``), then side, then dimension — so a
    key new to ``report_day`` gets the ``rowid`` the trigger would have given it."""
    dimensions = " UNION ALL ".join(
        f"SELECT '{name}' AS dimension, {index} AS n" for index, name in enumerate(DIMENSIONS)
    )
    value = "CASE k.dimension " + " ".join(f"WHEN '{n}' THEN {sql}" for n, sql in DIMENSIONS.items()) + " END"
    parts = []
    for index, (column, figures) in enumerate(SIDES.values()):
        counts = ", ".join(f"{figures.get(name, '0')} AS {name}" for name in COUNTS)
        parts.append(
            f"SELECT (t.rowid * {len(SIDES)} + {index}) * {len(DIMENSIONS)} + k.n AS seq, k.dimension AS dimension, "
            f"{day_sql(f't.{column}', 'sqlite')} AS day, {value} AS value, {counts} "
            f"FROM ticket_timing t, ({dimensions}) k "
            f"WHERE t.ticket_id IN {_IDS} AND t.{column} IS NOT NULL"
        )
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    updates = ", ".join(f"{name} = {TABLE}.{name} + excluded.{name}" for name in COUNTS)
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEYS)}, {', '.join(COUNTS)}) "
        f"SELECT {', '.join(KEYS)}, {sums} FROM ({' UNION ALL '.join(parts)}) WHERE true "
        f"GROUP BY {', '.join(KEYS)} ORDER BY min(seq) "
        f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET {updates}"
    )


@contextmanager
def summed_after_insert(connection: sqlite3.Connection, ticket_ids: list[str]) -> Iterator[None]:
    """Within the block, new timing rows of ``ticket_ids`` go in without ``report_day_ai``;
    after it, their figures are added to the rollup in one statement, and the trigger is back.

    For many new rows in one transaction (a chunk of imported tickets): the trigger costs twelve
    upserts a row, about 0.1–0.2 ms of CPU, five to ten times the row's own insert with
    its eighteen indexes. The rollup ends up the same, row for row (:func:`_added_rows_sql`).
    Plain sqlite3, inside the writing transaction (the trigger is dropped for no other writer,
    and comes back if the transaction is rolled back); only inserts of the timing rows of
    ``ticket_ids`` — new ones — may happen in the block.
    """
    (definition,) = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (INSERT_TRIGGER,)
    ).fetchone() or (None,)
    if definition is None:  # not kept here (a bulk load has dropped the triggers): nothing to add
        yield
        return
    connection.execute(f"DROP TRIGGER {INSERT_TRIGGER}")
    yield
    connection.execute(_added_rows(), (json.dumps(ticket_ids),))
    connection.execute(definition)


@cache
def _added_rows() -> str:
    return _added_rows_sql()


def _execute_all(connection: Any, statements: Iterable[str]) -> None:
    for statement in statements:
        connection.execute(statement)


def drop_triggers(connection: Any) -> None:
    """Stop keeping the rollups (plain sqlite3), for a bulk load that calls :func:`rebuild_and_restore`.

    ``report_day`` and the handle, logged-time and survey rollups of
    :mod:`supportdesk.store.rollup_activity` alike."""
    _execute_all(connection, (f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS))
    _execute_all(connection, rollup_activity.drop_trigger_statements("sqlite"))


def all_fill_statements(dialect: str) -> list[str]:
    """Recompute every report rollup: ``report_day`` and those of :mod:`supportdesk.store.rollup_activity`."""
    return [*fill_statements(dialect), *rollup_activity.fill_statements(dialect)]


def rebuild_and_restore(connection: Any) -> None:
    """Sum every row again, then install the triggers (plain sqlite3, in the load's transaction)."""
    _execute_all(connection, all_fill_statements("sqlite"))
    _execute_all(connection, trigger_statements("sqlite"))
    _execute_all(connection, rollup_activity.trigger_statements("sqlite"))


def rebuild(connection: Any) -> int:
    """Recompute every report rollup from its tables (plain sqlite3, in the caller's transaction).

    For a workspace whose rollups are in doubt: they hold nothing but sums of other rows, so this
    loses nothing. Returns how many ``report_day`` rows it holds afterwards.
    """
    rebuild_and_restore(connection)
    return int(connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
