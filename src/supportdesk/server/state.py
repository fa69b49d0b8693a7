"""What one server process shares: its settings, its database, its live events and its limits.

:func:`supportdesk.server.app.create_app` makes one :class:`ServerState` and keeps it on
``app.state.server``; endpoints reach it through the :data:`State` dependency, never through a
module global, so two apps in one process (a test, a second server) share nothing. Packages that
plug into the server (the channels) add their after-write hooks and background workers to the
state of the app they are installed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends, Request

from supportdesk import protocol
from supportdesk.server.apply import AfterCommit, AfterWrite, BeforeWrite, apply_as
from supportdesk.server.limits import RateLimiter

if TYPE_CHECKING:
    from supportdesk.domain.context import Actor
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.events import ServerEvents


@dataclass
class ServerConfig:
    """Every setting of ``supportdesk serve`` that the application reads (flags and
    ``SUPPORTDESK_*`` variables of the same meaning; see ``cli/server.py``)."""

    #: Requests a second per token (0: none) and the burst a token may send at once.
    rate: float = 100.0
    burst: int = 400
    #: Seconds between SSE keep-alive comments.
    keepalive: float = 15.0
    max_body: int = protocol.MAX_BODY_BYTES
    #: Endpoints with a body limit of their own (path -> bytes), e.g. inbound raw mail.
    max_body_by_path: dict[str, int] = field(default_factory=dict)
    #: Pages a browser gets instead of the JSON 413 when its body is over the limit (path -> an
    #: ASGI app answering it, e.g. the help center's form in the visitor's language).
    too_large_pages: dict[str, Any] = field(default_factory=dict)
    #: Survey requests a minute per client address (0: none); the feedback link needs no token.
    feedback_limit: int = 30
    #: Requests with a bad token a minute per client address before it is answered 429 (0: none).
    auth_failures: int = 30
    #: Open event streams per token (per server process); one more is answered 429.
    streams_per_token: int = 4
    #: Seconds between checks that every open event stream's token still works and its agent's
    #: groups and role are unchanged (a stream that fails the check is closed).
    stream_recheck: float = 2.0
    #: Seconds a client may take to send a request's headers, and then its body (0: no limit).
    header_timeout: float = 10.0
    body_timeout: float = 120.0
    #: Triage every new ticket (language, sentiment, intent) with the offline assist engine.
    triage: bool = True
    #: The admins' intents YAML triage classifies into (None: the shipped set); re-read when
    #: it changes (see :mod:`supportdesk.server.assist`).
    intents_file: str | None = None
    #: Seconds before a failed webhook delivery is first retried (doubling each time).
    webhook_retry_base: float = 10.0
    #: Seconds between two runs of the time-based automations (0: the scheduler is off).
    automation_interval: float = 300.0
    #: PostgreSQL: seconds a working token's check is reused by a process (0: look it up every
    #: request); revocations reach every process sooner. On SQLite checks are always kept, each
    #: request reading ``token_version`` first (see :mod:`supportdesk.server.token_cache`).
    token_cache: float = 0.0


Worker = Callable[["ServerState"], Callable[[], None]]
"""A background worker: started with the server, returns the function that stops it."""


@dataclass
class ServerState:
    """What every endpoint and worker of one server process shares."""

    database: ServerDatabase
    config: ServerConfig
    events: ServerEvents
    #: The request rate per token.
    limiter: RateLimiter
    #: Failed sign-ins per client address (a token bucket filled ``auth_failures`` a minute).
    auth_throttle: RateLimiter
    #: Survey requests per client address (``feedback_limit`` a minute).
    feedback_limiter: RateLimiter
    #: Run inside a pushed mutation's transaction before its mutator: checks of what a client
    #: may name (the attachments' hashes), which may refuse it.
    before_write: list[BeforeWrite] = field(default_factory=list)
    #: Run inside every write transaction whose mutation succeeded, before its seq is taken:
    #: work that must commit with the write (the channels queue the replies it added).
    after_write: list[AfterWrite] = field(default_factory=list)
    #: Run after such a transaction committed: work a rollback must not see done (an erasure's
    #: attachment files, removed by the channels).
    after_commit: list[AfterCommit] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    #: Last time (monotonic) each token's ``last_used_at`` was written.
    token_used: dict[str, float] = field(default_factory=dict)
    #: What other packages keep with the app (the channels' service), by name.
    extensions: dict[str, Any] = field(default_factory=dict)

    def apply_as(self, actor: Actor, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A write the server makes itself (a channel, a survey answer), with this app's hooks,
        waking the clients after it commits."""
        return apply_as(
            self.database,
            actor,
            name,
            args,
            poke=self.events.poke,
            after_write=self.after_write,
            after_commit=self.after_commit,
        )


def server_state(request: Request) -> ServerState:
    """The state of the app serving ``request``."""
    return cast(ServerState, request.app.state.server)


async def _state_of(request: Request) -> ServerState:
    # async: FastAPI runs a plain function dependency in a worker thread, a hop there and back
    return server_state(request)


State = Annotated[ServerState, Depends(_state_of)]
