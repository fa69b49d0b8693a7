"""After-commit work that failed: logged and counted, never turned into an error answer.

Once a write has committed, its answer must say so: a client that reads a 500 treats the
committed mutations as failed (a console keeps them pending and pushes them again, which only
replays the stored answer; a REST caller may write again under a new key). So a hook that raises
after the commit (an erasure's file removal, a webhook wake-up, a metrics counter, the poke) is
reported here — at ERROR in the ``supportdesk.server.after_commit`` log with the write's
reference (``<client>:<mutation id>`` for a push, ``api:…`` for a REST write, ``server:…`` for
the server's own) — and counted for ``/metrics``
(``supportdesk_after_commit_failures_total``), and the request answers what committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

log = logging.getLogger("supportdesk.server.after_commit")

_lock = threading.Lock()
_counts: dict[str, int] = {}


def report(step: Callable[..., Any], ref: str, error: BaseException) -> None:
    """Log one failed after-commit step (with its traceback) and count it by the step's name."""
    from supportdesk.server.request_log import current_id

    name = step_name(step)
    request = current_id()
    log.error(
        "after-commit step %s failed for %s%s: %s",
        name,
        ref or "(no reference)",
        f" (request {request})" if request else "",
        error,
        exc_info=error,
    )
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1


def counts() -> dict[str, int]:
    """Failures so far in this process, by step name (a fixed set: our hooks' qualified names)."""
    with _lock:
        return dict(_counts)


def step_name(step: Callable[..., Any]) -> str:
    """A hook's qualified name (``Metrics.after_commit``), through any ``partial``: a metrics
    label our code fixes, never a request."""
    while isinstance(step, partial):
        step = step.func
    return str(getattr(step, "__qualname__", None) or type(step).__name__)
