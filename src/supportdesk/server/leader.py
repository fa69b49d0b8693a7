"""Work that one process does for all: the SMTP listener and the IMAP fetchers on PostgreSQL.

Several processes serve one PostgreSQL database (``serve --workers N``, or several hosts behind a
load balancer). The outbox worker, the webhook sender and triage run in every process: each
claims its rows with a compare-and-set, so two processes never send one reply or one delivery.
The receivers cannot be shared that way: only one process can bind the SMTP port, and N
fetchers polling one IMAP mailbox would each download every mail (the Message-ID claim keeps
the tickets right, but the work is wasted N times). So the process holding a PostgreSQL
session advisory lock runs them; the others try again every ``retry`` seconds. The lock lives
as long as its connection: when its process dies (or loses the database), PostgreSQL releases
it and another process takes the receivers over within ``retry`` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: The advisory lock's key: 0x5d ('supportdesk') receivers, a constant every version agrees on.
RECEIVERS_LOCK = 0x5D_0001


class Leadership:
    """Run ``start`` (which returns its stop) while this process holds the advisory ``key``."""

    def __init__(
        self, url: str, start: Callable[[], Callable[[], None]], *, key: int = RECEIVERS_LOCK, retry: float = 5.0
    ) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.key = key
        self.retry = retry
        self._start = start
        self._stop_work: Callable[[], None] | None = None
        self._connection: Any = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._stop_work is not None

    def start(self) -> Callable[[], None]:
        """Try at once (a single server leads before it answers its health check), then keep
        trying in a thread; returns :meth:`stop`."""
        self._round()
        self._thread = threading.Thread(target=self._run, name="supportdesk-leader", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._resign()

    def _run(self) -> None:
        while not self._stopping.wait(self.retry):
            self._round()

    def _round(self) -> None:
        """Lead if the lock is free; keep leading only while its connection lives."""
        import psycopg

        try:
            if self._connection is None:
                self._connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            if self.leading:
                self._connection.execute("SELECT 1")
                return
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as error:
            log.warning("the receivers' lock connection failed (%s); trying again", str(error).splitlines()[0])
            self._resign()
            return
        if row and row[0]:
            log.info("this process runs the SMTP listener and the IMAP fetchers")
            try:
                self._stop_work = self._start()
            except Exception:
                log.exception("starting the receivers failed; another process may take them")
                self._resign()

    def _resign(self) -> None:
        """Stop the work, then let the lock go (closing its connection releases it)."""
        stop, self._stop_work = self._stop_work, None
        if stop is not None:
            try:
                stop()
            except Exception:
                log.exception("stopping the receivers failed")
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already gone with the database
                log.debug("closing the receivers' lock connection failed", exc_info=True)
