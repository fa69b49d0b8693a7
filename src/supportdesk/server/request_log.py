"""One log line per HTTP request, and a request id that follows the request into its other lines.

An operator reading ``journalctl -u supportdesk`` needs to see each request (who, what, how it
ended, how long it took) and to tie an error line, such as an after-commit failure or a 500, to
the request that caused it. So every request gets an id: the ``X-Request-Id`` a proxy in front
sent, when it is at most 64 letters, digits, dots, dashes and underscores, or a new one. The id
is answered in ``X-Request-Id``, held in a context variable for the request's own log lines
(:func:`current_id`; FastAPI's worker threads run in a copy of the request's context), is part
of a REST write's audit reference (``api:<request id>:<token id>:<token name>``), and is written
in the request's line at INFO on ``supportdesk.server.requests``::

    request id=0192f… method=POST path=/v1/push status=200 ms=3.1 agent=ada token=ci-bot

Of what was asked only the route is written (``/v1/tickets/{number}``, the template that
answered, as ``/metrics`` counts it), never the values in the path, the query string or a body:
they can hold a customer's words or address (``?query=…``) or a sign-in link's token, and a log
is a copy that erasure cannot reach. Of a path no route answered only the first segment is
written (``unmatched:/wp-admin/...``: a scanner's probes are still seen). Text a client chose
(that segment, a token's or agent's name) is written with anything but printable ASCII escaped,
so a request cannot forge a second log line or send escape sequences to the operator's terminal.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any, Protocol

log = logging.getLogger("supportdesk.server.requests")

HEADER = b"x-request-id"
#: At most the length of our own ids: the id is part of a REST write's audit reference, whose
#: column (200 characters) also holds the token's name and, for a rule's action, the rule's id.
_ACCEPTED_ID = re.compile(rb"[A-Za-z0-9._-]{1,36}")
_UNSAFE = re.compile(r"[^\x21-\x7e]")
#: The longest path written; the rest is cut (a request line may be 8 KB).
PATH_CAP = 200

_current: ContextVar[str | None] = ContextVar("supportdesk_request_id", default=None)


def current_id() -> str | None:
    """The id of the request this code runs for, or None outside a request."""
    return _current.get()


def new_id() -> str:
    from supportdesk.store.ids import uuid7

    return str(uuid7())


def safe(text: str, cap: int = 80) -> str:
    """``text`` as one log field: printable ASCII kept, anything else (spaces, quotes' kin,
    line breaks, escape sequences, other scripts) as ``\\xNN``/``\\uNNNN``; cut at ``cap``."""
    text = _UNSAFE.sub(_escaped, text)
    return text if len(text) <= cap else text[:cap] + "..."


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _incoming(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == HEADER:
            return value.decode("ascii") if _ACCEPTED_ID.fullmatch(value) else None
    return None


def _who(scope: dict[str, Any]) -> str:
    """The agent and token the request authenticated as (auth puts its check in the scope's
    state), or nothing for a request that never showed a working token."""
    check = (scope.get("state") or {}).get("token")
    actor = getattr(check, "actor", None)
    if actor is None:
        return ""
    who = f" agent={safe(actor.name or str(actor.id))}"
    name = getattr(check, "name", "")
    return who + (f" token={safe(name)}" if name else "")


def _path(scope: MutableMapping[str, Any]) -> str:
    """The route template that answered; for a path no route has, ``unmatched:`` and its first
    segment only (``unmatched:/help/...``): the rest may be a secret, such as a sign-in link's
    token sent with a slash too many."""
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str):
        return safe(template, PATH_CAP)
    path = str(scope.get("path", ""))
    first, _, rest = path.lstrip("/").partition("/")
    return "unmatched:" + safe(f"/{first}" + ("/..." if rest else ""), PATH_CAP)


def path_for_log(scope: MutableMapping[str, Any]) -> str:
    """What other lines about a request may say of its path (:func:`_path`)."""
    return _path(scope)


class RequestCounter(Protocol):
    """What counts requests (:class:`.metrics.Metrics`; named here, not imported: metrics reaches
    this module through the hooks it counts)."""

    def record_request(self, method: str, route: str, status: int, seconds: float) -> None: ...


class RequestLog:
    """Pure ASGI middleware: the request id, its header, and when the request ends its line and
    its count in ``metrics`` (by the route that answered; one wrapper of ``send`` for both)."""

    def __init__(self, app: Callable[..., Awaitable[None]], metrics: RequestCounter | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or new_id()
        header = (HEADER, request_id.encode("ascii"))
        started = time.monotonic()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, sending)
        finally:
            _current.reset(token)
            seconds = time.monotonic() - started
            if self.metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.record_request(scope.get("method", ""), route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request id=%s method=%s path=%s status=%d ms=%.1f%s",
                    request_id,
                    safe(scope.get("method", ""), 12),
                    _path(scope),
                    status,
                    seconds * 1000,
                    _who(scope),
                )


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration with our loggers added (uvicorn applies it in every worker
    process): ``supportdesk.*`` at ``level`` to standard error, one line each with the time, the
    level and the logger's name. Without it our INFO lines (requests, mail accepted, refused,
    delivered) went nowhere: only uvicorn's own loggers had a handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["supportdesk"] = {
        "()": "supportdesk.server.log_format.OneRecordPerLine",
        "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
    }
    config["handlers"]["supportdesk"] = {
        "formatter": "supportdesk",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    numeric = 5 if level.lower() == "trace" else logging.getLevelName(level.upper())
    config["loggers"]["supportdesk"] = {"handlers": ["supportdesk"], "level": numeric, "propagate": False}
    return config
