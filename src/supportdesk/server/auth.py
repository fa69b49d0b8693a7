"""Who is calling: the agent of a request's bearer token, within its limits.

:data:`Caller` is the dependency every endpoint for agents declares. It refuses, as JSON:

- 401 a missing, unknown, revoked or expired token, or one whose agent was deactivated (an
  expired token says so, with the instant);
- 429 a client address that sent too many bad tokens (``auth_failures`` a minute; ``Retry-After``
  says when to try again). While an address is throttled its tokens are not even looked up, so
  guessing gains nothing; other addresses are not affected;
- 429 a token over its request rate (the server's ``--rate-limit``, or the token's own); every
  answer to a rate-limited token carries ``RateLimit-*`` headers (:mod:`.limits`);
- 403 a token whose scopes do not cover the endpoint (:mod:`.scopes`): :func:`scoped` makes the
  dependency of a REST endpoint, and :data:`Caller` (sync, administration) takes full tokens
  and ``admin`` ones only.

A group-restricted token acts as its agent seeing only those groups (:func:`.scopes.restricted`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from supportdesk.domain.context import Actor
from supportdesk.server.errors import ApiError
from supportdesk.server.scopes import allows, restricted
from supportdesk.server.state import ServerState, server_state
from supportdesk.server.tokens import TokenCheck, check_token, hash_token
from supportdesk.server.tokens import _check as token_check_of
from supportdesk.server.tokens import _select as token_columns
from supportdesk.store.times import utcnow
from supportdesk.store.token_version import READ as TOKEN_VERSION

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: Seconds between two writes of a token's ``last_used_at``.
LAST_USED_EVERY = 60.0


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refuse_bad_token(state: ServerState, address: str, message: str) -> ApiError:
    """Count a failed sign-in against ``address``; the refusal to raise."""
    wait = state.auth_throttle.take(address)
    if wait > 0:
        return _throttled(wait)
    return ApiError(401, "unauthenticated", message)


def _throttled(wait: float) -> ApiError:
    message = "too many requests with a bad token from this address: wait before trying again"
    return ApiError(429, "rate_limited", message, retry_after=wait)


def current_actor(request: Request) -> Actor:
    """The agent of the request's bearer token (a dependency; see the module docstring)."""
    actor = _authenticate(request, cached_only=False)
    assert actor is not None  # a full check answers or refuses
    return actor


def _authenticate(request: Request, *, cached_only: bool) -> Actor | None:
    """:func:`current_actor`; with ``cached_only``, None (before anything was counted) when that
    would touch the database — the token's check is not cached, or its ``last_used_at`` is due —
    so that the event loop can answer the cached case itself and hand the rest to a thread."""
    state = server_state(request)
    address = client_address(request)
    blocked = state.auth_throttle.wait(address)
    if blocked > 0:
        raise _throttled(blocked)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse_bad_token(state, address, "send an API token: Authorization: Bearer <token>")
    if len(token) > 200 or "\x00" in token:
        raise _refuse_bad_token(state, address, "the token is unknown or revoked")
    if cached_only:
        found = _cached(state, token.strip())
        if found is None or _use_due(state, found.token_id):
            return None
        check = found
    else:
        check = _check(state, token.strip())
    if check.actor is None or check.token_id is None:
        error = _refuse_bad_token(state, address, check.refusal())
        if check.problem == "expired" and error.status == 401:
            error.code = "token_expired"
        raise error
    own = check.rate_per_minute
    admission = state.limiter.admit(check.token_id, rate=own / 60.0 if own else None, burst=own if own else None)
    request.state.rate_limit = admission
    if admission.wait > 0:
        raise ApiError(429, "rate_limited", "too many requests with this token: slow down", retry_after=admission.wait)
    _note_use(state, check.token_id)
    actor = restricted(check.actor, check.group_ids)
    request.state.actor = actor
    request.state.token_id = check.token_id
    request.state.token = check
    return actor


async def _current_actor_async(request: Request) -> Actor:
    """:func:`current_actor` for an ``async`` dependency: a cached token is checked on the event
    loop (no database; on SQLite one read of ``token_version`` on a connection that never waits),
    anything else in a worker thread — a dependency run in a thread costs a hop there and back on
    every request, and most requests come with a token already checked."""
    actor = _authenticate(request, cached_only=True)
    if actor is not None:
        return actor
    return await run_in_threadpool(current_actor, request)


