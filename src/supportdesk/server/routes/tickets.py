"""REST reads for integrations: ``GET /v1/tickets?query=…`` (the console's query language, a keyset
page at a time) and ``GET /v1/tickets/{number}`` (one ticket with its timeline), filtered by what
the caller may see like every other read."""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import base64
import binascii
import math
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import text

from supportdesk import protocol
from supportdesk.domain.context import Actor
from supportdesk.server.auth import scoped
from supportdesk.server.errors import ApiError
from supportdesk.server.reads import snapshot, ticket_bundle
from supportdesk.server.state import ServerState, State
from supportdesk.server.visibility import ticket_condition
from supportdesk.store import ticket_fields
from supportdesk.store.times import from_db, to_db

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection

    from supportdesk.store.query import Compiled

router = APIRouter(prefix="/v1", tags=["tickets"])

Reader = Annotated[Actor, Depends(scoped("tickets:read"))]

TicketNumber = Annotated[int, Path(ge=1, le=protocol.MAX_TICKET_NUMBER, description="The ticket's number.")]


@router.get("/tickets")
def list_tickets(
    actor: Reader,
    state: State,
    query: Annotated[
        str, Query(max_length=2000, pattern=r"^[^\x00]*$", description="The query language, as in the console.")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(max_length=400, description="`next` of the previous page.")] = None,
) -> dict[str, Any]:
    """Tickets matching a query that the caller may see, a keyset page at a time."""
    return _ticket_page(state, actor, query, limit, after)


@router.get("/tickets/{number}")
def show_ticket(number: TicketNumber, actor: Reader, state: State, response: Response) -> dict[str, Any]:
    """One ticket with its tags and whole timeline; its ``ETag`` (also ``version``) is what
    ``If-Match`` takes on ``PATCH``."""
    from supportdesk.server.versions import current_version, etag

    with snapshot(state.database) as connection:
        found = connection.execute(text("SELECT id FROM ticket WHERE number = :n"), {"n": number}).first()
        bundle = ticket_bundle(connection, actor, found[0]) if found else {}
        version = current_version(connection, found[0]) if bundle and found else 0
    if not bundle:
        raise ApiError(404, "not_found", f"no ticket #{number}", field="number")
    ticket = bundle["ticket"][0]
    messages = sorted(bundle["message"], key=lambda m: (m["created_at"], m["id"]))
    response.headers["ETag"] = etag(version)
    tags = sorted(t["tag"] for t in bundle["ticket_tag"])
    from supportdesk.assist.merge_hints import merge_suggestion

    suggestion = merge_suggestion(ticket, messages)
    return {**ticket, "tags": tags, "version": version, "messages": messages, "merge_suggestion": suggestion}


_SORTS = {
    "updated-desc": ("t.updated_at", "DESC"),
    "updated-asc": ("t.updated_at", "ASC"),
    "created-desc": ("t.created_at", "DESC"),
    "created-asc": ("t.created_at", "ASC"),
    "number-desc": ("t.number", "DESC"),
    "number-asc": ("t.number", "ASC"),
}


def _time_text(value: Any) -> str | None:
    if value is None:
        return None
    return to_db(value) if isinstance(value, datetime) else str(value)


def _ticket_page(state: ServerState, actor: Actor, query: str, limit: int, after: str | None) -> dict[str, Any]:
    from supportdesk.store.query import QueryError, compile_query

    dialect = state.database.dialect
    try:
        compiled = compile_query(query, me=actor.id, dialect=dialect)
    except QueryError as error:
        raise ApiError(422, "invalid_query", str(error), field="query") from None
    visible, visible_params = ticket_condition(actor)
    names = ticket_fields.columns(rest=True)
    times = frozenset(f.store_column for f in ticket_fields.FIELDS if f.kind == "time")
    with snapshot(state.database) as connection:
        found, sort = page_rows(connection, compiled, visible, visible_params, after, limit, dialect)
    tickets = [
        {name: _time_text(value) if name in times else value for name, value in zip(names, row, strict=False)}
        for row in found[:limit]
    ]
    more = len(found) > limit
    next_after = _encode_after(found[limit - 1][-1], found[limit - 1][0]) if more else None
    return {"tickets": tickets, "next": next_after, "sort": sort}


#: Tickets a phrase search on PostgreSQL walks first, newest first, before it walks further or
#: asks the GIN index instead (:func:`_phrase_walks`); and the most its second walk takes.
PHRASE_WALK = 2000
PHRASE_WALK_MOST = 20000


