"""The admins' intents on a real server: ``SUPPORTDESK_INTENTS`` names the file triage
classifies into, and an agent's correction of a ticket's intent teaches the server's model, as
it teaches a workspace's (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import Deployment, Replica, deploy

pytestmark = pytest.mark.integration

INTENTS = """
intents:
  - name: invoices
    tags: [invoice]
    examples:
      - I need a copy of my invoice
      - the invoice shows the wrong company address
      - please send the receipt for last month
  - name: sign-in
    tags: [login]
    examples:
      - I cannot log in to my account
      - the password reset email never arrives
      - two-factor code is rejected
  - name: hardware
    examples:
      - the receipt printer jams on every order
"""
SHIPPING = """
  - name: shipping
    examples:
      - where is my parcel, it has not been delivered
      - the tracking number shows no delivery
"""
SCANNER = "The barcode scanner beeps but the item never shows up in the stock list on the tablet."


@pytest.fixture(params=["sqlite", "postgresql"])
def admins_intents(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    path = tmp_path / "intents.yaml"
    path.write_text(INTENTS, encoding="utf-8")
    env = {"SUPPORTDESK_TRIAGE": "1", "SUPPORTDESK_INTENTS": str(path)}
    with deploy(request.param, tmp_path, env=env) as running:
        yield running


def _triaged(sam: Replica, ticket_id: str, timeout: float = 180) -> tuple[Any, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sam.sync()
        rows = sam.rows("SELECT intent, intent_confidence FROM ticket WHERE id = ? AND intent IS NOT NULL", ticket_id)
        if rows:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the server's triage")


def test_the_server_uses_the_admins_intents_and_learns_from_a_correction(admins_intents: Deployment) -> None:
    sam = admins_intents.replica("sam")

    def create(subject: str, body: str, email: str) -> str:
        args = {"subject": subject, "body": body, "requester": {"value": email}}
        ticket_id = str(sam.apply("ticket.create", args).result["ticket_id"])
        sam.sync()
        return ticket_id

    login = create("Locked out", "I cannot sign in, the password reset mail never arrives.", "a@example.com")
    assert _triaged(sam, login)[0] == "sign-in"  # a name only the admins' file has
    scanner = create("Scanner", SCANNER, "b@example.com")
    before, _ = _triaged(sam, scanner)
    assert before != "hardware"
    # an agent says what it is; the server's model learns it before the next triage
    assert sam.apply("ticket.set_field", {"ticket_id": scanner, "field": "intent", "value": "hardware"}).error is None
    sam.sync()
    again = create("Scanner again", SCANNER.replace("tablet", "iPad"), "c@example.com")
    intent, confidence = _triaged(sam, again)
    assert intent == "hardware" and 0 < confidence <= 1
    # the admins change the file: the next ticket is triaged with the new intents
    path = admins_intents.tmp_path / "intents.yaml"
    path.write_text(INTENTS + SHIPPING, encoding="utf-8")
    parcel = create("Parcel", "My parcel is still not delivered, the tracking number shows nothing.", "d@example.com")
    assert _triaged(sam, parcel)[0] == "shipping"
    # an edit that breaks the file is logged; the intents in use stay
    path.write_text("intents: [\n", encoding="utf-8")
    locked = create("Locked out again", "I cannot log in, the password reset email never arrives.", "e@example.com")
    assert _triaged(sam, locked)[0] == "sign-in"
    assert "intents not reloaded" in admins_intents.server.log.read_text()
    sam.close()
