"""What each bearer token is worth, remembered per server process.

Every request names its token; looking it up costs two queries (the token with its agent, then
the agent's groups) — on SQLite about a tenth of a REST create's CPU, on PostgreSQL two round
trips. A process keeps the check of a working token and forgets every check at once when a
token or an agent may have changed. What tells it differs by backend:

- **SQLite** (always on): the database's ``token_version``, a number its own triggers raise on
  every change to ``api_token`` (but ``last_used_at``), ``agent`` and ``agent_group``, whoever
  writes — this process, ``supportdesk server token revoke`` or ``server agent update`` in
  another one, a hand-made ``sqlite3`` session (:mod:`supportdesk.store.token_version`). Every
  request reads that number first on a connection of its own (:class:`VersionReader`, one
  indexed row, some microseconds); when it moved, every check is forgotten. So a revocation,
  deactivation, role or group change committed by anyone is honoured by the **next request**
  that starts after its commit. A cached check is kept at most :data:`VERSIONED_TTL` seconds.
- **PostgreSQL** (``serve --token-cache`` seconds, :data:`TTL` by default; 0 turns it off):
  reading a number would be one more round trip, so a process instead forgets its checks when
  the ``tokens`` event a change's transaction NOTIFYed arrives (milliseconds; the change and the
  event commit together; the process that made the change forgets before its answer goes out),
  also from ``server token revoke`` and ``server agent update`` run anywhere, and from a change
  typed into ``psql``: the trigger function that raises ``token_version`` sends the event too;
  otherwise (a NOTIFY lost while the listener reconnected — reconnecting clears it too) after at
  most ``ttl`` seconds.

On both, refusals are never cached (a token created a moment ago works at once; a forged or
unknown one is looked up every time, and throttled by address), and a cached token past its
``expires_at`` is looked up again, so expiry is exact. A lookup that began before a clear, or
that read a different ``token_version`` than the cache holds, is not stored, so a revocation
racing a request cannot leave a stale answer behind.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from supportdesk.server.tokens import TokenCheck
from supportdesk.store.token_version import READ

#: Seconds a working token's check is reused on PostgreSQL (``serve``'s default; the bound on a
#: revocation nobody was told about). Without it every request paid a pool checkout, a thread hop
#: and three round trips for its token (on a push of one, a fifth of its round trips).
TTL = 5.0
#: Seconds a check is kept where every request asks ``token_version`` (SQLite).
VERSIONED_TTL = 300.0
#: Checks kept at most; past it the cache starts over (tokens are few; this bounds a flood).
MAX_ENTRIES = 10_000


class VersionReader:
    """``token_version`` read on a SQLite connection of its own (thread-safe): each read is its
    own transaction in autocommit mode, so it sees every commit made before it began. It never
    waits (the event loop reads it): a read the file cannot serve at once (a rare ``SQLITE_BUSY``)
    answers None, and the request is then checked in the database in a worker thread."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, timeout=0, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA query_only=ON")
        self._lock = threading.Lock()

    def __call__(self) -> int | None:
        """The number now; None when it cannot be read (the caller then caches nothing)."""
        with self._lock:
            try:
                # fetchall steps the statement to its end: no read snapshot outlives the call
                rows = self._connection.execute(READ).fetchall()
            except sqlite3.Error:
                return None
        return int(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class TokenCache:
    """Working tokens' checks by token hash (thread-safe; one per server process).

    With ``version`` (a :class:`VersionReader`), :meth:`get` reads it first and forgets every
    check when it moved, and :meth:`put` stores only a check read at the number the cache holds.
    """

    def __init__(self, ttl: float = TTL, version: Callable[[], int | None] | None = None) -> None:
        self.ttl = ttl
        self.version = version
        self._entries: dict[str, tuple[float, TokenCheck]] = {}
        self._lock = threading.Lock()
        #: Bumped by every clear: a lookup stores its answer only if none happened meanwhile.
        self.generation = 0
        #: The ``token_version`` the entries were read at (with ``version``).
        self._seen: int | None = None

    def get(self, token_hash: str, now: datetime) -> TokenCheck | None:
        """The remembered check of a working token, None when it must be looked up."""
        if self.ttl <= 0:
            return None
        if self.version is not None:
            current = self.version()
            if current is None:
                return None
            with self._lock:
                if current != self._seen:
                    self._forget()
                    self._seen = current
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            stored_at, check = entry
            expired = check.expires_at is not None and check.expires_at <= now
            if expired or time.monotonic() - stored_at >= self.ttl:
                del self._entries[token_hash]
                return None
            return check

    def put(self, token_hash: str, check: TokenCheck, generation: int, version: int | None = None) -> None:
        """Remember a working token's check, looked up since ``generation`` was read (and, with
        a version reader, at ``token_version`` ``version``)."""
        if self.ttl <= 0 or check.actor is None:
            return
        with self._lock:
            if generation != self.generation:
                return
            if self.version is not None and (version is None or version != self._seen):
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = (time.monotonic(), check)

    def clear(self) -> None:
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._entries.clear()
        self.generation += 1

    def __len__(self) -> int:
        return len(self._entries)
