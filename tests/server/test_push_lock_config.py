"""A push reads ``config_version`` in the statement that locks its client's row (push13j), not in
one of its own: what it sees of configuration changes committed by others.

Under READ COMMITTED the statement's snapshot is taken when it starts. A change committed before
the push's lock statement is seen by it; one committed while the lock waits (another push of the
same client holds the row) is not — PostgreSQL re-checks the locked row after the wait, not the
subquery — so that push may run with the configuration it kept from before, as if it had come
first. What must hold is that nothing read under the old number is kept under the new one: the
next push runs with the change. PostgreSQL only (SQLite's writer lock is taken before any read).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from supportdesk.protocol import MutationOutcome
from supportdesk.server.db import ServerDatabase
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]

REFUNDS = {
    "name": "Refunds",
    "when": ["created"],
    "conditions": {"words": ["refund"]},
    "actions": [{"add_tags": ["refund"]}],
}


def tags(pusher: Pusher, ticket_id: str) -> list[str]:
    return [r[0] for r in pusher.rows("SELECT tag FROM ticket_tag WHERE ticket_id = :t", t=ticket_id)]


def wait_for_a_lock_wait(database: ServerDatabase, deadline: float = 20.0) -> None:
    """Until some backend waits on a row lock (the push blocked on its client's row)."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        with database.engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
        if waiting:
            return
        time.sleep(0.01)  # polling a condition, with a deadline
    raise AssertionError("the push never waited on its client's row")


def test_a_rule_changed_while_a_push_waits_on_its_client_counts_from_the_next_push(database: ServerDatabase) -> None:
    pusher = Pusher(database)
    (made,) = pusher.push(("rule.create", {"definition": REFUNDS}))
    assert made.ok, made
    assert tags(pusher, new_ticket(pusher, "A refund please")) == ["refund"]  # the rules are kept now
    done: list[list[MutationOutcome]] = []
    with database.engine.connect() as holder:
        holder.begin()
        holder.execute(text("SELECT 1 FROM sync_client WHERE client_id = 'admin-client' FOR UPDATE"))
        waiting = threading.Thread(
            target=lambda: done.append(
                pusher.push(
                    ("ticket.create", {"subject": "Refund", "body": "b", "requester": {"value": "w@example.com"}})
                )
            )
        )
        waiting.start()
        try:
            wait_for_a_lock_wait(database)
            with database.engine.begin() as other:  # another process turns the rule off meanwhile
                other.execute(text("UPDATE trigger_rule SET active = :off"), {"off": False})
        finally:
            holder.rollback()
            waiting.join(timeout=60)
    assert not waiting.is_alive()
    ((during,),) = done
    assert during.ok, during
    # it ran with the rules from before the change (the number read before its wait): as if it came first
    assert tags(pusher, str(during.result["ticket_id"])) in (["refund"], [])
    assert tags(pusher, new_ticket(pusher, "Another refund")) == []  # the next push sees the change
    with database.engine.begin() as other:
        other.execute(text("UPDATE trigger_rule SET active = :on"), {"on": True})
    assert tags(pusher, new_ticket(pusher, "A third refund")) == ["refund"]
