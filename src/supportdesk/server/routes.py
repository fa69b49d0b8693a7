"""The server's endpoints: ``/v1/health``, sync (push, pull, rows, bootstrap), events, reads, admin."""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations, and
# ``Caller`` is local to :func:`router`.

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import text

from supportdesk import __version__
from supportdesk.domain.catalog import get
from supportdesk.domain.context import Actor
from supportdesk.domain.errors import UnknownMutation
from supportdesk.server.app import PageLimit, ServerState, authenticate
from supportdesk.server.apply import ApiError, apply_pushed
from supportdesk.server.reads import (
    bootstrap_chunks,
    bootstrap_counts,
    current_seq,
    pull,
    row_states,
    snapshot,
    ticket_bundle,
)
from supportdesk.server.visibility import ticket_condition, visibility_scope
from supportdesk.store import ticket_fields
from supportdesk.store.times import from_db, to_db
from supportdesk.sync import wire
from supportdesk.sync.rows import TABLE_ORDER, TableSpec, spec


def router(state: ServerState) -> APIRouter:
    api = APIRouter(prefix="/v1")
    current_actor = authenticate(state)
    Caller = Annotated[Actor, Depends(current_actor)]  # noqa: N806

    @api.get("/health", tags=["server"])
    def health() -> dict[str, Any]:
        """Answers once the server is ready (the database is migrated and reachable)."""
        with state.database.read_engine.connect() as connection:
            seq = current_seq(connection)
        return {"status": "ok", "version": __version__, "database": state.database.dialect, "seq": seq}

    @api.get("/me", tags=["server"])
    def me(actor: Caller) -> dict[str, Any]:
        """The agent the token belongs to."""
        return {
            "id": actor.id,
            "name": actor.name,
            "email": actor.email,
            "role": actor.role.value,
            "group_ids": sorted(actor.group_ids),
            "schema_version": wire.SCHEMA_VERSION,
        }

    # --- sync -----------------------------------------------------------------------------

    @api.post("/push", response_model=wire.PushResponse, tags=["sync"])
    def push(body: wire.PushRequest, actor: Caller) -> wire.PushResponse:
        """Apply a client's mutations in order, each exactly once (see DESIGN.md)."""
        if body.schema_version != wire.SCHEMA_VERSION:
            raise ApiError(
                409,
                "schema_version",
                f"this server speaks sync schema {wire.SCHEMA_VERSION}, the client {body.schema_version}: upgrade",
                field="schema_version",
            )
        if len(body.mutations) > wire.MAX_BATCH:
            raise ApiError(413, "too_large", f"at most {wire.MAX_BATCH} mutations per push", field="mutations")
        for index, mutation in enumerate(body.mutations):
            try:
                get(mutation.name)
            except UnknownMutation:
                raise ApiError(
                    422, "unknown_mutation", f"unknown mutation {mutation.name!r}", field=f"mutations.{index}.name"
                ) from None
            if index and mutation.id != body.mutations[index - 1].id + 1:
                raise ApiError(
                    422, "invalid", "mutation ids in a push must be consecutive", field=f"mutations.{index}.id"
                )
        results = [apply_pushed(state.database, actor, body.client_id, mutation) for mutation in body.mutations]
        seq = max((r.seq for r in results), default=0)
        if seq:
            state.events.poke(seq)
        last = max((r.id for r in results), default=0)
        return wire.PushResponse(results=results, last_mutation_id=last)

    @api.get("/pull", response_model=wire.PullResponse, tags=["sync"])
    def pull_changes(
        actor: Caller,
        cursor: Annotated[int, Query(ge=0)] = 0,
        limit: PageLimit = wire.DEFAULT_PAGE,
        client_id: Annotated[str | None, Query(max_length=36)] = None,
    ) -> wire.PullResponse:
        """Change records after ``cursor`` that the caller may see; ``more`` when a page is full."""
        return pull(state.database, actor, cursor=cursor, limit=limit, client_id=client_id)

    @api.post("/rows", response_model=wire.RowsResponse, tags=["sync"])
    def rows(body: wire.RowsRequest, actor: Caller) -> wire.RowsResponse:
        """The current rows for keys a client changed optimistically (null: gone or not visible)."""
        for index, item in enumerate(body.keys):
            if item.table not in TABLE_ORDER:
                raise ApiError(422, "invalid", f"{item.table!r} is not a shared table", field=f"keys.{index}.table")
            if len(item.key) != len(spec(item.table).key):
                raise ApiError(
                    422, "invalid", f"{item.table} has a key of {len(spec(item.table).key)}", field=f"keys.{index}.key"
                )
        return wire.RowsResponse(rows=row_states(state.database, actor, body.keys))

    @api.get("/bootstrap", tags=["sync"])
    def bootstrap(
        actor: Caller,
        table: Annotated[str | None, Query(description="Resume from this table.")] = None,
        after: Annotated[str | None, Query(description="JSON key of the last row already received.")] = None,
    ) -> StreamingResponse:
        """A consistent snapshot of what the caller may see, as NDJSON (begin, rows…, end)."""
        if table is not None and table not in TABLE_ORDER:
            raise ApiError(422, "invalid", f"{table!r} is not a shared table", field="table")
        after_key = None
        if after is not None:
            try:
                after_key = json.loads(after)
            except ValueError:
                raise ApiError(422, "invalid", "after must be a JSON array", field="after") from None
            if not isinstance(after_key, list) or table is None or len(after_key) != len(spec(table).key):
                raise ApiError(422, "invalid", "after must be the JSON key of a row of table", field="after")
        return StreamingResponse(_bootstrap_lines(state, actor, table, after_key), media_type="application/x-ndjson")

    @api.get("/events", tags=["sync"])
    async def events(request: Request, actor: Caller) -> StreamingResponse:
        """Server-Sent Events: ``poke`` {seq}, ``presence`` and keep-alive comments."""
        subscriber = state.events.subscribe(actor)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield _sse("hello", {"seq": state.events.last_seq, "agent_id": actor.id})
                while True:
                    try:
                        event = await asyncio.wait_for(subscriber.queue.get(), timeout=state.config.keepalive)
                    except TimeoutError:
                        if await request.is_disconnected():
                            break
                        yield b": keep-alive\n\n"
                        continue
                    yield _sse(event["type"], _public_event(event))
            finally:
                state.events.unsubscribe(subscriber)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    @api.post("/presence", status_code=204, tags=["sync"])
    def presence(body: wire.PresenceIn, actor: Caller) -> Response:
        """Say that the caller views, types in, or left a ticket."""
        state.events.set_presence(actor, body.ticket_id, body.state)
        return Response(status_code=204)

    # --- REST reads -----------------------------------------------------------------------

    @api.get("/tickets", tags=["tickets"])
    def list_tickets(
        actor: Caller,
        query: Annotated[str, Query(max_length=2000, description="The query language, as in the console.")] = "",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        after: Annotated[str | None, Query(max_length=400, description="`next` of the previous page.")] = None,
    ) -> dict[str, Any]:
        """Tickets matching a query that the caller may see, a keyset page at a time."""
        return _ticket_page(state, actor, query, limit, after)

    @api.get("/tickets/{number}", tags=["tickets"])
    def show_ticket(number: int, actor: Caller) -> dict[str, Any]:
        """One ticket with its tags and whole timeline."""
        with snapshot(state.database) as connection:
            found = connection.execute(text("SELECT id FROM ticket WHERE number = :n"), {"n": number}).first()
            bundle = ticket_bundle(connection, actor, found[0]) if found else {}
        if not bundle:
            raise ApiError(404, "not_found", f"no ticket #{number}", field="number")
        ticket = bundle["ticket"][0]
        messages = sorted(bundle["message"], key=lambda m: (m["created_at"], m["id"]))
        return {**ticket, "tags": sorted(t["tag"] for t in bundle["ticket_tag"]), "messages": messages}

    # --- administration -------------------------------------------------------------------

    def require_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise ApiError(403, "forbidden", "only admins may do this")

    @api.get("/admin/clients", tags=["admin"])
    def clients(actor: Caller) -> dict[str, Any]:
        """Every sync client with its agent and last applied mutation (admins only)."""
        require_admin(actor)
        with snapshot(state.database) as connection:
            found = connection.execute(
                text(
                    "SELECT c.client_id, a.email, c.last_mutation_id, c.updated_at FROM sync_client c "
                    "JOIN agent a ON a.id = c.agent_id ORDER BY c.updated_at DESC LIMIT 1000"
                )
            ).all()
        return {
            "clients": [
                {"client_id": r[0], "agent": r[1], "last_mutation_id": r[2], "updated_at": _time_text(r[3])}
                for r in found
            ]
        }

    @api.post("/admin/tokens/revoke", tags=["admin"])
    def revoke_tokens(
        actor: Caller,
        agent_id: Annotated[str | None, Query(max_length=36)] = None,
        token_id: Annotated[str | None, Query(max_length=36)] = None,
    ) -> dict[str, Any]:
        """Revoke one token or every token of an agent (admins only)."""
        from supportdesk.server.tokens import revoke

        require_admin(actor)
        if not agent_id and not token_id:
            raise ApiError(422, "invalid", "name agent_id or token_id", field="agent_id")
        with state.database.engine.connect() as connection, connection.begin():
            count = revoke(connection, token_id=token_id, agent_id=agent_id)
        return {"revoked": count}

    return api


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _public_event(event: dict[str, Any]) -> dict[str, Any]:
    if event["type"] == "poke":
        return {"seq": event["seq"]}
    return {key: event[key] for key in ("agent_id", "agent_name", "ticket_id", "state", "at")}


