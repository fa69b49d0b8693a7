"""The threads pushes run on: a plain executor of a few threads, sized to the database pool.

Why not FastAPI's ``run_in_threadpool`` (anyio's pool of 40 threads): with a hundred clients
pushing at once, forty threads ran pushes together on two cores while the pool lends twenty
connections. Every one of them competes for the GIL, and a push that holds the seq counter row
(from its ``UPDATE counter`` to its commit, every other push waiting on it) waits for the GIL
too before it can send its commit — so the counter was held for the GIL's turns, not for the
database's work. Here pushes beyond the executor's threads wait in its queue (no connection
checked out, no lock held), and the few that run get the GIL sooner. anyio's hop also costs
more: a ``queue.Queue`` (a ``Condition`` per put and get) and a capacity limiter on every call,
where :class:`~concurrent.futures.ThreadPoolExecutor` hands work over through a ``SimpleQueue``.

The push still runs in the request's context (the request id its log lines carry). A request
whose client left before its push started never starts it; one already running finishes
(committed or not, the client's retry is answered from the stored results: exactly once).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from supportdesk.server.state import ServerState

T = TypeVar("T")

KEY = "push_threads"

#: Threads when the database's pool does not say (SQLite serves one writer at a time anyway).
DEFAULT_THREADS = 8


def install(state: ServerState) -> None:
    """Give ``state`` its push executor, started and shut down with the app."""

    def start(_state: ServerState) -> Callable[[], None]:
        executor = ThreadPoolExecutor(max_workers=threads_for(state), thread_name_prefix="push")
        state.extensions[KEY] = executor
        return partial(executor.shutdown, wait=False, cancel_futures=True)

    state.workers.append(start)


def threads_for(state: ServerState) -> int:
    """As many threads as the pool keeps connections (``serve --pool-size``), at least two."""
    size = getattr(state.database.engine.pool, "size", None)
    return max(2, int(size())) if callable(size) else DEFAULT_THREADS


async def run_push(state: ServerState, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on the push executor, in a copy of the caller's context; on anyio's
    pool when the app has none (an app not started through its lifespan)."""
    executor: ThreadPoolExecutor | None = state.extensions.get(KEY)
    if executor is None:
        from fastapi.concurrency import run_in_threadpool

        return await run_in_threadpool(function, *args)
    context = contextvars.copy_context()
    try:
        future = executor.submit(context.run, function, *args)
    except RuntimeError:  # "cannot schedule new futures after shutdown": the server is stopping
        raise _stopping() from None
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        # the shutdown cancelled it in the queue (``cancel_futures``), not its client: it never
        # started, nothing of it was written, and the client is told to come back
        task = asyncio.current_task()
        if future.cancelled() and task is not None and not task.cancelling():
            raise _stopping() from None
        raise


def _stopping() -> Exception:
    """A push the stopping server will not run: a 503 the sync client keeps its outbox for and
    sends again (a 500 before, the executor's ``RuntimeError`` reported as a bug of ours)."""
    from supportdesk.server.errors import ApiError

    return ApiError(503, "unavailable", "the server is stopping: push again shortly", retry_after=STOPPING_RETRY)


#: Seconds a push refused by a stopping server is told to wait (a restart takes a few).
STOPPING_RETRY = 5.0
