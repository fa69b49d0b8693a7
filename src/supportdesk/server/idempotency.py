"""Idempotency keys for REST writes, with Stripe's semantics.

A client that sends ``Idempotency-Key: <key>`` with a write may send it again — after a timeout,
a dropped connection, a crash of its own — and get the answer of the first attempt instead of a
second write: the same key with the same request (method, path and JSON body, compared after
parsing, so spacing and key order do not matter) returns the stored answer for 24 hours, marked
``Idempotent-Replayed: true``; the same key with another request is a 422. Keys belong to the
token's agent: two integrations never share one by chance, and a key survives a token rotation.
A token restricted to groups sends another request than its agent's other tokens (its groups
are part of the fingerprint): it is never handed their answers — a ticket of a group it may not
see — but a 422.

A replay of an answered key is served from a plain read (:func:`answered`), without the write
lock. Otherwise the key is claimed inside the write's own transaction, before anything is written: a duplicate
sent at the same time waits for the first (SQLite's single writer; PostgreSQL's unique index,
whose second insert waits for the first transaction to end) and then finds its answer. So a
retried create never makes two tickets, and a write that failed half-way (a server error, a
crash) stores nothing and may be retried with the same key.

An answer is stored once the write ran: created, changed, or refused by a rule (a 4xx naming
the field). A request refused before it ran — a bad token or scope, a malformed body, a rate
limit, a stale ``If-Match`` — stores nothing, so the same key may be sent again.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import bindparam, delete, select, update

from supportdesk.server.errors import ApiError
from supportdesk.server.trust import has_non_finite
from supportdesk.store import prepared
from supportdesk.store.models_api import ApiIdempotency

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: How long an answer is kept under its key.
LIFETIME = timedelta(hours=24)
#: What a key may look like: 1-255 printable ASCII characters without spaces (a UUID is usual).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
HEADER = "Idempotency-Key"


_KEY = re.compile(KEY_PATTERN)


def checked_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header as given, or a 400 naming it when it is not a key."""
    if value is not None and _KEY.match(value) is None:
        raise ApiError(
            400, "invalid", "Idempotency-Key must be 1-255 printable ASCII characters without spaces", field=HEADER
        )
    return value


def _table() -> Any:
    return ApiIdempotency.__table__  # type: ignore[attr-defined]


@functools.cache
def _statements(dialect: str) -> SimpleNamespace:
    """This module's statements, built once per dialect: every REST write with a key runs three
    of them, and building a statement (and its cache key) cost about as much as running it."""
    table = _table()

    def param(column: str, name: str = "") -> Any:
        # named apart from the columns (SQLAlchemy keeps a column's own name for its SET value)
        return bindparam(f"v_{name or column}", type_=table.c[column].type)

    this = (table.c.agent_id == param("agent_id")) & (table.c.key == param("key"))
    columns = {name: param(name) for name in ("agent_id", "key", "fingerprint", "created_at")}
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return SimpleNamespace(
        # RETURNING, not rowcount: a driver may not count the rows of ON CONFLICT DO NOTHING
        insert_new=insert(table)
        .values(**columns, status=0)
        .on_conflict_do_nothing(index_elements=["agent_id", "key"])
        .returning(table.c.key),
        reclaim_expired=update(table)
        .where(this, table.c.created_at < param("created_at", "expired_before"))
        .values(
            fingerprint=param("fingerprint"),
            status=0,
            response=None,
            headers=None,
            created_at=param("created_at", "now"),
        )
        .returning(table.c.key),
        read=select(table.c.fingerprint, table.c.status, table.c.response, table.c.headers, table.c.created_at).where(
            this
        ),
        store=update(table)
        .where(this)
        .values(status=param("status"), response=param("response"), headers=param("headers")),
    )