def _time_text(value: Any) -> str | None:
    if value is None:
        return None
    return to_db(value) if isinstance(value, datetime) else str(value)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _encoders(table: TableSpec, dialect: str) -> list[Any]:
    """Per column: how to turn a driver value into the store's SQLite form (None: as it is).

    Bootstrap rows travel in the form a workspace stores them (times as UTC text, JSON columns
    as JSON text, booleans as 0/1), so a SQLite server sends what it reads and the client
    inserts what it receives, with no per-value work on either side.
    """
    if dialect == "sqlite":
        return [None] * len(table.columns)
    encoders: list[Any] = []
    for name in table.columns:
        if name in table.times:
            encoders.append(to_db)
        elif name in table.json:
            encoders.append(_json_text)
        elif name in table.booleans:
            encoders.append(int)
        else:
            encoders.append(None)
    return encoders


def _bootstrap_lines(state: ServerState, actor: Actor, table: str | None, after: list[Any] | None) -> Iterator[bytes]:
    dialect = state.database.dialect
    with snapshot(state.database) as connection:
        seq = current_seq(connection)
        tables = list(TABLE_ORDER) if table is None else list(TABLE_ORDER)[list(TABLE_ORDER).index(table) :]
        counts = bootstrap_counts(connection, actor, tables)
        begin = {"type": "begin", "cursor": seq, "counts": counts, "scope": visibility_scope(actor)}
        yield orjson.dumps(begin) + b"\n"
        encoders: dict[str, list[Any]] = {}
        for table_name, columns, rows in bootstrap_chunks(connection, actor, start_table=table, after=after):
            if table_name not in encoders:
                encoders[table_name] = _encoders(spec(table_name), dialect)
            active = [(index, f) for index, f in enumerate(encoders[table_name]) if f is not None]
            for row in rows:
                for index, encode in active:
                    if row[index] is not None:
                        row[index] = encode(row[index])
            line = {"type": "rows", "table": table_name, "columns": columns, "form": "store", "rows": rows}
            yield orjson.dumps(line) + b"\n"
        yield orjson.dumps({"type": "end", "cursor": seq}) + b"\n"


