"""Per-day rollups of handle time, logged time and survey answers (issue 19, with ``report_day``).

``report_day`` (:mod:`supportdesk.store.rollup`) sums ``ticket_timing``; a report also reads three
tables of its own, each row stamped with a time and attributed to a ticket: ``handle_time``
(seconds the console measured), ``time_entry`` (seconds logged by hand) and ``survey`` (answers,
by ``answered_at``). A report over a year used to read them all, joined to the ticket's timing row
to find its group, channel or assignee. Two tables hold the same figures already added up per
(dimension, UTC day, value), kept by triggers in the writing transaction like ``report_day``:

- ``report_activity_day``: logged seconds and entries, and the survey counts (answers, CSAT good
  and rated, NPS promoters, detractors and scored, CES total and count). Plain sums: a row in is
  an addition, a row out a subtraction.
- ``report_handle_day``: handle seconds, and the handled tickets — a **distinct** count, which
  does not add up over days (a ticket handled on Monday and Tuesday is one ticket that week).
  It is made additive with a chain: for each ticket (per agent, under ``agent``) the days it was
  handled, each day linked to the previous one (``prev``; ``''`` for the first). A row counts
  the tickets whose handled day ``day`` follows ``prev``, so the tickets handled in whole days
  ``[a, b)`` are ``sum(tickets) WHERE a <= day < b AND prev < a``: each counts on its first
  handled day in the period only. A day grouping reads the same with ``prev < `` the bucket's
  first day. Rows stay few: a ticket handled on one day only has ``prev = ''``.

Attribution follows the slow path (:func:`supportdesk.domain.metrics.build_report`): by agent,
handle and logged time go to the agent who spent it, survey answers to the ticket's assignee;
by group or channel everything goes to the ticket's current group or channel, read from
``ticket_timing`` (a row of a ticket without a timing row counts overall and by day only, as the
slow path's inner join does). So a reassignment moves rows: ``ticket_timing``'s own triggers here
take the ticket's answers, entries and handled days out under the old group, channel or assignee
and add them under the new.

**How the triggers work.** The survey and time-entry triggers add the new row and subtract the
old. The handle-time triggers cannot: one record can change the ticket's chain (a day inserted
between two others relinks the later one). They compute the ticket's chain before and after the
change from its few ``handle_time`` rows (found through ``ix_handle_time_ticket``) and upsert the
difference: the same statement, over all tickets, is the rebuild. A ticket moved by
``ticket_timing`` is handled the same way, before with the old row, after with the new.
SQLite and PostgreSQL run the same statements (PostgreSQL from PL/pgSQL functions); bulk loads
drop the triggers and rebuild once (:func:`supportdesk.store.rollup.drop_triggers` and
:func:`~supportdesk.store.rollup.rebuild_and_restore` take these along), and ``supportdesk report
rebuild`` recomputes both tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ACTIVITY_TABLE = "report_activity_day"
HANDLE_TABLE = "report_handle_day"
ACTIVITY_KEYS = ("dimension", "day", "value")
HANDLE_KEYS = ("dimension", "day", "value", "prev")
DIMENSIONS = ("all", "agent", "group", "channel")

#: Per source table: its columns a rollup reads, its time column, how a dimension's value is
#: found (over the row ``r`` and the ticket's timing row ``s``; ``None``: needs no timing row) and,
#: for the activity table, the figures a row adds.
SOURCES: dict[str, dict[str, Any]] = {
    "survey": {
        "columns": ("id", "ticket_id", "answered_at", "csat", "ces", "nps"),
        "at": "answered_at",
        "values": {
            "all": "''",
            "agent": "coalesce(s.assignee_id, '')",
            "group": "coalesce(s.group_id, '')",
            "channel": "s.channel",
        },
        "figures": {
            "surveys": "1",
            "csat_good": "CASE WHEN r.csat = 'good' THEN 1 ELSE 0 END",
            "csat_rated": "CASE WHEN r.csat IS NULL THEN 0 ELSE 1 END",
            "promoters": "CASE WHEN r.nps >= 9 THEN 1 ELSE 0 END",
            "detractors": "CASE WHEN r.nps <= 6 THEN 1 ELSE 0 END",
            "nps_scored": "CASE WHEN r.nps IS NULL THEN 0 ELSE 1 END",
            "ces_total": "coalesce(r.ces, 0)",
            "ces_n": "CASE WHEN r.ces IS NULL THEN 0 ELSE 1 END",
        },
    },
    "time_entry": {
        "columns": ("id", "ticket_id", "agent_id", "seconds", "at"),
        "at": "at",
        "values": {"all": "''", "agent": "r.agent_id", "group": "coalesce(s.group_id, '')", "channel": "s.channel"},
        "figures": {"logged_s": "r.seconds", "logged_n": "1"},
    },
    "handle_time": {
        "columns": ("id", "ticket_id", "agent_id", "seconds", "at"),
        "at": "at",
        "values": {"all": "''", "agent": "r.agent_id", "group": "coalesce(s.group_id, '')", "channel": "s.channel"},
    },
}
#: The dimensions whose value needs the ticket's timing row: those a ``ticket_timing`` change moves.
MOVED = {
    "survey": ("agent", "group", "channel"),
    "time_entry": ("group", "channel"),
    "handle_time": ("group", "channel"),
}
ACTIVITY_FIGURES = tuple(name for source in ("time_entry", "survey") for name in SOURCES[source]["figures"])
#: The ``ticket_timing`` columns these rollups depend on.
TIMING_WATCHED = ("ticket_id", "group_id", "assignee_id", "channel")

TRIGGERS = tuple(
    f"{prefix}_{suffix}"
    for prefix in ("report_survey", "report_time_entry", "report_handle", "report_moves")
    for suffix in ("ai", "au", "ad")
)
PG_FUNCTIONS = {
    "survey": "report_survey_keep",
    "time_entry": "report_time_entry_keep",
    "handle_time": "report_handle_keep",
    "ticket_timing": "report_moves_keep",
}


def day_sql(column: str, dialect: str) -> str:
    """The UTC day of a timing timestamp as ``YYYY-MM-DD`` text, in ``dialect``."""
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"


def _dimensions(names: Iterable[str]) -> str:
    return "(" + " UNION ALL ".join(f"SELECT '{name}' AS dimension" for name in names) + ") k"


def _value(source: str, names: Iterable[str]) -> str:
    values = SOURCES[source]["values"]
    return "CASE k.dimension " + " ".join(f"WHEN '{n}' THEN {values[n]}" for n in names) + " END"


def _needs_timing(source: str, names: Iterable[str]) -> str:
    """Rows of a dimension whose value comes from the timing row count only when there is one."""
    free = [n for n in names if n not in MOVED[source]]
    if not free:
        return "s.ticket_id IS NOT NULL"
    return f"(k.dimension IN ({', '.join(repr(n) for n in free)}) OR s.ticket_id IS NOT NULL)"


def literal_row(source: str, alias: str) -> str:
    """A trigger's ``NEW`` or ``OLD`` row as a one-row table."""
    columns = ", ".join(f"{alias}.{name} AS {name}" for name in SOURCES[source]["columns"])
    return f"(SELECT {columns})"


