"""Limits every request obeys: body size (413), a request rate per token and a rate of failed
sign-ins per client address (429)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is answered 413 before it is read whole.

    ``by_path`` gives single endpoints their own limit (a raw mail may be larger than a push); a
    key ending in ``/`` covers every path under it (``/v1/blobs/``: a file's upload).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        by_path: dict[str, int] | None = None,
        pages: dict[str, Callable[[Scope], ASGIApp]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.by_path = dict(by_path or {})
        #: path -> the page a person's browser gets instead of the JSON answer (``pages`` is
        #: read at each refusal: the help center registers its form's page after start-up)
        self.pages = pages if pages is not None else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.by_path.get(path) or next(
            (size for prefix, size in self.by_path.items() if prefix.endswith("/") and path.startswith(prefix)),
            self.max_bytes,
        )
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        page = self.pages.get(scope.get("path", ""))
        if page is not None:
            await page(scope)(scope, receive, send)
            return
        body = orjson.dumps(
            {
                "error": {
                    "code": "too_large",
                    "message": f"the request body is larger than {limit} bytes",
                    "field": "body",
                }
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Admission:
    """One request's place in its bucket: ``wait`` seconds before it may go (0: now), and what
    the ``RateLimit-*`` headers say — the burst, what is left of it, the seconds until it is full."""

    wait: float
    limit: int
    remaining: int
    reset: float
    limited: bool = True

    def headers(self) -> list[tuple[bytes, bytes]]:
        if not self.limited:
            return []
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(math.ceil(self.reset)).encode()),
        ]


class RateLimitHeaders:
    """ASGI middleware: every answer to a request with a rate-limited token says where it stands
    (``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset``; the IETF draft's names),
    including the 429 that refuses it (which also carries ``Retry-After``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                admission = (scope.get("state") or {}).get("rate_limit")
                if isinstance(admission, Admission):
                    message["headers"] = [*message.get("headers", []), *admission.headers()]
            await send(message)

        await self.app(scope, receive, with_headers)


class RateLimiter:
    """A token bucket per key (an API token, a client address): ``rate`` a second, bursts up to
    ``burst``. Keys whose bucket is full again are forgotten once there are more than
    ``max_keys``, so a flood of new addresses cannot grow the table without bound."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - stamp) * self.rate)

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        return self.admit(key).wait

    def admit(self, key: str, *, rate: float | None = None, burst: int | None = None) -> Admission:
        """Take one request from ``key``'s bucket; ``rate`` and ``burst`` override the limiter's
        own for this key (a token with a limit of its own)."""
        rate = self.rate if rate is None else rate
        burst = self.burst if burst is None else burst
        if rate <= 0:
            return Admission(0.0, 0, 0, 0.0, limited=False)
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - stamp) * rate)
            if tokens >= 1.0:
                tokens -= 1.0
                self._buckets[key] = (tokens, now)
                self._prune(now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / rate
        return Admission(wait, burst, int(tokens), (burst - tokens) / rate)

    def wait(self, key: str) -> float:
        """The seconds until ``key`` may go ahead again (0: now), without taking anything."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            if key not in self._buckets:
                return 0.0
            tokens = self._level(key, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= self.max_keys:
            return
        for key in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[key]
        if len(self._buckets) > self.max_keys:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in by_age[: len(by_age) - self.max_keys // 2]:
                del self._buckets[key]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
