"""Retrying a write transaction while another process holds SQLite's write lock.

A user never sees "database is locked": the write path tries again with a growing pause
(:func:`supportdesk.domain.write.apply_many`, and a ``batch``'s group commit when it opens its
transaction, :mod:`supportdesk.domain.group_commit`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

LOCK_RETRIES = 8


def locked(error: Exception) -> bool:
    return "database is locked" in str(error) or "database is busy" in str(error)


def with_retries(work: Callable[[], Any]) -> Any:
    from sqlalchemy.exc import OperationalError

    delay = 0.05
    for attempt in range(LOCK_RETRIES):
        try:
            return work()
        except OperationalError as error:
            if not locked(error) or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")  # pragma: no cover