def literal_timing(alias: str) -> str:
    return f"(SELECT {', '.join(f'{alias}.{name} AS {name}' for name in TIMING_WATCHED)})"


def activity_upsert(
    source: str, rows: str, timing: str, sign: str, dialect: str, names: Iterable[str] = DIMENSIONS
) -> str:
    """Add ``sign`` × the figures of the ``source`` rows ``rows`` (a table or a subquery), with the
    ticket dimensions read from ``timing``, into ``report_activity_day``."""
    names = tuple(names)
    spec = SOURCES[source]
    figures: dict[str, str] = spec["figures"]
    at = f"r.{spec['at']}"
    keys = ["k.dimension", day_sql(at, dialect), _value(source, names)]
    sums = [f"sum({sign}({sql}))" for sql in figures.values()]
    updates = ", ".join(f"{name} = {ACTIVITY_TABLE}.{name} + excluded.{name}" for name in figures)
    return (
        f"INSERT INTO {ACTIVITY_TABLE} ({', '.join(ACTIVITY_KEYS)}, {', '.join(figures)}) "
        f"SELECT {', '.join(keys + sums)} FROM {rows} r LEFT JOIN {timing} s ON s.ticket_id = r.ticket_id, "
        f"{_dimensions(names)} WHERE {at} IS NOT NULL AND {_needs_timing(source, names)} GROUP BY 1, 2, 3 "
        f"ON CONFLICT ({', '.join(ACTIVITY_KEYS)}) DO UPDATE SET {updates}"
    )


def _links(rows: str, timing: str, sign: int, dialect: str, names: tuple[str, ...]) -> str:
    """The handled-day chain links of the ``handle_time`` rows ``rows``, each with its seconds."""
    day = day_sql("r.at", dialect)
    return (
        f"SELECT dimension, day, value, lag(day, 1, '') OVER (PARTITION BY dimension, ticket_id, value ORDER BY day) "
        f"AS prev, {sign} AS sign, seconds FROM (SELECT k.dimension AS dimension, r.ticket_id AS ticket_id, "
        f"{day} AS day, {_value('handle_time', names)} AS value, sum(r.seconds) AS seconds "
        f"FROM {rows} r LEFT JOIN {timing} s ON s.ticket_id = r.ticket_id, {_dimensions(names)} "
        f"WHERE {_needs_timing('handle_time', names)} GROUP BY 1, 2, 3, 4) x"
    )


