"""Writers of one process take turns before ``BEGIN IMMEDIATE`` (``store/engine.py: WriteTurns``).

Without the turns, threads writing at once met at SQLite's lock, whose busy handler sleeps and
polls: a server answering REST creates from four threads spent most of each request asleep in
``BEGIN IMMEDIATE``. These tests hold the turns to their promises: one writer at a time, the turn
given back however the transaction ends (commit, rollback, an error, a connection closed with its
transaction open), and no thread ever waits for itself.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from supportdesk.store.engine import WriteTurns, create_engine, sqlite_url

WAIT = 30.0


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(sqlite_url(tmp_path / "turns.db"))
    with engine.connect() as connection, connection.begin():
        connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, who TEXT)"))
    return engine


def pause() -> None:
    """Give another thread time to get where it would wrongly go. A sleep, not a timed wait such
    as ``join(0.3)``: under ``faketime`` (the calendar tier) a thread's timed wait is aimed at the
    faked clock and never times out, and the tier hung here."""
    time.sleep(0.3)


def _another_thread_writes(engine: Engine) -> threading.Thread:
    def write() -> None:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("INSERT INTO item (who) VALUES ('other')"))

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        value = connection.execute(text("SELECT count(*) FROM item")).scalar()
        connection.rollback()
    return int(value or 0)


def test_a_second_writer_waits_for_the_first_to_commit_then_writes(engine: Engine) -> None:
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("INSERT INTO item (who) VALUES ('first')"))
        other = _another_thread_writes(engine)
        pause()
        assert other.is_alive(), "the second writer began while the first held its turn"
        transaction.commit()
    other.join(WAIT)
    assert not other.is_alive()
    assert _count(engine) == 2


@pytest.mark.parametrize("ending", ["rollback", "close", "error"])
def test_the_turn_comes_back_however_the_transaction_ends(engine: Engine, ending: str) -> None:
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("INSERT INTO item (who) VALUES ('first')"))
    if ending == "rollback":
        transaction.rollback()
        connection.close()
    elif ending == "close":
        connection.close()  # the transaction was left open: closing rolls it back
    else:
        with pytest.raises(OperationalError):
            connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
        transaction.rollback()
        connection.close()
    other = _another_thread_writes(engine)
    other.join(WAIT)
    assert not other.is_alive(), f"the turn was not given back after {ending}"
    assert _count(engine) == 1


def test_a_thread_holding_the_turn_is_never_blocked_by_itself(engine: Engine) -> None:
    """A second write connection in the same thread goes on to SQLite (which refuses it once its
    busy timeout passes, as before) instead of waiting forever for its own turn."""
    turns = WriteTurns()
    info: dict[str, object] = {}
    nested: dict[str, object] = {}
    turns.take(info)
    done = threading.Event()

    def again() -> None:
        turns.take(nested)
        done.set()

    # the same thread: returns at once without a turn
    turns.take(nested)
    assert WriteTurns.KEY not in nested
    # another thread waits until the turn is given back
    thread = threading.Thread(target=again)
    thread.start()
    pause()
    assert not done.is_set()
    turns.give_back(info)
    assert done.wait(WAIT)
    turns.give_back(nested)
    thread.join(WAIT)


def test_many_threads_writing_at_once_all_write(engine: Engine) -> None:
    threads = [_another_thread_writes(engine) for _ in range(12)]
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert _count(engine) == 12
