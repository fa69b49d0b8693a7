"""A number that changes whenever what a bearer token is worth may have changed.

A server process keeps the checks of working tokens (:mod:`supportdesk.server.token_cache`) and
asks this number on every request: triggers in the database add one to it on every insert or
delete of an API token, on an update of any of a token's columns but ``last_used_at`` (which
the server itself writes once a minute per token and which no check reads), and on every
insert, update or delete of an agent or of an agent's group membership — whoever writes: this
process, ``supportdesk server token revoke`` or ``server agent update`` run in another one, a
hand-made ``sqlite3`` session. The first value is random, so a database file replaced by another
does not by chance carry the number a process remembers from the old one.

Kept by the database itself (migration ``0025_rest20d_token_version``), on SQLite and
PostgreSQL alike; never synced. On PostgreSQL, whose processes do not read the number, the same
trigger function also NOTIFYs them (migration ``0026_attack20_token_notify``), whoever wrote.
"""

from __future__ import annotations

from supportdesk.store.version_counter import pg_function_statement as _pg_function
from supportdesk.store.version_counter import sqlite_trigger_body, table_statements, trigger_name

TABLE = "token_version"

#: The columns of ``api_token`` a token's check reads (all but ``created_at`` and
#: ``last_used_at``): an update naming any of them bumps the number. A test keeps it complete.
TOKEN_COLUMNS = (
    "id",
    "agent_id",
    "name",
    "token_hash",
    "revoked_at",
    "expires_at",
    "scopes",
    "group_ids",
    "rate_per_minute",
)

#: Tables any change of which bumps the number.
WATCHED = ("agent", "agent_group")

PG_FUNCTION = "token_version_bump"
#: The channel every server process LISTENs on (``supportdesk.server.notify.CHANNEL``; the store
#: does not import the server, a test keeps the two equal).
PG_CHANNEL = "supportdesk_events"

READ = f"SELECT value FROM {TABLE} WHERE id = 1"


def create_statements(dialect: str) -> list[str]:
    """The one-row table, its random first value and the triggers that bump it."""
    columns = ", ".join(TOKEN_COLUMNS)
    if dialect == "postgresql":
        each = "FOR EACH STATEMENT EXECUTE FUNCTION " + PG_FUNCTION + "()"
        return [
            *table_statements(TABLE, dialect),
            pg_function_statement(),
            f"CREATE TRIGGER {_trigger('api_token')} AFTER INSERT OR DELETE OR TRUNCATE ON api_token {each}",
            f"CREATE TRIGGER {_trigger('api_token', 'update')} AFTER UPDATE OF {columns} ON api_token {each}",
            *(
                f"CREATE TRIGGER {_trigger(name)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} {each}"
                for name in WATCHED
            ),
        ]
    bump = sqlite_trigger_body(TABLE)
    return [
        *table_statements(TABLE, dialect),
        f"CREATE TRIGGER IF NOT EXISTS {_trigger('api_token', 'insert')} AFTER INSERT ON api_token {bump}",
        f"CREATE TRIGGER IF NOT EXISTS {_trigger('api_token', 'delete')} AFTER DELETE ON api_token {bump}",
        f"CREATE TRIGGER IF NOT EXISTS {_trigger('api_token', 'update')} AFTER UPDATE OF {columns} ON api_token {bump}",
        *(
            f"CREATE TRIGGER IF NOT EXISTS {_trigger(name, op)} AFTER {op} ON {name} {bump}"
            for name in WATCHED
            for op in ("INSERT", "UPDATE", "DELETE")
        ),
    ]


def pg_function_statement() -> str:
    """PostgreSQL's trigger function: it bumps the number and NOTIFYs every server process (the
    ``tokens`` event of :mod:`supportdesk.server.notify`, delivered when the change commits), so
    a process with ``--token-cache`` forgets its checks after a change nobody's code told it of
    — a revocation typed into ``psql`` — as it does after ``server token revoke``."""
    event = "json_build_object('type', 'tokens')::text"
    return _pg_function(PG_FUNCTION, TABLE, f"PERFORM pg_notify('{PG_CHANNEL}', {event}); ")


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {_trigger('api_token')} ON api_token",
            f"DROP TRIGGER IF EXISTS {_trigger('api_token', 'update')} ON api_token",
            *(f"DROP TRIGGER IF EXISTS {_trigger(name)} ON {name}" for name in WATCHED),
            f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
            f"DROP TABLE IF EXISTS {TABLE}",
        ]
    return [
        *(f"DROP TRIGGER IF EXISTS {_trigger('api_token', op)}" for op in ("insert", "update", "delete")),
        *(f"DROP TRIGGER IF EXISTS {_trigger(name, op)}" for name in WATCHED for op in ("INSERT", "UPDATE", "DELETE")),
        f"DROP TABLE IF EXISTS {TABLE}",
    ]


def _trigger(table_name: str, op: str = "") -> str:
    return trigger_name(TABLE, table_name, op)