def page_rows(
    connection: "Connection",
    compiled: "Compiled",
    visible: str,
    visible_params: dict[str, Any],
    after: str | None,
    limit: int,
    dialect: str,
) -> tuple[list[Any], str]:
    """The rows of one page (``limit + 1`` at most, as :func:`page_sql`) and the sort's name."""
    sql, params, sort = page_sql(compiled, visible, visible_params, after, limit, dialect)
    if walks_phrase(compiled, sort, dialect):

        def walk(most: int) -> tuple[str, dict[str, Any]]:
            return phrase_walk_sql(compiled, visible, visible_params, after, limit, most)

        walked = _phrase_walks(connection, walk, limit)
    elif ranks_phrase(compiled, sort, dialect):
        walked = _ranked_from_a_walk(connection, compiled, visible, visible_params, after, limit)
    else:
        return list(connection.execute(text(sql), params).all()), sort
    if walked is not None:
        return walked, sort
    # the walks fell short: the GIN index gives every match, in an order no index walks
    sql, params, sort = page_sql(compiled, visible, visible_params, after, limit, dialect, walk_in_order=False)
    return list(connection.execute(text(sql), params).all()), sort


def _ranked_from_a_walk(
    connection: "Connection",
    compiled: "Compiled",
    visible: str,
    visible_params: dict[str, Any],
    after: str | None,
    limit: int,
) -> list[Any] | None:
    """A page by relevance of a search with a phrase on PostgreSQL, ranking the newest
    :data:`RELEVANCE_POOL` matches as :func:`page_sql` does, found by walking at most the newest
    :data:`PHRASE_WALK_MOST` tickets the agent sees; None when they do not hold that many (or the
    page is empty, which cannot tell), and the pool is to be asked of the GIN index.

    Why: the planner walks tickets newest first to fill the pool when it believes the phrase
    common — right for ``"thank you"``, through every ticket for ``"the the"`` (in none, its word
    in all: 1.0–1.4 s on 300,000). The share of the newest few thousand tickets cannot choose for
    it: the newest tickets are the shortest (a demo's newest 2,000 hold ``"thanks for"`` at a
    quarter of its share of all), so a bounded walk decides, and its rows are the answer when full.
    """
    from supportdesk.store.query import PG_RANK

    pool = RELEVANCE_POOL
    rank = PG_RANK.format(compiled.rank)
    newest = replace(compiled, sort="newest")
    walk, params = phrase_walk_sql(newest, visible, visible_params, None, pool - 1, PHRASE_WALK_MOST)
    outer = ""
    if after:
        key, ticket_id = _decode_after(after, "relevance", "postgresql")
        outer = f"WHERE ({rank}, t.id) < (CAST(:after_key AS real), :after_id) "
        params.update(after_key=key, after_id=ticket_id)
    sql = (
        f"SELECT {_rest_columns()}, t.pool_found, {rank} AS sort_key FROM ("
        f"SELECT w.*, count(*) OVER () AS pool_found FROM ({walk}) w"
        ") t JOIN ticket_search ts ON ts.ticket_id = t.id "
        f"{outer}ORDER BY sort_key DESC, t.id DESC LIMIT {limit + 1}"
    )
    rows = list(connection.execute(text(sql), params).all())
    if not rows or rows[0][-2] < pool:
        return None
    return [(*row[:-2], row[-1]) for row in rows]


def walks_phrase(compiled: "Compiled", sort: str, dialect: str) -> bool:
    """Whether a page of this search is the bounded walk of :func:`_phrase_walks` first."""
    return dialect == "postgresql" and compiled.phrase and sort == "created-desc"


def ranks_phrase(compiled: "Compiled", sort: str, dialect: str) -> bool:
    """Whether this search ranks a pool of its newest matches found by a bounded walk first
    (:func:`_ranked_from_a_walk`): ``sort:relevance`` with a phrase on PostgreSQL."""
    return dialect == "postgresql" and compiled.phrase and sort == "relevance"