def handle_upsert(
    after: tuple[str, str] | None,
    before: tuple[str, str] | None,
    dialect: str,
    names: Iterable[str] = DIMENSIONS,
) -> str:
    """Move ``report_handle_day`` from the chains of ``before`` to those of ``after``, each a pair
    (``handle_time`` rows, timing rows), by upserting the difference only."""
    names = tuple(names)
    branches = [_links(*pair, sign, dialect, names) for pair, sign in ((after, 1), (before, -1)) if pair]
    return (
        f"INSERT INTO {HANDLE_TABLE} ({', '.join(HANDLE_KEYS)}, tickets, seconds) "
        f"SELECT dimension, day, value, prev, sum(sign), sum(sign * seconds) FROM ({' UNION ALL '.join(branches)}) d "
        "GROUP BY dimension, day, value, prev HAVING sum(sign) <> 0 OR sum(sign * seconds) <> 0 "
        f"ON CONFLICT ({', '.join(HANDLE_KEYS)}) DO UPDATE SET tickets = {HANDLE_TABLE}.tickets + excluded.tickets, "
        f"seconds = {HANDLE_TABLE}.seconds + excluded.seconds"
    )


def create_table_statements() -> list[str]:
    figures = ", ".join(f"{name} BIGINT NOT NULL DEFAULT 0" for name in ACTIVITY_FIGURES)
    return [
        f"CREATE TABLE IF NOT EXISTS {ACTIVITY_TABLE} (dimension VARCHAR(8) NOT NULL, day VARCHAR(10) NOT NULL, "
        f"value VARCHAR(36) NOT NULL, {figures}, PRIMARY KEY ({', '.join(ACTIVITY_KEYS)}))",
        f"CREATE TABLE IF NOT EXISTS {HANDLE_TABLE} (dimension VARCHAR(8) NOT NULL, day VARCHAR(10) NOT NULL, "
        "value VARCHAR(36) NOT NULL, prev VARCHAR(10) NOT NULL, tickets BIGINT NOT NULL DEFAULT 0, "
        f"seconds BIGINT NOT NULL DEFAULT 0, PRIMARY KEY ({', '.join(HANDLE_KEYS)}))",
    ]


def _of_ticket(alias: str, excluding: str | None = None) -> str:
    """The ``handle_time`` rows of the trigger row's ticket (less the trigger row itself)."""
    other = f" AND id <> {excluding}.id" if excluding else ""
    return f"(SELECT ticket_id, agent_id, seconds, at FROM handle_time WHERE ticket_id = {alias}.ticket_id{other})"


def _with(rows: str, alias: str) -> str:
    literal = literal_row("handle_time", alias)[1:-1].replace(f"{alias}.id AS id, ", "")
    return f"({rows[1:-1]} UNION ALL {literal})"


def _statements(dialect: str) -> dict[str, dict[str, list[str]]]:
    """Per source table and operation (insert, update, delete), the statements a trigger runs."""
    out: dict[str, dict[str, list[str]]] = {}
    for source in ("survey", "time_entry"):
        into = activity_upsert(source, literal_row(source, "NEW"), "ticket_timing", "", dialect)
        away = activity_upsert(source, literal_row(source, "OLD"), "ticket_timing", "-", dialect)
        out[source] = {"insert": [into], "update": [away, into], "delete": [away]}
    others_new, others_old = _of_ticket("NEW", "NEW"), _of_ticket("OLD", "NEW")
    remove = handle_upsert((others_old, "ticket_timing"), (_with(others_old, "OLD"), "ticket_timing"), dialect)
    add = handle_upsert((_with(others_new, "NEW"), "ticket_timing"), (others_new, "ticket_timing"), dialect)
    deleted = _of_ticket("OLD", "OLD")
    out["handle_time"] = {
        "insert": [add],
        "update": [remove, add],
        "delete": [handle_upsert((deleted, "ticket_timing"), (_with(deleted, "OLD"), "ticket_timing"), dialect)],
    }

    def moves(alias: str, timing: str, sign: str) -> list[str]:
        return [
            *(
                activity_upsert(
                    source,
                    f"(SELECT * FROM {source} WHERE ticket_id = {alias}.ticket_id)",
                    timing,
                    sign,
                    dialect,
                    MOVED[source],
                )
                for source in ("survey", "time_entry")
            )
        ]

    after = (_of_ticket("NEW"), literal_timing("NEW"))
    before = (_of_ticket("OLD"), literal_timing("OLD"))
    moved = MOVED["handle_time"]
    out["ticket_timing"] = {
        "insert": [*moves("NEW", after[1], ""), handle_upsert(after, None, dialect, moved)],
        "update": [
            *moves("OLD", before[1], "-"),
            *moves("NEW", after[1], ""),
            handle_upsert(after, before, dialect, moved),
        ],
        "delete": [*moves("OLD", before[1], "-"), handle_upsert(None, before, dialect, moved)],
    }
    return out


