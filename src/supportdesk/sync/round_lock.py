"""One sync round at a time per workspace, across every process that opens it.

Two rounds on one workspace (the console's background sync and ``supportdesk sync``, say) used to
interleave: the older one wrote the rows it had pulled over the newer one's and left the cursor
past them, so the replica stayed wrong for good. Every round — a push, a pull and its rebase, a
bootstrap, ``login`` filling a workspace — now holds an exclusive ``flock`` on
``<workspace>/sync.lock`` for its whole length.

Why ``flock`` on an open file (and not a lock file created and deleted, nor a row in the
store): the kernel releases it when its holder dies, however it dies (a SIGKILL, a power cut of
the process), so no stale lock ever needs breaking; two threads of one process exclude each other
too (each opens its own file description). The file stays in place between rounds: deleting it
would let a waiter lock a file nobody else can see. Its contents only say who holds it (pid,
what, since when), for the "waiting for …" line.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from supportdesk.sync.errors import SyncError

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace

LOCK_NAME = "sync.lock"
#: How long ``supportdesk sync`` and ``login`` wait for a round already running, by default.
DEFAULT_WAIT = 120.0


class SyncBusy(SyncError):
    """Another sync round held the workspace for longer than the caller would wait."""


class SyncCancelled(SyncError):
    """The caller stopped waiting for the workspace (the console is closing)."""


def lock_path(workspace: Workspace | Path) -> Path:
    root = workspace if isinstance(workspace, Path) else workspace.root
    return root / LOCK_NAME


def holder(workspace: Workspace | Path) -> str:
    """Who holds (or last held) the lock, as a short phrase: ``pid 4242 (console, since 12:00:03)``."""
    try:
        info = json.loads(lock_path(workspace).read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    return f"pid {info['pid']} ({info.get('what', 'sync')}, since {info.get('since', '?')})"


@contextlib.contextmanager
def sync_round(
    workspace: Workspace | Path,
    what: str,
    *,
    wait: float | None = DEFAULT_WAIT,
    on_wait: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Hold the workspace's sync lock for the ``with`` block.

    ``wait`` is how many seconds to wait for a round already running (None: as long as it takes,
    unless ``cancelled()`` turns true); ``on_wait`` hears once who is being waited for. Raises
    :class:`SyncBusy` when the wait runs out, :class:`SyncCancelled` when cancelled.
    """
    path = lock_path(workspace)
    descriptor = _open(path)
    try:
        _acquire(descriptor, path, wait=wait, on_wait=on_wait, cancelled=cancelled)
        try:
            _describe(descriptor, what)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _open(path: Path) -> int:
    """The lock file, never through a symbolic link (``_describe`` truncates what it opens)."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as error:
        raise SyncError(
            f"cannot use the sync lock {path}: {error.strerror or error} (remove it; it is remade)"
        ) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise SyncError(f"{path} is not a plain file: remove it (the sync lock is remade)")
    return descriptor


def running(workspace: Workspace | Path) -> str | None:
    """Who is running a sync round on ``workspace`` right now (None: nobody), without waiting."""
    try:
        descriptor = os.open(lock_path(workspace), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder(workspace)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return None
    finally:
        os.close(descriptor)


def _acquire(
    descriptor: int,
    path: Path,
    *,
    wait: float | None,
    on_wait: Callable[[str], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    deadline = None if wait is None else time.monotonic() + wait
    pause = 0.005
    told = False
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        who = holder(path.parent)
        if not told:
            told = True
            if on_wait is not None:
                on_wait(who)
        if cancelled is not None and cancelled():
            raise SyncCancelled("stopped waiting for the sync round of " + who)
        if deadline is not None and time.monotonic() >= deadline:
            raise SyncBusy(
                f"another sync of {path.parent} is running ({who}) and did not end within {wait:g} s: "
                "try again when it has ended, or wait longer with --wait SECONDS"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _describe(descriptor: int, what: str) -> None:
    from supportdesk.store.times import utcnow

    text = json.dumps({"pid": os.getpid(), "what": what, "since": utcnow().strftime("%H:%M:%S")})
    with contextlib.suppress(OSError):
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, text.encode(), 0)
