"""The one PostgreSQL NOTIFY channel every server process LISTENs on, and what travels on it.

A ``poke`` or a ``presence`` event goes to the clients of every process (:mod:`.events`); a
``tokens`` event goes to none: it tells every process to forget its cached token checks
(:mod:`.token_cache`). NOTIFY inside a transaction is delivered when, and only if, it commits.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

CHANNEL = "supportdesk_events"
#: A token or an agent changed: forget cached token checks, re-check open streams.
TOKENS = "tokens"


def notify(connection: Connection, event: dict[str, Any]) -> None:
    """Publish ``event`` to every process (on PostgreSQL; SQLite has one process), on the
    driver's cursor (one of a push's statements: none of SQLAlchemy's per-statement work)."""
    if connection.dialect.name == "postgresql":
        from supportdesk.store.prepared import run_sql

        run_sql(connection, "SELECT pg_notify(?, ?)", (CHANNEL, json.dumps(event)))


def notify_tokens_changed(connection: Connection) -> None:
    """Inside a transaction that revokes a token or changes an agent: every server process
    forgets its cached token checks when it commits. On SQLite the process that made the change
    clears its own cache; another process's change is bounded by the cache's TTL."""
    notify(connection, {"type": TOKENS})
