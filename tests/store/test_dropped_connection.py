"""Which psycopg errors mean the connection is gone (``store.engine.dropped_connection``).

SQLAlchemy throws a connection away only when its dialect calls the error a disconnect; the psycopg
dialect asks the connection whether it is already marked broken, which a connection whose
goodbye was read but whose closed socket was not yet seen is not. The engine judges the error
itself; these cases hold the line between "the session is over" and "this statement failed"."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from supportdesk.store.engine import dropped_connection


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("sending query failed: another command is already in progress"),
        psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CrashShutdown("terminating connection because of crash of another server process"),
        errors.CannotConnectNow("the database system is shutting down"),
        errors.IdleSessionTimeout("terminating connection due to idle-session timeout"),
        errors.ConnectionFailure("connection failure"),
    ],
    ids=lambda error: type(error).__name__ + ":" + str(error)[:20],
)
def test_the_session_ending_is_a_dropped_connection(error: Exception) -> None:
    assert dropped_connection(error)


@pytest.mark.parametrize(
    "error",
    [
        errors.QueryCanceled("canceling statement due to statement timeout"),
        errors.LockNotAvailable("could not obtain lock on row"),
        errors.SerializationFailure("could not serialize access"),
        errors.DeadlockDetected("deadlock detected"),
        errors.PipelineAborted("pipeline aborted"),
        errors.UniqueViolation("duplicate key value"),
        psycopg.OperationalError("sending query and params failed: number of parameters must be between 0 and 65535"),
        psycopg.InterfaceError("the cursor is closed"),
        ValueError("not a database error at all"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_failed_statement_on_a_live_session_is_not(error: Exception) -> None:
    assert not dropped_connection(error)
