"""The FastAPI application: one state, the routers by concern, the limits, the error handlers.

:func:`create_app` builds an app around an open :class:`ServerDatabase`: it makes the app's
:class:`~supportdesk.server.state.ServerState` (kept on ``app.state.server``), includes the
module-level routers of :mod:`supportdesk.server.routes` and the offline docs page, and starts
the state's workers with the app. Other packages plug in by adding to that state before the app
starts — a router, an after-write hook, a worker (see :func:`supportdesk.server.channels.install`);
nothing is registered in a module global, so every app has exactly what was installed in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from supportdesk import __version__, protocol
from supportdesk.server.db import ServerDatabase, sqlite_path
from supportdesk.server.events import ServerEvents
from supportdesk.server.handlers import CatchAll, ORJSONResponse, install_error_handlers
from supportdesk.server.limits import BodyLimit, RateLimiter, RateLimitHeaders
from supportdesk.server.request_log import RequestLog
from supportdesk.server.state import ServerConfig, ServerState
from supportdesk.server.token_cache import VERSIONED_TTL, TokenCache, VersionReader

if TYPE_CHECKING:
    from supportdesk.server.blobs import BlobOptions

DESCRIPTION = (
    "Sync (push, pull, bootstrap, events), REST reads and writes (with `Idempotency-Key` and "
    "`If-Match`) and administration for supportdesk. "
    "Every refusal is a JSON error `{error: {code, message, field}}`."
)


def create_app(
    database: ServerDatabase, config: ServerConfig | None = None, *, blobs: BlobOptions | None = None
) -> FastAPI:
    """The server application over ``database`` (see the module docstring); ``blobs`` is where it
    keeps attachment files (without it, it keeps none and refuses changes that name one)."""
    from supportdesk.server import automation_scheduler, docs, metrics, push_threads
    from supportdesk.server.routes import admin, customers, feedback, kb, sync, ticket_writes, tickets, webhooks
    from supportdesk.server.routes import blobs as attachments

    config = config or ServerConfig()
    per_minute = config.feedback_limit
    state = ServerState(
        database=database,
        config=config,
        events=ServerEvents(database, recheck=config.stream_recheck, tokens=_token_cache(database, config)),
        limiter=RateLimiter(config.rate, config.burst),
        auth_throttle=RateLimiter(config.auth_failures / 60.0, max(1, config.auth_failures)),
        feedback_limiter=RateLimiter(per_minute / 60.0, max(1, per_minute)),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.events.start(asyncio.get_running_loop())
        stops = []
        try:
            for start in state.workers:
                stops.append(start(state))
            yield
        finally:
            for stop in reversed(stops):
                stop()
            state.events.stop()

    app = FastAPI(
        title="supportdesk team server",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        docs_url=None,
        redoc_url=None,
        responses={"4XX": {"model": protocol.ErrorBody, "description": "The request was refused."}},
    )
    app.state.server = state
    # An agent's role, groups or activity changed: every process forgets its cached tokens.
    state.after_write.append(state.events.after_write)
    state.after_commit.append(state.events.after_commit)
    push_threads.install(state)
    _install_webhooks(state)
    automation_scheduler.install(state)
    install_error_handlers(app)
    for router in (
        sync.router,
        tickets.router,
        ticket_writes.router,
        customers.router,
        kb.router,
        admin.router,
        webhooks.router,
        feedback.router,
        docs.router,
    ):
        app.include_router(router)
    attachments.install(app, blobs)
    app.add_middleware(
        BodyLimit, max_bytes=config.max_body, by_path=config.max_body_by_path, pages=config.too_large_pages
    )
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(CatchAll)
    # outermost: every request's id, line and count, refusals by the limits too
    app.add_middleware(RequestLog, metrics=metrics.install(app, state))
    return app


def _token_cache(database: ServerDatabase, config: ServerConfig) -> TokenCache:
    """The process's token checks (:mod:`.token_cache`): on SQLite always kept, each request first
    reading the database's ``token_version`` (a revocation by a command in another process has
    nobody to tell the server); on PostgreSQL for ``--token-cache`` seconds, NOTIFY telling every
    process of a change."""
    if database.is_postgres:
        return TokenCache(config.token_cache)
    path = sqlite_path(database.url)
    if path is None:  # in memory: no second connection can read the number
        return TokenCache(0.0)
    return TokenCache(VERSIONED_TTL, version=VersionReader(path))


def _install_webhooks(state: ServerState) -> None:
    """Every write records its events for the registered endpoints (in its transaction), and a
    sender thread delivers them (:mod:`supportdesk.server.webhooks`, :mod:`.webhook_sender`)."""
    from supportdesk.server.webhook_sender import Sender

    sender = Sender(state.database, base=state.config.webhook_retry_base)
    state.extensions["webhooks"] = sender
    state.after_write.append(sender.record)
    state.after_commit.append(sender.after_commit)
    state.workers.append(sender.start)
