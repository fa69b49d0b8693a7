"""What a workspace syncs with: ``/v1/health``, ``/v1/me``, push, pull, rows, bootstrap, events and
presence (see DESIGN.md, "Sync protocol"; the messages are :mod:`supportdesk.protocol`)."""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from supportdesk import __version__, protocol
from supportdesk.domain.catalog import get
from supportdesk.domain.context import Actor
from supportdesk.domain.errors import UnknownMutation
from supportdesk.server.apply import apply_push
from supportdesk.server.auth import AnyCaller, Caller
from supportdesk.server.errors import ApiError
from supportdesk.server.events import CLOSE_MESSAGES, Subscriber
from supportdesk.server.push_threads import run_push
from supportdesk.server.reads import bootstrap_chunks, bootstrap_counts, current_seq, pull, row_states, snapshot
from supportdesk.server.state import ServerState, State
from supportdesk.server.visibility import visibility_scope
from supportdesk.store.times import to_db
from supportdesk.sync.rows import TABLE_ORDER, TableSpec, spec

router = APIRouter(prefix="/v1")

PageLimit = Annotated[int, Query(ge=1, le=protocol.MAX_PAGE, description="Records per page.")]
Cursor = Annotated[int, Query(ge=0, le=protocol.MAX_SEQ, description="The last seq the client has.")]
ClientId = Annotated[str | None, Query(max_length=36, pattern=r"^[^\x00]*$")]

_ROW_KEY = TypeAdapter(list[protocol.KeyPart])


@router.get("/health", tags=["server"])
def health(state: State) -> dict[str, Any]:
    """Answers once the server is ready (the database is migrated and reachable)."""
    with state.database.read_engine.connect() as connection:
        seq = current_seq(connection)
    return {"status": "ok", "version": __version__, "database": state.database.dialect, "seq": seq}


@router.get("/me", tags=["server"])
def me(actor: AnyCaller, request: Request, state: State) -> dict[str, Any]:
    """The agent the token belongs to; for an admin, ``notices`` says what needs an admin now
    (a webhook endpoint disabled after a day of failures), else it is empty."""
    notices: list[dict[str, Any]] = []
    if actor.is_admin:
        from supportdesk.server.webhook_sender import admin_notices

        with state.database.read_engine.connect() as connection:
            notices = admin_notices(connection)
    return {
        "notices": notices,
        "id": actor.id,
        "name": actor.name,
        "email": actor.email,
        "role": actor.role.value,
        "group_ids": sorted(actor.group_ids),
        "schema_version": protocol.SCHEMA_VERSION,
        "scopes": sorted(scopes) if (scopes := request.state.token.scopes) is not None else None,
    }


@router.post("/push", response_model=protocol.PushResponse, tags=["sync"])
async def push(body: protocol.PushRequest, actor: Caller, state: State) -> Response:
    """Apply a client's mutations in order, each exactly once (see DESIGN.md)."""
    _check_push(body)
    # one hop to a push thread for the whole push — the write, the poke (which reads what this
    # thread's after-commit hooks gathered) and the answer's JSON — where a sync endpoint made
    # FastAPI hop there twice (the call, then the validation of the answer it returned); on a
    # few threads of their own, not anyio's forty (:mod:`supportdesk.server.push_threads`)
    return await run_push(state, _push, body, actor, state)


def _check_push(body: protocol.PushRequest) -> None:
    """Refuse a push the server cannot apply as a whole (nothing is written)."""
    if body.schema_version != protocol.SCHEMA_VERSION:
        raise ApiError(
            409,
            "schema_version",
            f"this server speaks sync schema {protocol.SCHEMA_VERSION}, the client {body.schema_version}: upgrade",
            field="schema_version",
        )
    if len(body.mutations) > protocol.MAX_BATCH:
        raise ApiError(413, "too_large", f"at most {protocol.MAX_BATCH} mutations per push", field="mutations")
    for index, mutation in enumerate(body.mutations):
        try:
            get(mutation.name)
        except UnknownMutation:
            raise ApiError(
                422, "unknown_mutation", f"unknown mutation {mutation.name!r}", field=f"mutations.{index}.name"
            ) from None
        if index and mutation.id != body.mutations[index - 1].id + 1:
            raise ApiError(422, "invalid", "mutation ids in a push must be consecutive", field=f"mutations.{index}.id")


def _push(body: protocol.PushRequest, actor: Actor, state: ServerState) -> Response:
    """The push in a worker thread; its answer as the JSON FastAPI would make of the
    ``PushResponse`` (the same serializer, by alias), built from outcomes already validated."""
    # on PostgreSQL the poke is a NOTIFY of the push's own transaction (delivered at its commit,
    # in commit order); SQLite's single process pokes its streams after the commit
    in_transaction = state.database.is_postgres
    results = apply_push(
        state.database,
        actor,
        body.client_id,
        body.mutations,
        before_write=state.before_write,
        after_write=state.after_write,
        after_commit=state.after_commit,
        announce=state.events.poke_in_transaction if in_transaction else None,
    )
    seq = max((r.seq for r in results), default=0)
    if in_transaction:
        state.events.forget_gathered()  # what the after-commit hooks gathered went with the NOTIFY
    elif seq:
        state.events.poke(seq)
    last = max((r.id for r in results), default=0)
    answer = protocol.PushResponse.model_construct(results=results, last_mutation_id=last)
    return Response(content=answer.model_dump_json(by_alias=True), media_type="application/json")


