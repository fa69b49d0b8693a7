"""The one policy for running a server transaction again (:mod:`supportdesk.server.retry`): only
PostgreSQL's deadlock and serialization aborts count, never SQLite's errors nor anything else;
at most ``ATTEMPTS`` runs, with short jittered pauses. (The live crossings of a push with a
REST write or a server write are in test_rest_deadlock.py and test_push_deadlock.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from supportdesk.domain.errors import ValidationFailed
from supportdesk.server import retry


def wrapped(error: Exception) -> DBAPIError:
    """``error`` as SQLAlchemy hands a driver's error to the server's code."""
    return DBAPIError.instance("UPDATE counter SET value = value + 1", {}, error, psycopg.Error)


class Flaky:
    """A transaction that fails with ``error`` its first ``failures`` runs."""

    def __init__(self, error: BaseException, failures: int) -> None:
        self.error = error
        self.failures = failures
        self.runs = 0

    def __call__(self) -> str:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        return "committed"


def no_sleep(_seconds: float) -> None:
    pass


@pytest.mark.parametrize("error", [psycopg.errors.DeadlockDetected(), psycopg.errors.SerializationFailure()])
def test_an_aborted_transaction_runs_again_until_it_commits(error: Exception) -> None:
    transaction = Flaky(wrapped(error), failures=retry.ATTEMPTS - 1)
    pauses: list[float] = []
    assert retry.retried(transaction, sleep=pauses.append) == "committed"
    assert transaction.runs == retry.ATTEMPTS
    # jittered, growing bounds: 20 ms, 40 ms, 80 ms at most
    for attempt, pause in enumerate(pauses, start=2):
        assert 0 <= pause <= retry.FIRST_PAUSE * 2 ** (attempt - 2)


def test_after_the_last_attempt_the_abort_is_raised() -> None:
    transaction = Flaky(wrapped(psycopg.errors.DeadlockDetected()), failures=retry.ATTEMPTS)
    with pytest.raises(OperationalError) as raised:
        retry.retried(transaction, sleep=no_sleep)
    assert raised.value.orig is not None and getattr(raised.value.orig, "sqlstate", "") == "40P01"
    assert transaction.runs == retry.ATTEMPTS


@pytest.mark.parametrize(
    "error",
    [
        wrapped(psycopg.errors.UniqueViolation()),  # a real conflict: the caller's to answer
        wrapped(psycopg.errors.QueryCanceled()),  # a statement timeout is not an abort to retry
        ValidationFailed("no such group", field="group"),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_not_run_again(error: Exception) -> None:
    transaction = Flaky(error, failures=1)
    with pytest.raises(type(error)):
        retry.retried(transaction, sleep=no_sleep)
    assert transaction.runs == 1


def test_sqlite_locked_is_never_taken_for_a_deadlock(tmp_path: Path) -> None:
    """SQLite's 'database is locked' (a real one: another connection holds the write lock) is
    a timeout of the write turn, not an abort: it is raised, not run again."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE counter (value INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})

    def transaction() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO counter VALUES (1)"))

    runs: list[float] = []
    try:
        with pytest.raises(OperationalError, match="locked") as raised:
            retry.retried(transaction, sleep=runs.append)
        assert not retry.aborted_to_let_another_through(raised.value)
        assert runs == []
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def test_what_counts_is_the_drivers_sqlstate() -> None:
    """What counts is the driver's SQLSTATE, whatever class SQLAlchemy picked for it."""
    assert retry.aborted_to_let_another_through(wrapped(psycopg.errors.DeadlockDetected()))
    assert not retry.aborted_to_let_another_through(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not retry.aborted_to_let_another_through(RuntimeError("40P01"))
