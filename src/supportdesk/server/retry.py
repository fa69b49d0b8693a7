"""Running a server transaction again when PostgreSQL aborted it to break a deadlock.

On PostgreSQL two writers that lock the same rows in opposite orders deadlock: a push holding
its tickets until commit, a REST write holding the ticket it changes and then the change-log or
webhook counter, an inbound mail. PostgreSQL breaks the cycle by aborting one transaction
(``40P01 deadlock_detected``); under stricter isolation it may refuse one that cannot be ordered
(``40001 serialization_failure``). Nothing of the aborted transaction committed and nothing was
wrong with the request, so the server runs the whole transaction again from its first statement
— the caller only sees it as latency — instead of answering an error the client would have to
understand and retry itself.

One policy for every server write (:func:`retried`): only those two PostgreSQL states count
(a SQLite error never does: its single writer cannot deadlock, and its "database is locked" is a
timeout of the write turn, not an abort); at most :data:`ATTEMPTS` runs; between them a short
pause with full jitter, so the two writers that crossed do not meet again in step. The work
passed in must be the whole transaction — connect, begin, every statement, commit — and keep
nothing of a failed attempt; work after the commit (webhook wake-ups, pokes, files) belongs
after :func:`retried` returns, so it runs once, for the attempt that committed.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

#: PostgreSQL's SQLSTATEs of a transaction aborted only to let another one through.
DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
TRANSIENT = frozenset({DEADLOCK, SERIALIZATION_FAILURE})

#: Runs of one transaction at most (the first and three more).
ATTEMPTS = 4
#: The longest pause before the first re-run, in seconds; it doubles for each later one.
FIRST_PAUSE = 0.02

log = logging.getLogger("supportdesk.server")


def aborted_to_let_another_through(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL aborting a transaction to break a deadlock (or a
    serialization failure), as SQLAlchemy wraps it. SQLite's errors carry no SQLSTATE."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in TRANSIENT


def pause_before(attempt: int) -> float:
    """Seconds to wait before run ``attempt`` (2, 3 …): anything up to 20 ms, 40 ms, 80 ms."""
    return random.uniform(0, FIRST_PAUSE * 2 ** (attempt - 2))  # jitter, not a secret


def retried(transaction: Callable[[], T], *, what: str = "a write", sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``transaction`` (a whole transaction, from connect to commit) and return its result;
    run it again when PostgreSQL aborted it to break a deadlock, up to :data:`ATTEMPTS` times.
    Any other error, or the last attempt's, is raised as it is."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return transaction()
        except DBAPIError as error:
            if attempt == ATTEMPTS or not aborted_to_let_another_through(error):
                raise
            log.info("%s was aborted by PostgreSQL (%s); running it again", what, getattr(error.orig, "sqlstate", ""))
        sleep(pause_before(attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover
