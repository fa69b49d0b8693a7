"""How many times a push of one note waits for PostgreSQL, counted on the wire (libpq's own trace
of every pooled connection the request uses: each ``ReadyForQuery`` ends one round trip), through
the app's own route, as ``serve`` runs it (token checks cached). A change that adds a round trip
or a statement to the hottest request of the server fails here; lower the limits when one is cut.

main at c23a099 waited 26 times (27 statements) for a push of one note: its token looked up on
every request (a ping, BEGIN, the lookup, ROLLBACK, and DEALLOCATE ALL: psycopg forgets its
prepared statements at every rollback), the push's 16 with its ping, its poke's own transaction
after the commit (a ping, BEGIN, pg_notify, COMMIT). pgpush13e: 15 (19 statements) — the token
check cached (``serve``'s default), the poke a NOTIFY of the push's transaction, and everything
after the seq counter (records, stored result, poke, COMMIT) sent in one round trip. pgpush13g:
14 (18 statements) — the pool pings a connection only when it sat unused for a while, not at
every checkout (a push during which psycopg prepares one of its statements, at its fifth use on
that connection, waits once more: its Parse is answered on its own). push13j: 13 (17 statements) —
``config_version`` is read in the statement that locks the client's row, not in one of its own
before it; then 12 (16 statements) — the push's deferred SLA clocks take the ticket row the
note's mutator held instead of reading it again. PostgreSQL only."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg import pq
from sqlalchemy import event

from supportdesk.server import admin
from supportdesk.server.app import create_app
from supportdesk.server.db import ServerDatabase
from supportdesk.server.state import ServerConfig
from supportdesk.server.token_cache import TTL

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]

#: Round trips and statements of a push of one internal note (see the module docstring).
ROUND_TRIPS = 12
STATEMENTS = 16


class Wire:
    """libpq's trace of every connection ``database``'s pool opens (from its first message, the
    pool's ping included); what was traced since :meth:`start`."""

    def __init__(self, database: ServerDatabase) -> None:
        self.file = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by close()
        self.start_at = 0
        self.database = database
        database.engine.dispose()  # every connection from here on is traced from its first message
        event.listen(database.engine, "connect", self._opened)

    def _opened(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.trace(self.file.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def start(self) -> None:
        self.file.flush()
        self.start_at = self.file.seek(0, 2)

    def close(self) -> None:
        self.file.close()

    def lines(self) -> list[str]:
        self.file.seek(self.start_at)
        return self.file.read().splitlines()

    def round_trips(self) -> int:
        return sum(1 for line in self.lines() if line.startswith("B\t") and "\tReadyForQuery\t" in line)

    def statements(self) -> list[str]:
        """Each statement sent (a simple query, or an extended one's Execute), as traced."""
        sent = []
        for line in self.lines():
            if line.startswith("F\t") and ("\tQuery\t" in line or "\tParse\t" in line or "\tBind\t" in line):
                sent.append(line.split("\t", 3)[-1].strip())
        return sent

    def executed(self) -> int:
        return sum(
            1 for line in self.lines() if line.startswith("F\t") and ("\tQuery\t" in line or "\tExecute\t" in line)
        )


@pytest.fixture
def client(database: ServerDatabase) -> Iterator[tuple[TestClient, Wire]]:
    app = create_app(database, ServerConfig(token_cache=TTL))  # as `serve` runs by default
    admin.add_group(database, "Tier 1")
    admin.add_agent(database, "Ada", "ada@example.com", "agent", ["Tier 1"])
    _token_id, token = admin.new_token(database, "ada@example.com")
    wire = Wire(database)
    try:
        with TestClient(app) as running:
            running.headers["authorization"] = f"Bearer {token}"
            yield running, wire
    finally:
        database.engine.dispose()  # no traced connection outlives the file
        wire.close()


def push(client: TestClient, mutation_id: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {
        "client_id": "wire-client",
        "schema_version": 1,
        "mutations": [{"id": mutation_id, "name": name, "args": args}],
    }
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert result["ok"], result
    return dict(result)


def test_a_push_of_one_note_waits_for_postgresql_at_most_twelve_times(client: tuple[TestClient, Wire]) -> None:
    running, wire = client
    args = {"subject": "Wire", "body": "b", "requester": {"value": "wire@example.com"}}
    ticket = push(running, 1, "ticket.create", args)["result"]["ticket_id"]
    # warm: the token checked, the configuration cached, and every statement used often enough
    # for psycopg to have prepared it (after five uses; its Parse is a round trip of its own)
    for n in range(2, 14):
        push(running, n, "ticket.note", {"ticket_id": ticket, "body": f"warm {n}"})
    # the push that waits least of three: one of them may be the one that prepares a statement
    # (psycopg prepares per connection, and which pooled connection a push gets can vary)
    counted = []
    for n in range(14, 17):
        wire.start()
        push(running, n, "ticket.note", {"ticket_id": ticket, "body": "counted"})
        counted.append((wire.round_trips(), wire.executed(), wire.statements()))
    round_trips, executed, statements = min(counted, key=lambda one: one[0])
    shown = "\n".join(statements)
    assert round_trips <= ROUND_TRIPS, f"{round_trips} round trips:\n{shown}"
    assert executed <= STATEMENTS, f"{executed} statements:\n{shown}"
    assert round_trips > 5, "nothing was traced"
    # no token lookup (cached), one transaction for the push and its poke
    assert not [sql for sql in statements if "api_token" in sql]
    # no ping: its connection was given back a moment ago (SQLAlchemy's ping is an empty ";")
    assert '";"' not in statements
    assert sum(1 for sql in statements if sql.startswith('"BEGIN')) == 1
    # the client's row lock is the push's first statement: the configuration's version is read in
    # it (psycopg shows a prepared statement's values, not its SQL), not in one of its own before
    begin = next(n for n, sql in enumerate(statements) if sql.startswith('"BEGIN'))
    assert "'wire-client'" in statements[begin + 1], shown
    # the NOTIFY's values name the channel (its SQL shows only until psycopg prepares it)
    assert sum(1 for sql in statements if "'supportdesk_events'" in sql) == 1


def test_nothing_is_read_after_a_push_commits_even_when_it_read_the_configuration(
    client: tuple[TestClient, Wire],
) -> None:
    """The configuration cache decided what it keeps after the pipelined COMMIT, in a transaction
    of its own: a push whose mutation read the configuration afresh (the first one, here) then
    sent a read and another COMMIT after its own, and a failure there answered an error for a
    push that had committed (its after-commit hooks never ran)."""
    running, wire = client
    args = {"subject": "Fresh", "body": "b", "requester": {"value": "fresh@example.com"}}
    ticket = push(running, 1, "ticket.create", args)["result"]["ticket_id"]
    push(running, 2, "ticket.note", {"ticket_id": ticket, "body": "warm"})
    with wire.database.engine.begin() as connection:  # the configuration changes elsewhere
        connection.exec_driver_sql("UPDATE config_version SET value = value + 1 WHERE id = 1")
    wire.start()
    push(running, 3, "ticket.note", {"ticket_id": ticket, "body": "reads the configuration again"})
    sent = wire.statements()
    # the push's poke is its last statement before its COMMIT; after them, nothing
    pokes = [n for n, statement in enumerate(sent) if "pg_notify" in statement]
    assert pokes, "\n".join(sent)
    # (a Parse line names its statement; the Bind line after it names none)
    after = [s for s in sent[pokes[-1] + 1 :] if not s.startswith('"" ""')]
    assert after == ['"" "COMMIT" 0'], "sent after the push's poke:\n" + "\n".join(after)
