"""Run a producer of batches in a forked child process while this one consumes them.

The 1M demo spends most of its row phase making rows in Python and the rest in SQLite inserting
them; one process does one after the other on one core. A thread would not overlap them: the
generator holds the GIL, and the writer needs it back after every row SQLite steps. A forked
child makes the batches (it starts with this process's memory, so the generator's state and
random streams are simply there) and sends them pickled down a pipe; the parent inserts a batch
while the child makes the next. The pipe holds about one batch, so the child runs at most a
batch or two ahead and memory stays bounded.

Clean failures: an exception in the child comes back as :class:`ProducerFailed` with its
traceback; a child that dies without a word (killed) raises it too; when the consumer stops early
(its own error, Ctrl-C, ``close()``), the child is terminated and reaped before the error goes on.
The child ignores SIGINT, which the terminal sends to the whole process group: the parent decides.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable, Generator, Iterator
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ProducerFailed(RuntimeError):
    """The child making the batches raised or died."""


def available() -> bool:
    """Whether this platform can fork (not Windows); without it the caller produces in-process."""
    return "fork" in multiprocessing.get_all_start_methods()


def forked(produce: Callable[[], Iterator[T]], finish: Callable[[], R]) -> Generator[T, None, R]:
    """Yield what ``produce()`` yields, made in a forked child, then return what ``finish()``
    returns in the child after the last batch (the producer's final state, e.g. random streams).

    Close the generator (``contextlib.closing``) when stopping early: that ends the child.
    """
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    # not a daemon: a daemon may not fork, and a producer may itself read from a forked one
    child = context.Process(target=_child, args=(produce, finish, sending, receiving), name="demo-producer")
    child.start()
    sending.close()  # the child's copy stays open: EOF here means the child is gone
    try:
        while True:
            try:
                kind, payload = receiving.recv()
            except EOFError:
                child.join()
                raise ProducerFailed(
                    f"the producer process ended without finishing (exit code {child.exitcode})"
                ) from None
            if kind == "batch":
                yield payload
            elif kind == "error":
                raise ProducerFailed(f"the producer process failed:\n{payload}")
            else:
                child.join()
                return payload  # type: ignore[no-any-return]
    finally:
        receiving.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _terminated(_signal: int, _frame: object) -> None:
    raise SystemExit(1)


def _child(
    produce: Callable[[], Iterator[object]], finish: Callable[[], object], sending: Connection, theirs: Connection
) -> None:
    # The fork copied the parent's end of the pipe: keep it open here and a write to a parent that
    # stopped reading would block for ever instead of failing (this process would be its reader).
    theirs.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # terminate() as an exception: the producer's own clean-up runs (it may have a child too)
    signal.signal(signal.SIGTERM, _terminated)
    batches = produce()
    try:
        for batch in batches:
            sending.send(("batch", batch))
        sending.send(("done", finish()))
    except Exception:  # reported to the parent, which raises it; not SystemExit (terminated)
        # OSError: the parent stopped reading; it is ending this process anyway
        with suppress(OSError):
            sending.send(("error", traceback.format_exc()))
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
        sending.close()
