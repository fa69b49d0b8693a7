"""An Idempotency-Key's answer is stored on the driver's cursor (rest20i) exactly as
SQLAlchemy's own execution stored it.

``idempotency.store`` ran its UPDATE through ``Connection.execute``; it now runs the same
statement through :func:`supportdesk.store.prepared.execute`, with SQLAlchemy's JSON processors.
On both backends the columns written each way are compared as the database holds them (awkward
answers: text in other scripts and emoji, control characters, quotes, big and negative numbers,
nested lists, nulls inside, no headers and some), and each is read back by every reader of a
stored answer (the claim in a write, the replay read, the SQLite driver's replay read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.server import idempotency
from supportdesk.server.db import ServerDatabase
from supportdesk.store import prepared

pytestmark = pytest.mark.integration

ANSWERS = [
    idempotency.StoredAnswer(201, {"id": "t-1", "number": 7, "tags": []}, {}),
    idempotency.StoredAnswer(
        201,
        {
            "subject": 'Zahlung fehlgeschlagen — 払い戻し 🙂 "quoted" \\ back\tslash\u0007',
            "number": 2**53 + 1,
            "balance": -12.5,
            "nested": [{"a": None, "b": [1, 2, {"c": True}]}, None, False],
            "empty": {},
        },
        {"ETag": '"3"', "Location": "/v1/tickets/7"},
    ),
    idempotency.StoredAnswer(422, {"error": {"code": "invalid", "message": "no such group", "field": "group"}}),
]


def _stored_plainly(connection: Any, agent_id: str, key: str, answer: idempotency.StoredAnswer) -> None:
    """The store as it ran before: SQLAlchemy's own execution of the same statement."""
    connection.execute(
        idempotency._statements(connection.dialect.name).store,
        {
            "v_agent_id": agent_id,
            "v_key": key,
            "v_status": answer.status,
            "v_response": answer.body,
            "v_headers": answer.headers or None,
        },
    )


def _raw(database: ServerDatabase, key: str) -> tuple[Any, ...]:
    with database.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT status, CAST(response AS TEXT), CAST(headers AS TEXT) FROM api_idempotency "
                "WHERE agent_id = 'agent-1' AND key = :k"
            ),
            {"k": key},
        ).one()
    return tuple(row)


@pytest.mark.parametrize("index", range(len(ANSWERS)))
def test_an_answer_stored_on_the_driver_is_the_one_sqlalchemy_stored(
    database: ServerDatabase, tmp_path: Path, index: int
) -> None:
    answer = ANSWERS[index]
    now = datetime.now(UTC)
    print_ = idempotency.fingerprint("POST", "/v1/tickets", {"n": index})
    seen: list[str] = []
    with database.engine.connect() as connection, connection.begin():
        for key in ("driver", "plain"):
            assert idempotency.claim(connection, "agent-1", key, print_, now) is None
        with prepared.count_statements(seen.append):
            idempotency.store(connection, "agent-1", "driver", answer)
        _stored_plainly(connection, "agent-1", "plain", answer)
    assert any(sql.lstrip().upper().startswith("UPDATE API_IDEMPOTENCY") for sql in seen)  # the driver's path ran
    assert _raw(database, "driver") == _raw(database, "plain")
    for key in ("driver", "plain"):
        with database.read_engine.connect() as reading:
            assert idempotency.answered(reading, "agent-1", key, print_, now) == answer
        with database.engine.connect() as connection, connection.begin():
            assert idempotency.claim(connection, "agent-1", key, print_, now) == answer
        if not database.is_postgres:
            with database.engine.connect() as connection:
                driver: Any = connection.connection.dbapi_connection
                assert idempotency.answered_on_driver(driver, "agent-1", key, print_, now) == answer
