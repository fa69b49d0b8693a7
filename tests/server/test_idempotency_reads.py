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
