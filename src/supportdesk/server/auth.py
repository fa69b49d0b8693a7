"""Who is calling: the agent of a request's bearer token, within its limits.

:data:`Caller` is the dependency every endpoint for agents declares. It refuses, as JSON:

- 401 a missing, unknown, revoked or expired token, or one whose agent was deactivated (an
  expired token says so, with the instant);
- 429 a client address that sent too many bad tokens (``auth_failures`` a minute; ``Retry-After``
  says when to try again). While an address is throttled its tokens are not even looked up, so
  guessing gains nothing; other addresses are not affected;
- 429 a token over its request rate.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text

from supportdesk.domain.context import Actor
from supportdesk.server.errors import ApiError
from supportdesk.server.state import ServerState, server_state
from supportdesk.store.times import utcnow

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
    from supportdesk.server.tokens import check_token

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
    with state.database.read_engine.connect() as connection:
        check = check_token(connection, token.strip())
    if check.actor is None or check.token_id is None:
        error = _refuse_bad_token(state, address, check.refusal())
        if check.problem == "expired" and error.status == 401:
            error.code = "token_expired"
        raise error
    wait = state.limiter.take(check.token_id)
    if wait > 0:
        raise ApiError(429, "rate_limited", "too many requests with this token: slow down", retry_after=wait)
    _note_use(state, check.token_id)
    request.state.actor = check.actor
    request.state.token_id = check.token_id
    return check.actor


Caller = Annotated[Actor, Depends(current_actor)]


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise ApiError(403, "forbidden", "only admins may do this")


def _note_use(state: ServerState, token_id: str) -> None:
    """Write the token's ``last_used_at``, at most once a minute per token and process."""
    now = time.monotonic()
    if now - state.token_used.get(token_id, -1e9) < LAST_USED_EVERY:
        return
    state.token_used[token_id] = now
    with state.database.engine.connect() as connection, connection.begin():
        connection.execute(
            text("UPDATE api_token SET last_used_at = :now WHERE id = :id"), {"now": utcnow(), "id": token_id}
        )
