"""A push of one mutation runs it without a savepoint; refused, the push runs again with one.

What must hold is what a push of one did before: a refusal consumes its id and is stored (a
replay answers it), nothing the refused mutation wrote commits, and the seq counter does not
move. Runs the push route's own function on each engine, with the app's hooks.
"""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.domain.errors import Conflict
from supportdesk.protocol import MutationIn
from supportdesk.server import apply
from supportdesk.server.db import ServerDatabase
from supportdesk.store.prepared import count_statements
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = pytest.mark.integration


def _seq(pusher: Pusher) -> int:
    return int(pusher.rows("SELECT value FROM counter WHERE name = 'seq'")[0][0])


def _last_id(pusher: Pusher) -> int:
    return int(pusher.rows("SELECT last_mutation_id FROM sync_client WHERE client_id = 'admin-client'")[0][0])


def test_a_successful_push_of_one_takes_no_savepoint(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    seen: list[str] = []
    with count_statements(seen.append):
        (outcome,) = pusher.push(("ticket.note", {"ticket_id": ticket, "body": "one"}))
    assert outcome.ok and outcome.seq == _seq(pusher)
    assert not [sql for sql in seen if "SAVEPOINT" in sql.upper()]
    # a push of two still runs each mutation in its own savepoint
    seen.clear()
    with count_statements(seen.append):
        outcomes = pusher.push(
            ("ticket.note", {"ticket_id": ticket, "body": "two"}),
            ("ticket.note", {"ticket_id": ticket, "body": "three"}),
        )
    assert all(o.ok for o in outcomes)
    assert len([sql for sql in seen if sql.upper().startswith("SAVEPOINT")]) == 2


def test_a_refused_push_of_one_consumes_its_id_and_writes_nothing(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    seq, last = _seq(pusher), _last_id(pusher)
    (refused,) = pusher.push(("ticket.set_priority", {"ticket_id": ticket, "priority": "bogus"}))
    assert not refused.ok and refused.error is not None and refused.seq == 0
    assert _seq(pusher) == seq
    assert _last_id(pusher) == last + 1
    # a replay of that id answers the stored refusal, and the next id is applied
    again = MutationIn(id=last + 1, name="ticket.set_priority", args={"ticket_id": ticket, "priority": "bogus"})
    replayed = apply.apply_push(database, pusher.actor, "admin-client", [again])
    assert replayed[0].replayed and not replayed[0].ok and replayed[0].error == refused.error
    (after,) = pusher.push(("ticket.note", {"ticket_id": ticket, "body": "after"}))
    assert after.ok and after.seq > seq


def test_what_a_refused_push_of_one_wrote_before_its_refusal_never_commits(
    database: ServerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    pusher = Pusher(database)
    ticket = new_ticket(pusher)
    seq, last = _seq(pusher), _last_id(pusher)
    real = apply.run_one
    runs: list[bool] = []

    def writes_then_refuses(connection: Any, spec: Any, parsed: Any, context: Any) -> Any:
        real(connection, spec, parsed, context)  # the note, its audit event, the ticket's clocks
        runs.append(True)
        raise Conflict("refused after writing", field="args")

    monkeypatch.setattr(apply, "run_one", writes_then_refuses)
    (refused,) = pusher.push(("ticket.note", {"ticket_id": ticket, "body": "never stored"}))
    monkeypatch.setattr(apply, "run_one", real)
    assert not refused.ok and refused.error is not None and refused.error["message"] == "refused after writing"
    assert len(runs) == 2  # once bare (rolled back whole), once in its savepoint
    assert pusher.rows("SELECT count(*) FROM message WHERE body = 'never stored'")[0][0] == 0
    audited = pusher.rows("SELECT count(*) FROM audit_event WHERE mutation_ref = :r", r=f"admin-client:{last + 1}")
    assert audited[0][0] == 0
    assert _seq(pusher) == seq
    assert _last_id(pusher) == last + 1
    stored = pusher.rows(
        "SELECT count(*) FROM mutation_result WHERE client_id = 'admin-client' AND mutation_id = :m", m=last + 1
    )
    assert stored[0][0] == 1