def _phrase_walks(
    connection: "Connection",
    walk: "Callable[[int], tuple[str, dict[str, Any]]]",
    limit: int,
) -> list[Any] | None:
    """A newest-first page of a search with a phrase on PostgreSQL, or None when the walks fall
    short and the page is to be asked of the GIN index. ``walk(n)``
    (:func:`phrase_walk_sql`) tests the newest ``n`` tickets the agent sees: first
    :data:`PHRASE_WALK` of them; when some but fewer than a page matched, as many more as their
    share says a page needs (half as many again, at most :data:`PHRASE_WALK_MOST`), unless that
    share says even :data:`PHRASE_WALK_MOST` would not hold a page. When still short,
    :func:`page_sql` without ``walk_in_order`` has the GIN index give every match, then sorts them.

    Why: the planner counts a phrase as its words in any order, so for two common words it
    expects many matches and walks tickets newest first, testing each. A phrase those words
    rarely form (``"has nothing"`` in no ticket, while ``"nothing has"`` is in 1.6 %) walked
    every ticket: 0.7–1.0 s on 300,000, about 4 s on a million. The walks here are bounded, and
    the index's cost grows with the tickets holding all the phrase's words, not with the table;
    a phrase in a few percent of the tickets still fills its page from a short walk, as before.
    Every way gives the same rows: the first ``limit + 1`` matches in the page's order are the
    same whether found among the newest tickets or among all of them.
    """
    sql, params = walk(PHRASE_WALK)
    found = list(connection.execute(text(sql), params).all())
    if len(found) > limit:
        return found
    # a second walk only when the first one's share says PHRASE_WALK_MOST tickets hold a page
    expected = (limit + 1) * PHRASE_WALK / len(found) if found else math.inf
    if expected <= PHRASE_WALK_MOST:
        further = min(PHRASE_WALK_MOST, math.ceil(1.5 * expected))
        if further > PHRASE_WALK:
            sql, params = walk(further)
            found = list(connection.execute(text(sql), params).all())
            if len(found) > limit:
                return found
    return None


def phrase_walk_sql(
    compiled: "Compiled",
    visible: str,
    visible_params: dict[str, Any],
    after: str | None,
    limit: int,
    walk: int = PHRASE_WALK,
) -> tuple[str, dict[str, Any]]:
    """A bounded walk of :func:`_phrase_walks`: the newest ``walk`` tickets the agent sees (after
    the page cursor), and of them the first ``limit + 1`` that match.
    Public for ``bench/pg_search.py``."""
    params = {**visible_params, **compiled.params}
    inner = [visible]
    if after:
        key, ticket_id = _decode_after(after, "created-desc", "postgresql")
        inner.append("(t.created_at, t.id) < (:after_key, :after_id)")
        params.update(after_key=key, after_id=ticket_id)
    selected = _rest_columns()
    sql = (
        f"SELECT {selected}, t.created_at AS sort_key FROM ("
        f"SELECT * FROM ticket t WHERE {' AND '.join(f'({c})' for c in inner)} "
        f"ORDER BY t.created_at DESC, t.id DESC LIMIT {int(walk)}"
        f") t WHERE ({compiled.where}) ORDER BY t.created_at DESC, t.id DESC LIMIT {limit + 1}"
    )
    return sql, params


#: ``sort:relevance`` on PostgreSQL ranks the newest this many matches (bench/README.md, issue 13:
#: ranking every match of a word in 15 % of a million tickets took seconds).
RELEVANCE_POOL = 1000


def page_sql(
    compiled: "Compiled",
    visible: str,
    params: dict[str, Any],
    after: str | None,
    limit: int,
    dialect: str,
    pool: int | None = None,
    *,
    walk_in_order: bool = True,
) -> tuple[str, dict[str, Any], str]:
    """The SQL of one page of ``GET /v1/tickets`` (its ``limit + 1`` rows: one more says there is a
    next page), its parameters and the sort's name; ``visible`` is the caller's ticket condition.
    Without ``walk_in_order`` the page is ordered by an expression no index gives in order, so the
    planner cannot walk tickets in the page's order (:func:`_phrase_walks`).

    Public for ``bench/pg_search.py``, which times exactly this statement.
    """
    params = {**params, **compiled.params}
    conditions = [compiled.where, visible]
    if compiled.fts:
        conditions.append("t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :fts)")
        params["fts"] = compiled.fts
    selected = _rest_columns()
    if compiled.sort == "relevance" and compiled.rank and dialect == "postgresql":
        pool = RELEVANCE_POOL if pool is None else pool
        ranked = _ranked_sql(compiled.rank, selected, conditions, params, after, limit, pool, walk_in_order)
        return ranked, params, "relevance"
    # A text search lists newest first on both databases (SQLite says "newest", PostgreSQL
    # "created-desc"); a SQLite server does not rank (its FTS5 would, over every match).
    sort = compiled.sort if compiled.sort in _SORTS else "updated-desc"
    if compiled.sort in ("newest", "relevance"):
        sort = "created-desc"
    column, direction = _SORTS[sort]
    order = column
    if not walk_in_order:  # the same order, which no index gives
        order = f"({column} + interval '0 seconds')" if column.endswith("_at") else f"({column} + 0)"
    if after:
        key, ticket_id = _decode_after(after, sort, dialect)
        op = "<" if direction == "DESC" else ">"
        conditions.append(f"({column}, t.id) {op} (:after_key, :after_id)")
        params.update(after_key=key, after_id=ticket_id)
    sql = (
        f"SELECT {selected}, {column} AS sort_key FROM ticket t "
        f"WHERE {' AND '.join(f'({c})' for c in conditions)} "
        f"ORDER BY {order} {direction}, t.id {direction} LIMIT {limit + 1}"
    )
    return sql, params, sort


