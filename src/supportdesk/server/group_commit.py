"""Group commit of concurrent REST writes on SQLite: one transaction, one commit, for the writes
that arrive while another one runs.

SQLite has one writer: concurrent REST writes queue for the write turn and each then pays a
whole transaction of its own — a pooled connection checked out and reset on its way back,
``BEGIN IMMEDIATE``, the configuration cache's version read, the commit's appends to the WAL
(the same index and counter pages again for every write) and a thread hand-off per write. Here
the writes that queue meanwhile run together: the first request's thread (the *leader*) takes
every request waiting (up to :data:`GROUP`), runs each in its own ``SAVEPOINT`` inside one
transaction, commits once, runs each write's after-commit work, pokes the clients once (the
seqs of one transaction are contiguous) and only then answers them all; the next request
waiting leads the next group. No thread of its own: a request alone is led by itself and runs
exactly as it did (:func:`supportdesk.server.rest._write_once`).

What each request keeps, as if it had run alone:

- **its atomicity**: a refusal (a rule, a permission, a bad reference) rolls its savepoint
  back — nothing of it stays — and its refusal is stored under its key in a savepoint of its
  own; an unexpected error rolls its savepoint back and is raised in its own thread (a 500, no
  answer stored, the key free to be sent again), the others commit;
- **its Idempotency-Key**: its claim and stored answer are written in its savepoint; a request
  of the same group repeating a key finds the earlier one's answer there (the group runs its
  requests one after the other) and is answered with it after the commit; nobody is answered
  before the commit, so no answer is ever given for a write that did not commit;
- **its answer**: built by its own endpoint's code, in its own request's context (the request
  id its audit reference names), from what its own mutations did.

A failed commit, or a savepoint that cannot be rolled back (SQLite rolled the whole transaction
back itself: a full disk, an I/O error), fails every request of the group with that error: none
was answered, none stored its key, each may be sent again. PostgreSQL is not grouped: each of
its writers has a connection and transaction of its own and they run side by side.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: Requests run in one transaction at most (the write lock is held for all of them).
GROUP = 16


@dataclass(eq=False)
class Job:
    """One request's write, handed to whoever leads its group."""

    #: Run alone (a group of one): the whole transaction, as without grouping.
    alone: Callable[[], Any]
    #: The replay read before the transaction (None: the request does not read first).
    replay: Callable[[Connection], Any] | None
    #: Inside the group's transaction and the request's savepoint: its write, or a refusal raised.
    write: Callable[[Connection], Any]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    outcome: Any = None
    error: BaseException | None = None
    #: Set when the job is done, or when its thread is to lead the next group.
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False


class GroupCommit:
    """The queue of one server's REST writes (see the module docstring). ``run_group`` runs a
    group of two or more inside the leader's thread and sets each job's outcome or error."""

    def __init__(self, run_group: Callable[[list[Job]], None]) -> None:
        self._run_group = run_group
        self._lock = threading.Lock()
        self._waiting: list[Job] = []
        self._leading = False
        #: Groups run and requests in them (tests and benchmarks read them).
        self.groups = 0
        self.grouped = 0

    def run(self, job: Job) -> Any:
        """Run ``job`` (alone, or in the group of the requests waiting with it) and return its
        outcome, or raise its error, once its group committed."""
        with self._lock:
            self._waiting.append(job)
            follower = self._leading
            self._leading = True
        if follower:
            job.ready.wait()
        if not follower or job.lead:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.outcome

    def _lead(self) -> None:
        with self._lock:
            group, self._waiting = self._waiting[:GROUP], self._waiting[GROUP:]
        try:
            if len(group) == 1:
                one = group[0]
                try:
                    one.outcome = one.alone()
                except BaseException as error:  # raised in its own thread, as without grouping
                    one.error = error
            else:
                try:
                    self._run_group(group)
                except BaseException as error:  # nothing of the group committed
                    for job in group:
                        job.outcome, job.error = None, error
                self.groups += 1
                self.grouped += len(group)
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.ready.set()
                else:
                    self._leading = False
            for job in group:
                job.ready.set()