def fingerprint(method: str, path: str, body: Any) -> str:
    """What makes two requests the same: method, path and the parsed JSON body."""
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS) if body is not None else b""
    except TypeError as error:  # orjson.JSONEncodeError: an integer past 64 bits, which no answer could carry
        if "surrogates" in str(error):  # or a lone surrogate ("\\ud800"), which Python's parser reads
            raise ApiError(
                422, "invalid", "a text in the request is not Unicode (a lone surrogate)", field="body"
            ) from None
        raise ApiError(422, "invalid", "a number in the request is past 64 bits", field="body") from None
    if b"null" in canonical and has_non_finite(body):  # orjson writes NaN and infinities as null
        raise ApiError(422, "invalid", "a number in the request is NaN or infinite: JSON has neither", field="body")
    return hashlib.sha256(method.upper().encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def restricted_fingerprint(print_: str, restriction: frozenset[str] | None) -> str:
    """``print_`` of a request sent by a token restricted to the groups ``restriction``: two
    tokens of one agent restricted otherwise never send the same request (an unrestricted
    token's print is unchanged, so it still meets the answers stored before)."""
    if restriction is None:
        return print_
    return hashlib.sha256(print_.encode() + b"\nwithin " + ",".join(sorted(restriction)).encode()).hexdigest()


@dataclass
class StoredAnswer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def key_reused() -> ApiError:
    return ApiError(
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was used with another request in the last 24 hours: use a new key",
        field=HEADER,
    )


def claim(connection: Connection, agent_id: str, key: str, print_: str, now: datetime) -> StoredAnswer | None:
    """Claim ``key`` for this request inside the write transaction.

    Returns None when the request should run (the key is new, or its answer is older than 24
    hours), the stored answer when this same request was answered before; raises a 422 when
    the key was used with another request.
    """
    sql = _statements(connection.dialect.name)
    this = {"v_agent_id": agent_id, "v_key": key}
    values = {**this, "v_fingerprint": print_, "v_created_at": now}
    if connection.execute(sql.insert_new, values).first() is not None:
        return None
    reclaim = {**this, "v_fingerprint": print_, "v_now": now, "v_expired_before": now - LIFETIME}
    if connection.execute(sql.reclaim_expired, reclaim).first() is not None:
        return None
    row = connection.execute(sql.read, this).one()
    if row[0] != print_:
        raise key_reused()
    return StoredAnswer(int(row[1]), row[2], dict(row[3] or {}))


def answered(connection: Connection, agent_id: str, key: str, print_: str, now: datetime) -> StoredAnswer | None:
    """The stored answer of this same request, read without the write lock (a replay is then one
    read, not a write transaction queued behind every other writer); None when the request must
    go through :func:`claim` — a new or expired key, or one whose first attempt is still running.
    A key used with another request raises the 422 here too."""
    this = {"v_agent_id": agent_id, "v_key": key}
    return _answer_of(connection.execute(_statements(connection.dialect.name).read, this).first(), print_, now)


#: :func:`answered`'s read in SQLite's own words, for :func:`answered_on_driver`.
_READ_SQLITE = (
    'SELECT fingerprint, status, response, headers, created_at FROM api_idempotency WHERE agent_id = ? AND "key" = ?'
)


def answered_on_driver(
    driver: sqlite3.Connection, agent_id: str, key: str, print_: str, now: datetime
) -> StoredAnswer | None:
    """:func:`answered` on a SQLite driver connection outside any transaction (the write's own
    connection before its ``BEGIN IMMEDIATE``): the same read without the write lock, but
    without checking out a second connection for it — a pooled connection's checkout and
    reset cost a create more than the read itself. The statement is finished before it returns
    (a cursor left open would keep its read snapshot into the write and fail its ``BEGIN
    IMMEDIATE`` with ``SQLITE_BUSY_SNAPSHOT``)."""
    cursor = driver.cursor()
    try:
        row = cursor.execute(_READ_SQLITE, (agent_id, key)).fetchone()
    finally:
        cursor.close()
    if row is not None:
        # the JSON columns as SQLAlchemy's JSON type would hand them back
        row = (row[0], row[1], _loaded(row[2]), _loaded(row[3]), row[4])
    return _answer_of(row, print_, now)


def _loaded(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _answer_of(row: Any, print_: str, now: datetime) -> StoredAnswer | None:
    """A stored row as :func:`answered`'s answer (None: not answered, or expired)."""
    if row is None or not row[1] or _instant(row[4]) < now - LIFETIME:
        return None
    if row[0] != print_:
        raise key_reused()
    return StoredAnswer(int(row[1]), row[2], dict(row[3] or {}))


def _instant(value: Any) -> datetime:
    """A stored ``created_at`` as an aware instant (SQLite may hand back a naive one)."""
    from datetime import UTC

    found: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def store(connection: Connection, agent_id: str, key: str, answer: StoredAnswer) -> None:
    """Keep the answer under the key claimed in this transaction.

    Run on the driver's cursor (:func:`supportdesk.store.prepared.execute`: the same statement,
    SQLAlchemy's own JSON and time processors): through ``Connection.execute`` its execution
    context cost a create ~0.1 ms of the write's thread, several times the UPDATE itself."""
    prepared.execute(
        connection,
        _statements(connection.dialect.name).store,
        {
            "v_agent_id": agent_id,
            "v_key": key,
            "v_status": answer.status,
            "v_response": answer.body,
            "v_headers": answer.headers or None,
        },
    )


def prune(connection: Connection, now: datetime) -> int:
    """Forget answers older than 24 hours; returns how many."""
    table = _table()
    return int(connection.execute(delete(table).where(table.c.created_at < now - LIFETIME)).rowcount or 0)
