"""Triage on a real server: a new ticket gets its fields from the server's worker, every replica
pulls them, and a correction an agent pushes stays (issue 15, phase 2)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.live import Deployment, deploy

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def triaging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    with deploy(request.param, tmp_path, env={"SUPPORTDESK_TRIAGE": "1"}) as running:
        yield running


def _wait_for(check: Any, what: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_server_triages_a_new_ticket_and_replicas_pull_it(triaging: Deployment) -> None:
    sam = triaging.replica("sam")
    tom = triaging.replica("tom")
    created = sam.apply(
        "ticket.create",
        {
            "subject": "Doppelte Abbuchung",
            "body": "Sie haben mir den Betrag zweimal abgebucht, das ist eine Frechheit! Ich will mein Geld zurück.",
            "requester": {"value": "kim@example.com"},
            "group_id": triaging.team.tier1,
        },
    )
    ticket_id = str(created.result["ticket_id"])
    sam.sync()

    def triaged() -> list[tuple[Any, ...]]:
        tom.sync()
        return tom.rows(
            "SELECT language, sentiment, intent, intent_confidence FROM ticket WHERE id = ? AND intent IS NOT NULL",
            ticket_id,
        )

    ((language, sentiment, intent, confidence),) = _wait_for(triaged, "the server's triage to reach a replica")
    assert (language, sentiment) == ("de", "negative")
    assert intent and 0 <= confidence <= 1
    # a correction by hand travels like any change and is what the field says from then on
    sam.sync()
    sam.apply("ticket.set_field", {"ticket_id": ticket_id, "field": "intent", "value": "billing"})
    sam.sync()
    tom.sync()
    assert tom.rows("SELECT intent, intent_confidence FROM ticket WHERE id = ?", ticket_id) == [("billing", None)]
    with triaging.team.db.engine.connect() as connection:
        audits = [
            (row[0], row[1] is None)
            for row in connection.execute(
                text(
                    "SELECT mutation, actor_id FROM audit_event WHERE entity_id = :t AND field = 'intent' ORDER BY id"
                ),
                {"t": ticket_id},
            )
        ]
    # the server's triage has no actor; the correction is the agent's (what intents learn from)
    assert audits[0] == ("ticket.triage", True) and audits[-1] == ("ticket.set_field", False)
    sam.close()
    tom.close()