@router.get("/pull", response_model=protocol.PullResponse, tags=["sync"])
def pull_changes(
    actor: Caller,
    state: State,
    cursor: Cursor = 0,
    limit: PageLimit = protocol.DEFAULT_PAGE,
    client_id: ClientId = None,
) -> protocol.PullResponse:
    """Change records after ``cursor`` that the caller may see; ``more`` when a page is full."""
    return pull(state.database, actor, cursor=cursor, limit=limit, client_id=client_id)


@router.post("/rows", response_model=protocol.RowsResponse, tags=["sync"])
def rows(body: protocol.RowsRequest, actor: Caller, state: State) -> protocol.RowsResponse:
    """The current rows for keys a client changed optimistically (null: gone or not visible)."""
    for index, item in enumerate(body.keys):
        if item.table not in TABLE_ORDER:
            raise ApiError(422, "invalid", f"{item.table!r} is not a shared table", field=f"keys.{index}.table")
        if len(item.key) != len(spec(item.table).key):
            raise ApiError(
                422, "invalid", f"{item.table} has a key of {len(spec(item.table).key)}", field=f"keys.{index}.key"
            )
    return protocol.RowsResponse(rows=row_states(state.database, actor, body.keys))


@router.get(
    "/bootstrap",
    tags=["sync"],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One JSON object a line."}},
)
def bootstrap(
    actor: Caller,
    state: State,
    table: Annotated[str | None, Query(max_length=40, description="Resume from this table.")] = None,
    after: Annotated[str | None, Query(max_length=1000, description="JSON key of the last row received.")] = None,
) -> StreamingResponse:
    """A consistent snapshot of what the caller may see, as NDJSON (begin, rows…, end)."""
    if table is not None and table not in TABLE_ORDER:
        raise ApiError(422, "invalid", f"{table!r} is not a shared table", field="table")
    after_key = None
    if after is not None:
        try:
            after_key = _ROW_KEY.validate_python(json.loads(after))
        except (ValueError, ValidationError, RecursionError):  # RecursionError: "[" nested a thousand deep
            raise ApiError(
                422, "invalid", "after must be the JSON key of a row (an array of text)", field="after"
            ) from None
        if table is None or len(after_key) != len(spec(table).key):
            raise ApiError(422, "invalid", "after must be the JSON key of a row of table", field="after")
    return StreamingResponse(_bootstrap_lines(state, actor, table, after_key), media_type="application/x-ndjson")


class EventStream(StreamingResponse):
    """An SSE response that always lets go of its subscription, however the stream ends (the
    client left, the server closed it, or the response never started)."""

    def __init__(self, content: AsyncIterator[bytes], on_end: Callable[[], None]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.on_end = on_end

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_end()


@router.get(
    "/events",
    tags=["sync"],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events."},
        429: {"model": protocol.ErrorBody, "description": "Too many open streams for this token."},
    },
)
async def events(
    request: Request,
    actor: Caller,
    state: State,
    records: Annotated[
        bool, Query(description="Pokes may carry the new records: {from, seq, scope, changes}.")
    ] = False,
) -> StreamingResponse:
    """Server-Sent Events: ``hello``, ``poke`` {seq}, ``presence``, keep-alive comments, and a last
    ``closed`` {reason, message} when the server ends the stream (see :mod:`supportdesk.protocol`).

    With ``records=true`` a poke after a small write is ``{from, seq, scope, changes}``: the
    records of seqs (from, seq] a pull by this agent would hand out, in the pull's format; a
    client whose cursor is ``from`` (and whose copy has that ``scope``) applies them as a pulled
    page and moves its cursor to ``seq``; any other client pulls as it would on a plain poke.

    A token may hold ``streams_per_token`` open streams on one server process; one more is a 429.
    """
    token_id = str(request.state.token_id)
    limit = state.config.streams_per_token
    if limit and state.events.open_streams(token_id) >= limit:
        raise ApiError(
            429,
            "too_many_streams",
            f"this token already has {limit} open event streams, the most allowed: close one first",
            retry_after=max(1.0, state.config.stream_recheck),
        )
    subscriber = state.events.subscribe(actor, token_id, records=records)
    return EventStream(_event_lines(state, actor, subscriber), lambda: state.events.unsubscribe(subscriber))


async def _event_lines(state: ServerState, actor: Actor, subscriber: Subscriber) -> AsyncIterator[bytes]:
    yield _sse("hello", {"seq": state.events.last_seq, "agent_id": actor.id})
    while subscriber.closing is None:
        try:
            event = await asyncio.wait_for(subscriber.queue.get(), timeout=state.config.keepalive)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        if event["type"] == "closed":
            break
        body = event.get("body")
        if body is not None:  # a poke with this stream's records, encoded once per audience
            head, records = body
            subscriber.held -= len(head) + len(records)
            yield b"event: poke\ndata: " + head + records + b"\n\n"
            continue
        yield _sse(event["type"], _public_event(event))
    reason = subscriber.closing or "shutdown"
    yield _sse("closed", {"reason": reason, "message": CLOSE_MESSAGES.get(reason, reason)})


@router.post("/presence", status_code=204, tags=["sync"])
def presence(body: protocol.PresenceIn, actor: Caller, state: State) -> Response:
    """Say that the caller views, types in, or left a ticket."""
    state.events.set_presence(actor, body.ticket_id, body.state)
    return Response(status_code=204)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _public_event(event: dict[str, Any]) -> dict[str, Any]:
    if event["type"] == "poke":
        return {"seq": event["seq"]}
    return {key: event[key] for key in ("agent_id", "agent_name", "ticket_id", "state", "at")}


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
