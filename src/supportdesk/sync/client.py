"""The HTTP side of the sync client: one small method per endpoint of the team server.

Failures become three exceptions a caller can act on: :class:`Offline` (the server cannot be
reached: retry later), :class:`AuthFailed` (the token is wrong or revoked: log in again) and
:class:`ServerRefused` (a 4xx with the server's JSON error, naming the field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from supportdesk import protocol
from supportdesk.sync.errors import SyncError

__all__ = ["AuthFailed", "Offline", "ServerClient", "ServerRefused", "SyncError", "check"]


class Offline(SyncError):
    pass


class AuthFailed(SyncError):
    pass


class ServerRefused(SyncError):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message") or f"the server answered {status}"))
        self.status = status
        self.code = str(error.get("code", "error"))
        self.field = error.get("field")
        self.error = error


class ServerClient:
    """A connection to one team server with one agent's token."""

    def __init__(
        self, url: str, token: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._me: dict[str, Any] | None = None
        self.http = httpx.Client(
            base_url=self.url,
            transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "supportdesk-sync"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise Offline(f"cannot reach {self.url}: {_reason(error)}") from None
        check(response, self.url)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        if "json" in kwargs:
            kwargs["content"] = orjson.dumps(kwargs.pop("json"))
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return orjson.loads(self._request(method, path, **kwargs).content)

    # --- endpoints --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/v1/health")
        return result

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/v1/me")
        self._me = result
        return result

    def whoami(self) -> dict[str, Any]:
        """The token's agent (``me``), asked once per client: a token's agent never changes."""
        return self._me if self._me is not None else self.me()

    def push(self, client_id: str, mutations: list[dict[str, Any]]) -> protocol.PushResponse:
        body = {"client_id": client_id, "schema_version": protocol.SCHEMA_VERSION, "mutations": mutations}
        return protocol.PushResponse.model_validate(self._json("POST", "/v1/push", json=body))

    def pull(self, cursor: int, client_id: str, limit: int = protocol.DEFAULT_PAGE) -> protocol.PullResponse:
        params = {"cursor": cursor, "limit": limit, "client_id": client_id}
        return protocol.PullResponse.model_validate(self._json("GET", "/v1/pull", params=params))

    def rows(self, keys: list[tuple[str, list[Any]]]) -> list[protocol.RowState]:
        states: list[protocol.RowState] = []
        for start in range(0, len(keys), protocol.MAX_ROW_KEYS):
            chunk = [{"table": table, "key": key} for table, key in keys[start : start + protocol.MAX_ROW_KEYS]]
            response = protocol.RowsResponse.model_validate(self._json("POST", "/v1/rows", json={"keys": chunk}))
            states.extend(response.rows)
        return states

    def presence(self, ticket_id: str, state: str) -> None:
        self._request("POST", "/v1/presence", json={"ticket_id": ticket_id, "state": state})

    def bootstrap(self, table: str | None = None, after: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        """The bootstrap stream, one decoded NDJSON line at a time."""
        params: dict[str, str] = {}
        if table is not None:
            params["table"] = table
        if after is not None:
            params["after"] = json.dumps(after)
        try:
            with self.http.stream("GET", "/v1/bootstrap", params=params, timeout=httpx.Timeout(120.0)) as response:
                if response.status_code >= 400:
                    response.read()
                    check(response, self.url)
                for line in response.iter_lines():
                    if line:
                        yield orjson.loads(line)
        except httpx.TransportError as error:
            raise Offline(f"the bootstrap from {self.url} was cut: {_reason(error)}") from None

    def events(self, read_timeout: float = 60.0, *, records: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
        """Server-Sent Events as ``(event, data)``; keep-alives are yielded as ``("keep-alive", {})``.

        ``records``: ask for pokes that carry the new records (``{from, seq, scope, changes}``,
        see :func:`supportdesk.sync.engine.apply_poke`); a server that ignores it sends plain pokes.
        """
        timeout = httpx.Timeout(10.0, read=read_timeout)
        params = {"records": "true"} if records else None
        try:
            with self.http.stream("GET", "/v1/events", params=params, timeout=timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    check(response, self.url)
                event, data = "message", ""
                for line in _lines(response.iter_text(), self.url):
                    if line.startswith(":"):
                        yield "keep-alive", {}
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                        if len(data) > EVENT_MAX:
                            raise SyncError(f"{self.url} sent an event larger than {EVENT_MAX:,} characters")
                    elif not line:
                        if data:
                            yield event, orjson.loads(data)
                        event, data = "message", ""
        except httpx.TransportError as error:
            raise Offline(f"lost the live connection to {self.url}: {_reason(error)}") from None


#: The most characters one line or one event of the event stream may hold: the server's pokes
#: carry at most 16 KB of records and presence a few hundred bytes. A stream past it (one line
#: with no end, ``data:`` lines with no blank line) is ended: it grew in memory as long as it went.
EVENT_MAX = 1 << 20
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _lines(chunks: Iterator[str], url: str) -> Iterator[str]:
    """The lines of an event stream (``\r\n``, ``\r`` or ``\n`` ends one, as in
    ``iter_lines``), none longer than :data:`EVENT_MAX`. Each chunk is searched once and an
    unfinished line kept in pieces: joined and split again at every chunk, a line trickled a
    character at a time cost work quadratic in its length (minutes of CPU for 1 MiB)."""
    pieces: list[str] = []
    size = 0
    after_cr = False  # the last chunk ended with \r: a \n opening this one ends no second line
    for chunk in chunks:
        if not chunk:
            continue
        if after_cr and chunk.startswith("\n"):
            chunk = chunk[1:]
        after_cr = chunk.endswith("\r")
        lines = _NEWLINE.split(chunk)
        if len(lines) > 1:
            pieces.append(lines[0])
            yield "".join(pieces)
            yield from lines[1:-1]
            pieces, size = [lines[-1]], len(lines[-1])
        else:
            pieces.append(chunk)
            size += len(chunk)
        if size > EVENT_MAX:
            raise SyncError(f"{url} sent an event larger than {EVENT_MAX:,} characters")
    if size:
        yield "".join(pieces)


def check(response: httpx.Response, url: str) -> None:
    """Raise the matching :class:`SyncError` for a failed response."""
    if response.status_code < 400:
        return
    try:
        error = orjson.loads(response.content).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        error = {}
    if response.status_code == 401 or (response.status_code == 403 and error.get("code") in ("unauthenticated", None)):
        raise AuthFailed(f"{url} refused the token: {error.get('message', 'unauthorized')}; run 'supportdesk login'")
    if response.status_code == 429:
        raise Offline(f"{url} asks to slow down (retry after {response.headers.get('Retry-After', '?')} s)")
    if response.status_code >= 500:
        raise Offline(f"{url} failed ({response.status_code}): {error.get('message', 'server error')}")
    raise ServerRefused(response.status_code, error or {"message": f"{url} answered {response.status_code}"})


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
