"""Deadlines for reading a request: its headers within ``header_timeout`` seconds, then its body
within ``body_timeout``.

uvicorn waits for a request's headers and body as long as the client keeps the connection open,
so a client that sends a byte now and then (or nothing at all after connecting) holds a
connection, and a slot of the server, for ever. :func:`protocol_with_deadlines` makes a uvicorn
HTTP protocol that starts a timer when a connection opens (and when a new request's first bytes
arrive on a kept-alive one), and another when the headers are complete and a body follows. A
client that misses a deadline gets ``408`` with the usual JSON error (when the server has not
answered yet) and the connection is closed. Answers that take long — an event stream, a large
bootstrap — are not affected: the deadlines end with the request's last byte.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("supportdesk.server")


def _timeout_response(what: str, seconds: float) -> bytes:
    body = orjson.dumps(
        {
            "error": {
                "code": "timeout",
                "message": f"the request's {what} did not arrive within {seconds:g} s",
                "field": what,
            }
        }
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines (set on subclasses by :func:`protocol_with_deadlines`)."""

    header_timeout: float = 0.0
    body_timeout: float = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None

    def _arm(self, what: str, seconds: float) -> None:
        self._disarm()
        if seconds > 0:
            self._waiting_for = what
            self._deadline = self.loop.call_later(seconds, self._expired, what, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._waiting_for = None

    def _follow(self) -> None:
        """Arm, move or drop the deadline after what the client sent so far."""
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._waiting_for != "headers":
                self._arm("headers", self.header_timeout)
        elif state is h11.SEND_BODY:
            if self._waiting_for != "body":
                self._arm("body", self.body_timeout)
        else:
            self._disarm()

    def _expired(self, what: str, seconds: float) -> None:
        self._deadline = None
        self._waiting_for = None
        if self.transport is None or self.transport.is_closing():
            return
        log.info("closed a connection from %s: its %s did not arrive within %g s", self._peer(), what, seconds)
        answered = self.cycle is not None and self.cycle.response_started
        if not answered:
            self.transport.write(_timeout_response(what, seconds))
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()

    def _peer(self) -> str:
        return self.client[0] if self.client else "an unknown address"

    # --- the events of the connection --------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers", self.header_timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.transport.is_closing():
            self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Between requests uvicorn's keep-alive timeout applies; ours starts with the next bytes.
        if self.conn.their_state is h11.IDLE and self._waiting_for == "headers":
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_with_deadlines(header_timeout: float, body_timeout: float) -> type[DeadlineProtocol]:
    """A uvicorn ``http`` protocol class with these deadlines (seconds; 0: none)."""
    return type(
        "Deadlines",
        (DeadlineProtocol,),
        {"header_timeout": float(header_timeout), "body_timeout": float(body_timeout)},
    )