def _cached(state: ServerState, token: str) -> TokenCheck | None:
    """The token's check if this process may answer it from memory (see :mod:`.token_cache`)."""
    return state.events.tokens.get(hash_token(token), utcnow())


def _check(state: ServerState, token: str) -> TokenCheck:
    """The token's check: from this process's cache while it may be trusted (see
    :mod:`.token_cache`), else from the database (and remembered if the token works)."""
    cache = state.events.tokens
    token_hash = hash_token(token)
    cached = cache.get(token_hash, utcnow())
    if cached is not None:
        return cached
    generation = cache.generation
    version = None
    with state.database.read_engine.connect() as connection:
        if cache.version is not None:
            # in the lookup's own snapshot: the check is stored only if it was read at the
            # number the cache holds (a change committed since the cache read it is not missed)
            version = connection.exec_driver_sql(TOKEN_VERSION).scalar()
        check = _look_up(connection, token)
    cache.put(token_hash, check, generation, None if version is None else int(version))
    return check


def _look_up(connection: Connection, token: str) -> TokenCheck:
    """:func:`.tokens.check_token` in one statement on PostgreSQL, where (without
    ``--token-cache``) every request looks its token up: the agent's groups come with the token
    as an array, one round trip and one statement instead of two. The same columns, types and
    answer; SQLite, which caches every check, keeps the two statements."""
    if connection.dialect.name != "postgresql":
        return check_token(connection, token)
    row = connection.execute(_with_groups(), {"token_hash": hash_token(token)}).first()
    if row is None:
        return TokenCheck(None, problem="unknown")
    groups = frozenset(row[12] or ())
    return token_check_of(row, {row[3]: groups} if groups else {}, utcnow())


@functools.cache
def _with_groups() -> Any:
    """The token and agent columns :func:`.tokens.check_token` reads, and the agent's groups."""
    from sqlalchemy import bindparam, func, select

    from supportdesk.domain.tx import table

    tokens, agents, memberships = table("api_token"), table("agent"), table("agent_group")
    groups = (
        select(func.array_agg(memberships.c.group_id)).where(memberships.c.agent_id == agents.c.id).scalar_subquery()
    )
    return token_columns().add_columns(groups).where(tokens.c.token_hash == bindparam("token_hash"))


AnyCaller = Annotated[Actor, Depends(_current_actor_async)]
"""Any working token (``/v1/me``)."""


def token_allows(request: Request, scope: str) -> bool:
    """Whether the token of an authenticated request has ``scope``."""
    check = getattr(request.state, "token", None)
    return check is not None and allows(check.scopes, scope)


def _refuse_scope(request: Request, scope: str) -> None:
    if not token_allows(request, scope):
        raise ApiError(403, "insufficient_scope", f"this token's scopes do not include {scope}", field="scope")


def full_caller(request: Request) -> Actor:
    """The caller of a sync or administration endpoint: a full token, or one with ``admin``."""
    actor = current_actor(request)
    _refuse_scope(request, "admin")
    return actor


async def _full_caller_async(request: Request) -> Actor:
    actor = await _current_actor_async(request)
    _refuse_scope(request, "admin")
    return actor


Caller = Annotated[Actor, Depends(_full_caller_async)]


def scoped(scope: str) -> Callable[[Request], Awaitable[Actor]]:
    """The dependency of a REST endpoint that needs ``scope`` (``tickets:write`` …)."""

    async def caller(request: Request) -> Actor:
        actor = await _current_actor_async(request)
        _refuse_scope(request, scope)
        return actor

    caller.__name__ = f"caller_with_{scope.replace(':', '_')}"
    return caller


def token_name(request: Request) -> str:
    check = getattr(request.state, "token", None)
    return check.name if check is not None else ""


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise ApiError(403, "forbidden", "only admins may do this")


def _use_due(state: ServerState, token_id: str | None) -> bool:
    """Whether the token's ``last_used_at`` is to be written (once a minute per token and process)."""
    return token_id is not None and time.monotonic() - state.token_used.get(token_id, -1e9) >= LAST_USED_EVERY


def _note_use(state: ServerState, token_id: str) -> None:
    """Write the token's ``last_used_at``, at most once a minute per token and process."""
    if not _use_due(state, token_id):
        return
    now = time.monotonic()
    state.token_used[token_id] = now
    with state.database.engine.connect() as connection, connection.begin():
        connection.execute(
            text("UPDATE api_token SET last_used_at = :now WHERE id = :id"), {"now": utcnow(), "id": token_id}
        )
