"""The console's connections to the workspace: a small pool of plain ``sqlite3`` readers.

Thread workers borrow a connection for one query and give it back, so pages, counts and ticket
loads run side by side (WAL lets readers proceed while a writer commits) without a connection
per thread or a lock around one shared connection. Local-only rows (drafts, seen marks) are
written through :meth:`ConsoleDB.local`; shared data is only ever written by mutations.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from supportdesk.store import reads

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace


class ConsoleDB:
    def __init__(self, workspace: Workspace, *, size: int = 4) -> None:
        self.workspace = workspace
        self._watch = workspace.connect(readonly=True)
        self._watch_lock = threading.Lock()
        self._seen_version = self._version()
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._size = size
        self._opened = 0
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection for the duration of the block."""
        connection = self._borrow()
        try:
            yield connection
        finally:
            if connection.in_transaction:
                connection.rollback()
            self._idle.put(connection)

    def _borrow(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            can_open = self._opened < self._size
            self._opened += can_open
        if can_open:
            connection = self.workspace.connect(readonly=True)
            connection.execute("PRAGMA cache_size=-16384")
            self._all.append(connection)
            return connection
        return self._idle.get()

    # --- noticing other writers -----------------------------------------------------------

    def _version(self) -> int:
        return reads.data_version(self._watch)

    def changed_elsewhere(self) -> bool:
        """Whether anyone committed since the last call (SQLite's ``data_version``: microseconds).

        Our own draft and "seen" writes are not news (see :meth:`local`); our mutations are, so
        the screens re-read after them like after anyone else's.
        """
        if not self._watch_lock.acquire(blocking=False):
            return False  # a local write is committing: look again at the next poll
        try:
            version = self._version()
            changed, self._seen_version = version != self._seen_version, version
        finally:
            self._watch_lock.release()
        return changed

    @contextmanager
    def local(self) -> Iterator[sqlite3.Connection]:
        """A writable connection for local-only rows (drafts, seen marks), closed afterwards.

        The commit is absorbed into the change counter when nobody else committed meanwhile, so
        saving a draft while typing does not make every screen re-read the store.
        """
        connection = self.workspace.connect()
        try:
            with self._watch_lock:
                before = self._version()
                yield connection
                after = self._version()
                if before == self._seen_version and after == before + 1:
                    self._seen_version = after
        finally:
            connection.close()

    def close(self) -> None:
        self._watch.close()
        for connection in self._all:
            connection.close()
        self._all.clear()
