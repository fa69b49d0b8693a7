"""A ticket's version, for ``ETag`` and ``If-Match``: the seq of its latest change-log record.

Every write that changes a ticket — a field, a tag, a message (which moves ``updated_at``) —
writes the ticket's whole row to the change log, and seqs commit in order; so the seq of the
ticket's latest ``upsert`` record names exactly the state a client read. That record also holds
the row as it stood, so a stale ``If-Match`` can be answered with the fields changed since.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from supportdesk.server.changes import read_row
from supportdesk.server.errors import ApiError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: ``If-Match``: ``*``, or one entity tag as the server sends it (``"1042"``; ``W/`` is allowed).
IF_MATCH_PATTERN = r'^(\*|(W/)?"?[0-9]{1,18}"?)$'
_TAG = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')

#: Columns whose change alone says nothing to a client (moved by every write).
_QUIET = frozenset({"updated_at"})


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str) -> int | None:
    """The version an ``If-Match`` names (None for ``*``); a 400 for anything else."""
    value = value.strip()
    if value == "*":
        return None
    match = _TAG.match(value)
    if match is None:
        raise ApiError(400, "invalid", 'If-Match must be the ETag of the ticket as read, e.g. "1042"', field="If-Match")
    return int(match.group(1))


def current_version(connection: Connection, ticket_id: str) -> int:
    found = connection.execute(
        text("SELECT max(seq) FROM change_log WHERE entity = 'ticket' AND entity_id = :id AND op = 'upsert'"),
        {"id": ticket_id},
    ).scalar()
    return int(found or 0)


def lock_ticket(connection: Connection, ticket_id: str) -> None:
    """Hold the ticket's row for this transaction (PostgreSQL; SQLite has one writer)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT id FROM ticket WHERE id = :id FOR UPDATE"), {"id": ticket_id})


def changed_since(connection: Connection, ticket_id: str, version: int) -> list[str] | None:
    """The fields of the ticket that changed after ``version`` (None: not a version of it)."""
    then = connection.execute(
        text(
            "SELECT data FROM change_log WHERE seq = :seq AND entity = 'ticket' AND entity_id = :id AND op = 'upsert'"
        ),
        {"seq": version, "id": ticket_id},
    ).scalar()
    if isinstance(then, str):
        import orjson

        then = orjson.loads(then)
    if not isinstance(then, dict):
        return None
    now = read_row(connection, "ticket", (ticket_id,)) or {}
    fields = sorted(name for name, value in now.items() if name not in _QUIET and then.get(name) != value)
    tags = connection.execute(
        text("SELECT 1 FROM change_log WHERE entity = 'ticket_tag' AND entity_id = :id AND seq > :seq LIMIT 1"),
        {"id": ticket_id, "seq": version},
    ).first()
    if tags is not None:
        fields.append("tags")
    if _messages_after(connection, ticket_id, then):
        fields.append("messages")
    return fields or ["updated_at"]


def _messages_after(connection: Connection, ticket_id: str, then: dict[str, Any]) -> bool:
    from supportdesk.store.times import from_db

    stamp = then.get("updated_at")
    if not isinstance(stamp, str):
        return False
    instant = from_db(stamp)
    value: Any = instant if connection.dialect.name == "postgresql" else stamp
    if connection.dialect.name != "postgresql" and instant is not None:
        from supportdesk.store.times import to_db

        value = to_db(instant)
    found = connection.execute(
        text("SELECT 1 FROM message WHERE ticket_id = :id AND created_at > :at LIMIT 1"), {"id": ticket_id, "at": value}
    ).first()
    return found is not None


def check_if_match(connection: Connection, ticket_id: str, number: int, expected: int | None) -> None:
    """Refuse (412) a write whose ``If-Match`` names a version the ticket has moved on from;
    call it with the ticket locked (:func:`lock_ticket`)."""
    if expected is None:
        return
    current = current_version(connection, ticket_id)
    if current == expected:
        return
    fields = changed_since(connection, ticket_id, expected)
    if fields is None:
        raise ApiError(
            412,
            "precondition_failed",
            f"If-Match {etag(expected)} is not a version of ticket #{number}: read it again",
            field="If-Match",
            version=current,
            changed=[],
        )
    raise ApiError(
        412,
        "precondition_failed",
        f"ticket #{number} changed since version {expected}: {', '.join(fields)} (now version {current})",
        field="If-Match",
        version=current,
        changed=fields,
    )