def _rest_columns() -> str:
    """The ticket's columns as the ticket field table lists them for REST (store.ticket_fields)."""
    return ", ".join(f"t.{name}" for name in ticket_fields.columns(rest=True))


def _ranked_sql(
    rank_query: str,
    selected: str,
    conditions: list[str],
    params: dict[str, Any],
    after: str | None,
    limit: int,
    pool: int,
    walk_in_order: bool = True,
) -> str:
    """A page by relevance on PostgreSQL: the newest ``pool`` matches (walked newest first, or
    from the GIN index when they are few, as the planner judges; without ``walk_in_order``, from
    the index), ranked by ``ts_rank`` of their stored documents.

    Ranking every match is what the workspace does; here it read and ranked ~140,000 documents
    for a word in 15 % of a million tickets (seconds), so the server ranks a bounded set: the
    same order as the workspace's whenever a search matches at most ``pool`` tickets.
    """
    from supportdesk.store.query import PG_RANK

    rank = PG_RANK.format(rank_query)
    newest = "t.created_at" if walk_in_order else "(t.created_at + interval '0 seconds')"
    outer = ""
    if after:
        key, ticket_id = _decode_after(after, "relevance", "postgresql")
        # a rank is a ``real``: the cursor's number is read back as one, so it equals the row's
        outer = f"WHERE ({rank}, t.id) < (CAST(:after_key AS real), :after_id) "
        params.update(after_key=key, after_id=ticket_id)
    return (
        f"SELECT {selected}, {rank} AS sort_key FROM ("
        f"SELECT t.* FROM ticket t WHERE {' AND '.join(f'({c})' for c in conditions)} "
        f"ORDER BY {newest} DESC, t.id DESC LIMIT {int(pool)}"
        ") t JOIN ticket_search ts ON ts.ticket_id = t.id "
        f"{outer}ORDER BY sort_key DESC, t.id DESC LIMIT {limit + 1}"
    )


def _encode_after(key: Any, ticket_id: str) -> str:
    value = to_db(key) if isinstance(key, datetime) else key
    return base64.urlsafe_b64encode(orjson.dumps([value, ticket_id])).decode()


def _decode_after(after: str, sort: str, dialect: str) -> tuple[Any, str]:
    """The sort key and ticket id of a page cursor, each checked for the sort's column: a forged
    cursor is a 422 naming ``after``, never a value the database chokes on."""
    refusal = ApiError(422, "invalid", "after is not a page cursor from this server", field="after")
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(after.encode()))
    except (ValueError, binascii.Error):
        raise refusal from None
    if not isinstance(decoded, list) or len(decoded) != 2:
        raise refusal
    key, ticket_id = decoded
    if not isinstance(ticket_id, str) or not 0 < len(ticket_id) <= 36 or "\x00" in ticket_id:
        raise refusal
    if sort == "relevance":  # a rank: a finite number no larger than a real holds
        if isinstance(key, bool) or not isinstance(key, int | float) or not abs(key) < 1e30:
            raise refusal
        return float(key), ticket_id
    if _SORTS[sort][0].endswith("_at"):
        if not isinstance(key, str) or len(key) > 40:
            raise refusal
        try:
            instant = from_db(key)
        except ValueError:
            raise refusal from None
        assert instant is not None
        return (instant if dialect == "postgresql" else to_db(instant)), ticket_id
    if key is not None and (isinstance(key, bool) or not isinstance(key, int) or abs(key) > protocol.MAX_SEQ):
        raise refusal
    return key, ticket_id
