"""Duplicate notes on a real server: a new ticket repeating an open one of its requester gets the
note "possible duplicate of #N" from the server's worker, once; replicas pull it, the REST read
carries the merge suggestion, and no note crosses groups or requesters (issue 15)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.mutations.triage import duplicate_note_id
from tests.live import Deployment, deploy

pytestmark = pytest.mark.integration

FIRST = "My card was charged twice for the March invoice, please refund one of the two payments."
REPEAT = "I still see two payments for the March invoice on my card statement. Refund one please!"


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


def test_the_server_notes_a_repeat_once_and_only_within_the_requesters_group(triaging: Deployment) -> None:
    sam = triaging.replica("sam")
    tier1, billing = triaging.team.tier1, triaging.team.billing

    def create(subject: str, body: str, email: str, group: str | None) -> str:
        args: dict[str, Any] = {"subject": subject, "body": body, "requester": {"value": email}}
        if group:
            args["group_id"] = group
        ticket_id = str(sam.apply("ticket.create", args).result["ticket_id"])
        sam.sync()
        return ticket_id

    first = create("Charged twice", FIRST, "kim@example.com", tier1)
    repeat = create("Still charged twice", REPEAT, "kim@example.com", tier1)
    elsewhere = create("Still charged twice", REPEAT, "kim@example.com", billing)  # Billing: not Tier 1's
    stranger = create("Still charged twice", REPEAT, "bo@example.com", tier1)
    # the worker takes tickets in order: once the last one is triaged, the others' notes are written
    last = create("Password", "How do I reset my password?", "lu@example.com", None)

    def triaged() -> bool:
        sam.sync()
        return bool(sam.rows("SELECT 1 FROM ticket WHERE id = ? AND intent IS NOT NULL", last))

    _wait_for(triaged, "the server's triage of the last ticket")
    notes = sam.rows(
        "SELECT ticket_id, id, body, meta FROM message WHERE author_kind = 'system' AND public = 0 ORDER BY ticket_id"
    )
    assert [(n[0], n[1]) for n in notes] == [(repeat, duplicate_note_id(repeat))]
    number = sam.rows("SELECT number FROM ticket WHERE id = ?", first)[0][0]
    assert f"Possible duplicate of #{number}" in notes[0][2]
    assert {elsewhere, stranger, first}.isdisjoint(n[0] for n in notes)

    repeat_number = sam.rows("SELECT number FROM ticket WHERE id = ?", repeat)[0][0]
    with triaging.api("sam") as client:
        answer = client.get(f"/v1/tickets/{repeat_number}")
        assert answer.status_code == 200
        hint = answer.json()["merge_suggestion"]
        assert (hint["ticket_id"], hint["number"]) == (first, number)
        assert hint["command"] == f"supportdesk tickets merge {repeat_number} {number}"
        assert client.get(f"/v1/tickets/{number}").json()["merge_suggestion"] is None
    with triaging.api("bea") as client:  # Billing's agent does not see Tier 1's ticket at all
        assert client.get(f"/v1/tickets/{repeat_number}").status_code == 404

    # an agent's replay of the flag changes nothing; forged flags pushed straight to the server
    # (another requester's ticket, another group's) are refused there, whatever a client checks
    replay = sam.apply("ticket.flag_duplicate", {"ticket_id": repeat, "duplicate_of": first, "score": 0.8})
    assert replay.error is None and replay.result["flagged"] is False
    sam.sync()
    forged = [
        {"ticket_id": stranger, "duplicate_of": first, "score": 0.8},
        {"ticket_id": elsewhere, "duplicate_of": first, "score": 0.8},
        {"ticket_id": first, "duplicate_of": repeat, "score": 0.8},
    ]
    pushed = [{"id": n, "name": "ticket.flag_duplicate", "args": args} for n, args in enumerate(forged, start=1)]
    answer = sam.client.push(str(uuid.uuid4()), pushed)
    assert [(r.ok, (r.error or {}).get("code")) for r in answer.results] == [
        (False, "invalid"),
        (False, "not_found"),
        (False, "invalid"),
    ], answer.results
    with triaging.team.db.engine.connect() as connection:
        rows = connection.execute(text("SELECT ticket_id FROM message WHERE author_kind = 'system'")).all()
    assert [r[0] for r in rows] == [repeat]
    sam.close()
