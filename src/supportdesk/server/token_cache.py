"""What each bearer token is worth, remembered for a few seconds per server process.

Every request names its token; looking it up costs two queries (the token with its agent, then
the agent's groups), two round trips to PostgreSQL, more than many requests cost otherwise. On
PostgreSQL a process keeps the answer for a working token ``ttl`` seconds (``--token-cache``),
and forgets every answer at once when a token or an agent changes:

- in the process that made the change, before its answer goes out (a token revoked through
  ``POST /v1/admin/tokens/revoke`` is refused by the very next request there);
- in every other process serving the same PostgreSQL database, when the ``tokens`` event its
  transaction NOTIFYed arrives (milliseconds; the revocation and the event commit together), also
  from ``supportdesk server token revoke`` and ``server agent update`` run anywhere;
- otherwise (a NOTIFY lost while the listener reconnected — reconnecting clears it too) after
  at most ``ttl`` seconds.

On SQLite nothing is cached: a check is a read of a local file, and a revocation made by a
command in another process could tell the server nothing, yet must work at once.

Refusals are never cached (a token created a moment ago works at once), and a cached token past
its ``expires_at`` is looked up again, so expiry is exact. A lookup that began before a clear is
not stored after it, so a revocation racing a request cannot leave a stale answer behind.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from supportdesk.server.tokens import TokenCheck

#: Seconds a working token's check is reused (the bound on a revocation nobody was told about).
TTL = 5.0
#: Checks kept at most; past it the cache starts over (tokens are few; this bounds a flood).
MAX_ENTRIES = 10_000


class TokenCache:
    """Working tokens' checks by token hash (thread-safe; one per server process)."""

    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, TokenCheck]] = {}
        self._lock = threading.Lock()
        #: Bumped by every clear: a lookup stores its answer only if none happened meanwhile.
        self.generation = 0

    def get(self, token_hash: str, now: datetime) -> TokenCheck | None:
        """The remembered check of a working token, None when it must be looked up."""
        if self.ttl <= 0:
            return None
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

    def put(self, token_hash: str, check: TokenCheck, generation: int) -> None:
        """Remember a working token's check, looked up since ``generation`` was read."""
        if self.ttl <= 0 or check.actor is None:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = (time.monotonic(), check)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.generation += 1

    def __len__(self) -> int:
        return len(self._entries)