def _ticket_page(state: ServerState, actor: Actor, query: str, limit: int, after: str | None) -> dict[str, Any]:
    from supportdesk.store.query import QueryError, compile_query

    dialect = state.database.dialect
    try:
        compiled = compile_query(query, me=actor.id, dialect=dialect)
    except QueryError as error:
        raise ApiError(422, "invalid_query", str(error), field="query") from None
    sort = compiled.sort if compiled.sort in _SORTS else "updated-desc"
    column, direction = _SORTS[sort]
    visible, params = ticket_condition(actor)
    params.update(compiled.params)
    conditions = [compiled.where, visible]
    if compiled.fts:
        conditions.append("t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :fts)")
        params["fts"] = compiled.fts
    if after:
        key, ticket_id = _decode_after(after, column, dialect)
        op = "<" if direction == "DESC" else ">"
        conditions.append(f"({column}, t.id) {op} (:after_key, :after_id)")
        params.update(after_key=key, after_id=ticket_id)
    # the ticket's columns as the ticket field table lists them for REST (store.ticket_fields)
    names = ticket_fields.columns(rest=True)
    times = frozenset(f.store_column for f in ticket_fields.FIELDS if f.kind == "time")
    sql = (
        f"SELECT {', '.join(f't.{name}' for name in names)}, {column} AS sort_key FROM ticket t "
        f"WHERE {' AND '.join(f'({c})' for c in conditions)} "
        f"ORDER BY {column} {direction}, t.id {direction} LIMIT {limit + 1}"
    )
    with snapshot(state.database) as connection:
        found = connection.execute(text(sql), params).all()
    tickets = [
        {name: _time_text(value) if name in times else value for name, value in zip(names, row, strict=False)}
        for row in found[:limit]
    ]
    more = len(found) > limit
    next_after = _encode_after(found[limit - 1][-1], found[limit - 1][0]) if more else None
    return {"tickets": tickets, "next": next_after, "sort": sort}


_SORTS = {
    "updated-desc": ("t.updated_at", "DESC"),
    "updated-asc": ("t.updated_at", "ASC"),
    "created-desc": ("t.created_at", "DESC"),
    "created-asc": ("t.created_at", "ASC"),
    "number-desc": ("t.number", "DESC"),
    "number-asc": ("t.number", "ASC"),
}


def _encode_after(key: Any, ticket_id: str) -> str:
    value = to_db(key) if isinstance(key, datetime) else key
    return base64.urlsafe_b64encode(orjson.dumps([value, ticket_id])).decode()


def _decode_after(after: str, column: str, dialect: str) -> tuple[Any, str]:
    try:
        key, ticket_id = orjson.loads(base64.urlsafe_b64decode(after.encode()))
        if column.endswith("_at") and dialect == "postgresql":
            key = from_db(key)
        return key, str(ticket_id)
    except (ValueError, TypeError):
        raise ApiError(422, "invalid", "after is not a page cursor from this server", field="after") from None
