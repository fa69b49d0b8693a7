"""The FastAPI application: sync endpoints, live events, REST reads and administration.

:func:`create_app` builds it around an open :class:`ServerDatabase`. Other packages add their
own endpoints and background workers (inbound email, webhooks) through :data:`ROUTERS` and
:data:`WORKERS`; ``supportdesk serve`` mounts and starts whatever is registered there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from supportdesk import __version__
from supportdesk.domain.context import Actor
from supportdesk.domain.errors import DomainError
from supportdesk.server.apply import ApiError
from supportdesk.server.db import ServerDatabase
from supportdesk.server.events import ServerEvents
from supportdesk.server.limits import BodyLimit, RateLimiter, retry_after
from supportdesk.sync import wire

log = logging.getLogger("supportdesk.server")


@dataclass
class ServerConfig:
    rate: float = 100.0
    burst: int = 400
    keepalive: float = 15.0
    max_body: int = wire.MAX_BODY_BYTES
    #: Endpoints with a body limit of their own (path -> bytes), e.g. inbound raw mail.
    max_body_by_path: dict[str, int] = field(default_factory=dict)
    #: Survey requests a minute per client address (0: none); the feedback link needs no token.
    feedback_limit: int = 30


@dataclass
class ServerState:
    """What every endpoint and worker of one server process shares."""

    database: ServerDatabase
    config: ServerConfig
    events: ServerEvents
    limiter: RateLimiter
    token_used: dict[str, float] = field(default_factory=dict)


#: Routers other packages add: each a function of the server state returning an ``APIRouter``.
ROUTERS: list[Callable[[ServerState], APIRouter]] = []
#: Background workers: each starts with the server and returns the function that stops it.
WORKERS: list[Callable[[ServerState], Callable[[], None]]] = []


class ORJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: ApiError) -> ORJSONResponse:
    headers = {}
    if "retry_after" in error.extra:
        headers["Retry-After"] = retry_after(float(error.extra["retry_after"]))
    body = error.body()
    body["error"].pop("retry_after", None)
    return ORJSONResponse(body, status_code=error.status, headers=headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> Response:
        return error_response(error)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, error: DomainError) -> Response:
        status = 404 if error.code == "not_found" else 403 if error.code == "forbidden" else 422
        return ORJSONResponse({"error": error.as_dict()}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0]
        if first.get("type") == "json_invalid":
            reason = first.get("ctx", {}).get("error", "not valid JSON")
            return error_response(
                ApiError(400, "malformed_json", f"the body is not valid JSON: {reason}", field="body")
            )
        where = _field_path(first.get("loc", ()))
        if first.get("type") == "extra_forbidden":
            message = f"{where} is not a field of this request"
        elif first.get("type") == "missing":
            message = f"{where} is required"
        else:
            message = f"{where}: {first.get('msg', 'invalid')}"
        return error_response(ApiError(422, "invalid", message, field=where))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(ApiError(error.status_code, code, str(error.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> Response:
        log.exception("unexpected error", exc_info=error)
        return error_response(ApiError(500, "internal", "the server failed; the error is in its log"))


def create_app(
    database: ServerDatabase,
    config: ServerConfig | None = None,
    *,
    routers: list[Callable[[ServerState], APIRouter]] | None = None,
    workers: list[Callable[[ServerState], Callable[[], None]]] | None = None,
) -> FastAPI:
    """The server application over ``database``; ``routers``/``workers`` default to the registries."""
    from supportdesk.server import feedback, routes

    config = config or ServerConfig()
    state = ServerState(database, config, ServerEvents(database), RateLimiter(config.rate, config.burst))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.events.start(asyncio.get_running_loop())
        stops = [start(state) for start in (workers if workers is not None else WORKERS)]
        try:
            yield
        finally:
            for stop in reversed(stops):
                stop()
            state.events.stop()

    app = FastAPI(
        title="supportdesk team server",
        version=__version__,
        description="Sync (push, pull, bootstrap, events), REST reads and administration for supportdesk.",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    app.state.server = state
    install_error_handlers(app)
    app.include_router(routes.router(state))
    app.include_router(feedback.router(state))
    for make in routers if routers is not None else ROUTERS:
        app.include_router(make(state))
    app.add_middleware(BodyLimit, max_bytes=config.max_body, by_path=config.max_body_by_path)
    return app


def authenticate(state: ServerState) -> Callable[..., Actor]:
    """A dependency: the agent of the request's bearer token, within the rate limit."""
    from supportdesk.server.tokens import actor_for_token

    def current_actor(request: Request) -> Actor:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "send an API token: Authorization: Bearer <token>")
        with state.database.read_engine.connect() as connection:
            found = actor_for_token(connection, token.strip())
        if found is None:
            raise ApiError(401, "unauthenticated", "the token is unknown or revoked")
        actor, token_id = found
        wait = state.limiter.take(token_id)
        if wait > 0:
            raise ApiError(429, "rate_limited", "too many requests with this token: slow down", retry_after=wait)
        _note_use(state, token_id)
        request.state.actor = actor
        return actor

    return current_actor


def _note_use(state: ServerState, token_id: str) -> None:
    now = time.monotonic()
    if now - state.token_used.get(token_id, -1e9) < 60:
        return
    state.token_used[token_id] = now
    from sqlalchemy import text

    from supportdesk.store.times import utcnow

    with state.database.engine.connect() as connection, connection.begin():
        connection.execute(
            text("UPDATE api_token SET last_used_at = :now WHERE id = :id"), {"now": utcnow(), "id": token_id}
        )


PageLimit = Annotated[int, Query(ge=1, le=wire.MAX_PAGE, description="Records per page.")]
