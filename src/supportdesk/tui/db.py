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

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace


class ConsoleDB:
    def __init__(self, workspace: Workspace, *, size: int = 4) -> None:
        self.workspace = workspace
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

    @contextmanager
    def local(self) -> Iterator[sqlite3.Connection]:
        """A writable connection for local-only rows (drafts, seen marks), closed afterwards."""
        connection = self.workspace.connect()
        try:
            yield connection
        finally:
            connection.close()

    def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._all.clear()
