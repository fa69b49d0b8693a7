"""A number that changes whenever the configuration the write path reads changes.

Every write reads the same few things after its mutator — who "me" is (the agent, its groups),
the SLA policies and calendars, the routing rules, the webhook endpoints — and a batch of
thousands of writes, or a server taking hundreds of pushes, reads them thousands of times. A
process may keep what it read (:mod:`supportdesk.domain.config_cache`) as long as this number
is unchanged: triggers in the database add one to it on every insert, update or delete of those
tables — and on an erasure (a customer's ``erased_at`` set, or a customer written erased) —
whoever writes: this process, another one, a pull, a bulk load, a hand-made ``sqlite3``
session. The first value is random, so a database file replaced by another (a bootstrap, a
restore) does not by chance carry the number a process remembers from the old one.

Kept by the database itself (migration ``0023_hooks19_config_version``), on SQLite and
PostgreSQL alike; it is not shared data, so it is never synced.
"""

from __future__ import annotations

from typing import Any

from supportdesk.store.version_counter import pg_function_statement, sqlite_trigger_body, table_statements, trigger_name

TABLE = "config_version"

#: What the write path and the command line keep between transactions, so what must bump it.
WATCHED = (
    "agent",
    "agent_group",
    "sla_calendar",
    "sla_policy",
    "trigger_rule",
    "webhook_endpoint",
    "workspace_setting",
)

PG_FUNCTION = "config_version_bump"

#: An erasure bumps it too (a customer's ``erased_at`` set, or a customer written already erased):
#: the write path keeps "is anyone erased at all?" so that, while nobody is, it skips the
#: erased-text check after every write. A partial index makes asking that question cheap.
ERASED_INDEX = "ix_customer_erased"
ERASED_TRIGGERS = ("config_version_customer_erased_insert", "config_version_customer_erased_update")

READ = f"SELECT value FROM {TABLE} WHERE id = 1"


def create_statements(dialect: str) -> list[str]:
    """The one-row table, its random first value and a trigger per watched table and operation."""
    if dialect == "postgresql":
        return [
            *table_statements(TABLE, dialect),
            pg_function_statement(PG_FUNCTION, TABLE),
            *(
                f"CREATE TRIGGER {_trigger(name)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
                for name in WATCHED
            ),
            f"CREATE TRIGGER {ERASED_TRIGGERS[0]} AFTER INSERT ON customer FOR EACH ROW "
            f"WHEN (NEW.erased_at IS NOT NULL) EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE TRIGGER {ERASED_TRIGGERS[1]} AFTER UPDATE OF erased_at ON customer FOR EACH ROW "
            f"WHEN (NEW.erased_at IS DISTINCT FROM OLD.erased_at) EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE INDEX {ERASED_INDEX} ON customer (erased_at) WHERE erased_at IS NOT NULL",
        ]
    bump = sqlite_trigger_body(TABLE)
    return [
        *table_statements(TABLE, dialect),
        *(
            f"CREATE TRIGGER IF NOT EXISTS {_trigger(name, op)} AFTER {op} ON {name} {bump}"
            for name in WATCHED
            for op in ("INSERT", "UPDATE", "DELETE")
        ),
        f"CREATE TRIGGER IF NOT EXISTS {ERASED_TRIGGERS[0]} AFTER INSERT ON customer "
        f"WHEN NEW.erased_at IS NOT NULL {bump}",
        f"CREATE TRIGGER IF NOT EXISTS {ERASED_TRIGGERS[1]} AFTER UPDATE OF erased_at ON customer "
        f"WHEN NEW.erased_at IS NOT OLD.erased_at {bump}",
        f"CREATE INDEX IF NOT EXISTS {ERASED_INDEX} ON customer (erased_at) WHERE erased_at IS NOT NULL",
    ]


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP INDEX IF EXISTS {ERASED_INDEX}",
            *(f"DROP TRIGGER IF EXISTS {name} ON customer" for name in ERASED_TRIGGERS),
            *(f"DROP TRIGGER IF EXISTS {_trigger(name)} ON {name}" for name in WATCHED),
            f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
            f"DROP TABLE IF EXISTS {TABLE}",
        ]
    return [
        f"DROP INDEX IF EXISTS {ERASED_INDEX}",
        *(f"DROP TRIGGER IF EXISTS {name}" for name in ERASED_TRIGGERS),
        *(f"DROP TRIGGER IF EXISTS {_trigger(name, op)}" for name in WATCHED for op in ("INSERT", "UPDATE", "DELETE")),
        f"DROP TABLE IF EXISTS {TABLE}",
    ]


def _trigger(table_name: str, op: str = "") -> str:
    return trigger_name(TABLE, table_name, op)


def read_version(connection: Any) -> int:
    """The number now, over a plain ``sqlite3`` connection (the command line's readers)."""
    row = connection.execute(READ).fetchone()
    return int(row[0]) if row else 0