def _watched(source: str) -> tuple[str, ...]:
    if source == "ticket_timing":
        return TIMING_WATCHED
    return tuple(name for name in SOURCES[source]["columns"] if name != "id")


def _changed(source: str) -> str:
    return " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in _watched(source))


def _prefix(source: str) -> str:
    return {"survey": "report_survey", "time_entry": "report_time_entry", "handle_time": "report_handle"}.get(
        source, "report_moves"
    )


#: The first statements of each PostgreSQL trigger function: the ticket's rows are read whole by
#: the statements after them (its handled days, its answers and entries to move), so two
#: transactions writing rows of one ticket at once must not each miss the other's. The ticket's
#: row is locked as an update of it would lock it (its writes lock it so first already, so no new
#: lock order): the second waits, and its next statements then see the first's rows, being read
#: committed and run by a volatile function with a snapshot each. SQLite has one writer already.
_PG_TICKET_LOCKS = " ".join(
    f"IF TG_OP <> '{skip}' THEN PERFORM 1 FROM ticket WHERE id = {row}.ticket_id FOR NO KEY UPDATE; END IF;"
    for skip, row in (("INSERT", "OLD"), ("DELETE", "NEW"))
)


def trigger_statements(dialect: str) -> list[str]:
    statements = _statements(dialect)
    if dialect != "postgresql":
        out = []
        for source, by_op in statements.items():
            prefix = _prefix(source)
            changed = _changed(source).replace("IS DISTINCT FROM", "IS NOT")
            heads = {
                "insert": f"AFTER INSERT ON {source}",
                "update": f"AFTER UPDATE OF {', '.join(_watched(source))} ON {source} WHEN {changed}",
                "delete": f"AFTER DELETE ON {source}",
            }
            for op, body in by_op.items():
                name = f"{prefix}_a{op[0]}" if op != "update" else f"{prefix}_au"
                out.append(f"CREATE TRIGGER IF NOT EXISTS {name} {heads[op]} BEGIN {'; '.join(body)}; END")
        return out
    out = []
    for source, by_op in statements.items():
        function, prefix = PG_FUNCTIONS[source], _prefix(source)
        branches = " ".join(f"IF TG_OP = '{op.upper()}' THEN {'; '.join(body)}; END IF;" for op, body in by_op.items())
        out += [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
            f"{_PG_TICKET_LOCKS} {branches} RETURN NULL; END $body$",
            f"DROP TRIGGER IF EXISTS {prefix}_write ON {source}",
            f"CREATE TRIGGER {prefix}_write AFTER INSERT OR DELETE ON {source} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"DROP TRIGGER IF EXISTS {prefix}_change ON {source}",
            f"CREATE TRIGGER {prefix}_change AFTER UPDATE OF {', '.join(_watched(source))} ON {source} "
            f"FOR EACH ROW WHEN ({_changed(source)}) EXECUTE FUNCTION {function}()",
        ]
    return out


def fill_statements(dialect: str) -> list[str]:
    """Empty both tables and add every row up again."""
    return [
        f"DELETE FROM {ACTIVITY_TABLE}",
        f"DELETE FROM {HANDLE_TABLE}",
        *(activity_upsert(source, source, "ticket_timing", "", dialect) for source in ("survey", "time_entry")),
        handle_upsert(("handle_time", "ticket_timing"), None, dialect),
    ]


def create_statements(dialect: str) -> list[str]:
    """The tables, their triggers and their first fill (the migration's)."""
    return [*create_table_statements(), *trigger_statements(dialect), *fill_statements(dialect)]


def drop_trigger_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        tables = {**{s: s for s in SOURCES}, "ticket_timing": "ticket_timing"}
        return [
            *(
                f"DROP TRIGGER IF EXISTS {_prefix(s)}_{kind} ON {t}"
                for s, t in tables.items()
                for kind in ("write", "change")
            ),
            *(f"DROP FUNCTION IF EXISTS {function}()" for function in PG_FUNCTIONS.values()),
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS]


def drop_statements(dialect: str) -> list[str]:
    return [
        *drop_trigger_statements(dialect),
        f"DROP TABLE IF EXISTS {HANDLE_TABLE}",
        f"DROP TABLE IF EXISTS {ACTIVITY_TABLE}",
    ]


def execute_all(connection: Any, statements: Iterable[str]) -> None:
    for statement in statements:
        connection.execute(statement)
