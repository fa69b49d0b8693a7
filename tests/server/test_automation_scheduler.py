"""The team server's scheduler runs the time-based automations by itself, each firing once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from supportdesk.store.times import iso
from tests.conftest import TestClock
from tests.live import LiveServer, Replica, make_team, server_database

pytestmark = pytest.mark.integration

REMIND = {
    "name": "Remind pending customers",
    "when": ["scheduled"],
    "conditions": {"query": "status:pending updated>3d"},
    "actions": [
        {"auto_reply": "Hi {{ ticket.requester.first_name }}, are you still there?"},
        {"add_tags": ["reminded"]},
    ],
}


def pending(database: ServerDatabase, subject: str) -> str:
    args = {"subject": subject, "body": "help", "requester": {"value": "kim@example.com", "name": "Kim Park"}}
    ticket_id = str(apply_as(database, SYSTEM, "ticket.create", args)[0]["ticket_id"])
    apply_as(database, SYSTEM, "ticket.set_status", {"ticket_id": ticket_id, "status": "pending"})
    return ticket_id


def wait_for(check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def scalar(database: ServerDatabase, sql: str, **params: Any) -> Any:
    with database.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_scheduler_fires_an_automation_once(backend: str, tmp_path: Path, clock: TestClock) -> None:
    clock.freeze()
    with server_database(backend, tmp_path) as url:
        team = make_team(url)
        database = team.db
        apply_as(database, SYSTEM, "rule.create", {"definition": REMIND})
        first = pending(database, "Printer on fire")
        # the server's clock is four days on: the ticket has waited long enough
        later = iso(clock() + timedelta(days=4))
        assert later is not None
        server = LiveServer(
            url, tmp_path, extra=["--automation-interval", "0.2"], env={"SUPPORTDESK_NOW": later}
        ).start()
        fired = "SELECT count(*) FROM audit_event WHERE entity_id = :t AND field = 'automation.fired'"
        replies = "SELECT count(*) FROM message WHERE ticket_id = :t AND body LIKE 'Hi Kim, are you still there%'"
        try:
            wait_for(lambda: scalar(database, fired, t=first), "the first firing")
            # a ticket that entered the condition later proves more rounds ran after the first firing
            second = pending(database, "Scanner jammed")
            wait_for(lambda: scalar(database, fired, t=second), "the second ticket's firing")
            assert scalar(database, fired, t=first) == 1
            assert scalar(database, replies, t=first) == 1
            # the reply reaches an agent's workspace like any change
            ada = Replica(tmp_path / "ws-ada", server, team.tokens["ada"])
            try:
                assert ada.rows("SELECT count(*) FROM message WHERE ticket_id = ? AND public = 1 "
                                "AND author_kind <> 'customer'", first) == [(1,)]  # fmt: skip
            finally:
                ada.close()
            # the history names the automation: its changes carry the rule's id and the source "rule"
            rule_id = scalar(database, "SELECT id FROM trigger_rule")
            sources = scalar(
                database,
                "SELECT count(*) FROM audit_event WHERE entity_id = :t AND field = 'tag.added' "
                "AND source = 'rule' AND mutation_ref LIKE :ref",
                t=first,
                ref=f"%/rule:{rule_id}",
            )
            assert sources == 1
            # the reply moved "updated": both tickets left the condition and their firings were
            # forgotten (three more quiet days would remind again)
            wait_for(lambda: scalar(database, "SELECT count(*) FROM automation_firing") == 0, "forgotten firings")
        finally:
            server.stop()
            database.dispose()
