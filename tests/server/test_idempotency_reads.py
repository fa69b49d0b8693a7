"""A replay is read without the write lock (``idempotency.answered``): the stored answer of the
same request, the 422 for another request, and nothing — go and claim it — for a new key, a key
whose first attempt is still running, or one older than 24 hours."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from supportdesk.server import idempotency
from supportdesk.server.db import open_database
from supportdesk.server.errors import ApiError


def test_answered_serves_only_a_finished_answer_of_the_same_request(tmp_path: Path, clock: Any) -> None:
    clock.freeze()
    database = open_database(str(tmp_path / "server.db"))
    try:
        first = idempotency.fingerprint("POST", "/v1/tickets", {"subject": "a"})
        other = idempotency.fingerprint("POST", "/v1/tickets", {"subject": "b"})
        with database.read_engine.connect() as reading:
            assert idempotency.answered(reading, "agent-1", "k1", first, clock()) is None  # new key
        with database.engine.connect() as connection, connection.begin():
            assert idempotency.claim(connection, "agent-1", "k1", first, clock()) is None
            with database.read_engine.connect() as reading:  # in flight: not answered yet
                assert idempotency.answered(reading, "agent-1", "k1", first, clock()) is None
            answer = idempotency.StoredAnswer(201, {"number": 7}, {"ETag": '"3"'})
            idempotency.store(connection, "agent-1", "k1", answer)
        with database.read_engine.connect() as reading:
            assert idempotency.answered(reading, "agent-1", "k1", first, clock()) == answer
            assert idempotency.answered(reading, "agent-2", "k1", first, clock()) is None  # keys are per agent
            with pytest.raises(ApiError) as refused:
                idempotency.answered(reading, "agent-1", "k1", other, clock())
            assert refused.value.status == 422 and refused.value.code == "idempotency_key_reused"
            clock.advance(timedelta(hours=24, seconds=1))
            assert idempotency.answered(reading, "agent-1", "k1", first, clock()) is None  # expired
            assert idempotency.answered(reading, "agent-1", "k1", other, clock()) is None
    finally:
        database.dispose()


def test_a_key_older_than_a_day_is_claimed_afresh_and_a_younger_one_is_not(tmp_path: Path, clock: Any) -> None:
    """The write path's claim agrees with the replay read on where 24 hours end: a day and a
    second after its answer the key runs again (any request); a second before, another request
    is a 422 and the same one gets the stored answer."""
    clock.freeze()
    database = open_database(str(tmp_path / "server.db"))
    try:
        first = idempotency.fingerprint("POST", "/v1/tickets", {"subject": "a"})
        other = idempotency.fingerprint("POST", "/v1/tickets", {"subject": "b"})
        answer = idempotency.StoredAnswer(201, {"number": 7})
        with database.engine.connect() as connection, connection.begin():
            assert idempotency.claim(connection, "agent-1", "k1", first, clock()) is None
            idempotency.store(connection, "agent-1", "k1", answer)
        clock.advance(timedelta(hours=24, seconds=-1))
        with database.engine.connect() as connection, connection.begin():
            with pytest.raises(ApiError):
                idempotency.claim(connection, "agent-1", "k1", other, clock())
            assert idempotency.claim(connection, "agent-1", "k1", first, clock()) == answer
        clock.advance(timedelta(seconds=2))
        with database.engine.connect() as connection, connection.begin():
            assert idempotency.claim(connection, "agent-1", "k1", other, clock()) is None  # runs again
            idempotency.store(connection, "agent-1", "k1", idempotency.StoredAnswer(201, {"number": 8}))
        with database.read_engine.connect() as reading:
            stored = idempotency.answered(reading, "agent-1", "k1", other, clock())
        assert stored is not None and stored.body == {"number": 8}
    finally:
        database.dispose()
