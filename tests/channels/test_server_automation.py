"""What the server sends on its own, through the channels: a routing rule's auto-reply (instead of
the built-in acknowledgement, never to automated mail) and the survey link of a solved ticket,
which the customer then answers over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supportdesk.store.ids import uuid7
from tests.channels.conftest import make_mail
from tests.channels.server_helpers import ChannelServer, channel_server, wait_for
from tests.live import Replica

PUBLIC_URL = "https://support.acme.test"

REFUND_RULE = {
    "name": "Refunds get an answer at once",
    "when": ["created"],
    "conditions": {"all": {"channel": ["email"], "words": ["refund"]}},
    "actions": [
        {"add_tags": ["refund"]},
        {"auto_reply": "Hi {{ ticket.requester.first_name }}, refunds take five working days (#{{ ticket.number }})."},
    ],
}


def with_admin_rule(running: ChannelServer) -> None:
    ada: Replica = running.deployment.replica("ada")
    try:
        ada.apply("rule.create", {"rule_id": uuid7(), "definition": REFUND_RULE})
        assert not ada.sync().refused
    finally:
        ada.close()


def mails_to(running: ChannelServer, address: str) -> list[object]:
    return [m for m in running.relay.received if m.rcpt_tos == [address]]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_rule_auto_reply_replaces_the_acknowledgement_and_skips_automated_mail(backend: str, tmp_path: Path) -> None:
    with channel_server(backend, tmp_path) as running:
        with_admin_rule(running)
        code, reply = running.smtp(
            make_mail(sender="Alice Example <alice@example.com>", subject="Refund for my order"),
            "alice@example.com",
            ["support@acme.test"],
        )
        assert code == 250, reply
        [delivered] = wait_for(lambda: mails_to(running, "alice@example.com"), "the rule's auto-reply")
        assert delivered.message["Auto-Submitted"] == "auto-replied"
        assert "refunds take five working days (#1)" in delivered.message.get_content()
        assert "Hi Alice" in delivered.message.get_content()

        # a plain mail (no rule) still gets the built-in acknowledgement
        running.smtp(make_mail(sender="bob@example.com", subject="Printer"), "bob@example.com", ["support@acme.test"])
        [ack] = wait_for(lambda: mails_to(running, "bob@example.com"), "the acknowledgement")
        assert "we have received your message" in ack.message.get_content()

        # an out-of-office about a refund: the rule still tags it, but nothing is mailed back
        robot = make_mail(
            sender="carol@example.com", subject="Auto: refund request", headers={"Auto-Submitted": "auto-replied"}
        )
        assert running.smtp(robot, "carol@example.com", ["support@acme.test"])[0] == 250
        wait_for(lambda: running.server_rows("SELECT count(*) FROM ticket") == [(3,)], "the third ticket")
        tagged = running.server_rows(
            "SELECT t.number FROM ticket t JOIN ticket_tag g ON g.ticket_id = t.id WHERE g.tag = 'refund' ORDER BY 1"
        )
        assert tagged == [(1,), (3,)]
        assert running.server_rows("SELECT count(*) FROM message WHERE author_kind = 'system'") == [(2,)]

        # one mail to Alice and one to Bob, however long the worker keeps looking
        wait_for(
            lambda: running.server_rows("SELECT count(*) FROM channel_outbox WHERE status = 'queued'") == [(0,)],
            "an idle outbox",
        )
        assert len(mails_to(running, "alice@example.com")) == 1
        assert len(mails_to(running, "bob@example.com")) == 1
        assert mails_to(running, "carol@example.com") == []


def test_a_solved_email_ticket_mails_its_survey_link_and_the_link_records_the_answer(tmp_path: Path) -> None:
    with channel_server("sqlite", tmp_path, {"public_url": PUBLIC_URL, "auto_reply": False}) as running:
        deployment = running.deployment
        assert running.smtp(make_mail(subject="Printer jammed"), "alice@example.com", ["support@acme.test"])[0] == 250
        sam = deployment.replica("sam")
        try:
            [(ticket_id,)] = sam.rows("SELECT id FROM ticket")
            sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Fixed it.", "status": "solved"})
            assert not sam.sync().refused
        finally:
            sam.close()
        mails = wait_for(lambda: len(running.relay.received) >= 2 and list(running.relay.received), "reply and survey")
        [survey_mail] = [m for m in mails if m.message["Auto-Submitted"] == "auto-replied"]
        text = survey_mail.message.get_content()
        [url] = re.findall(rf"{re.escape(PUBLIC_URL)}/v1/feedback/\S+", text)
        token = url.rsplit("/", 1)[1]
        with deployment.api(None) as customer:
            answered = customer.post(f"/v1/feedback/{token}", json={"csat": "good", "comment": "Quick!"})
            assert answered.status_code == 200, answered.text
        assert running.server_rows("SELECT csat, comment FROM survey") == [("good", "Quick!")]
