"""SMS: texts in from a gateway's signed webhook, one customer by phone number, replies back to
the number the conversation used, within a segment budget — and every hostile payload refused."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from supportdesk.channels.errors import PayloadInvalid, SignatureError
from supportdesk.channels.identities import find_customer
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.signing import sign_webhook
from supportdesk.channels.webhook_ingest import WebhookIngest
from supportdesk.channels.webhooks.base import WebhookOutcome
from supportdesk.channels.webhooks.sms import MAX_SEGMENTS, segments
from supportdesk.store import reads
from supportdesk.store.enums import IdentityKind
from supportdesk.store.times import utcnow
from tests.channels.conftest import Applier
from tests.conftest import Team

OURS = "+493040001000"
VERA = "+4915112345678"


@pytest.fixture
def hooks(team: Team, settings: ChannelSettings, applier: Applier) -> WebhookIngest:
    return WebhookIngest(team.workspace.engine, applier, settings)


def text(message_id: str, body: str = "Is my order shipped?", sender: str = VERA, **more: Any) -> dict[str, Any]:
    return {"message_id": message_id, "from": sender, "to": OURS, "text": body, **more}


def post(hooks: WebhookIngest, payload: dict[str, Any], secret: str = "sms-secret") -> WebhookOutcome:
    body = json.dumps(payload).encode()
    return hooks.handle("sms", body, sign_webhook(secret, body))


def detail(team: Team, ticket_id: str | None) -> reads.TicketDetail:
    assert ticket_id is not None
    with team.workspace.reading() as connection:
        found = reads.ticket_detail(connection, ticket_id)
    assert found is not None
    return found


def replied(team: Team, settings: ChannelSettings, ticket_id: str, body: str) -> dict[str, Any]:
    """An agent's reply queued as the server queues it; the outbox row."""
    answer = team.as_(team.agent, "ticket.reply", {"ticket_id": ticket_id, "body": body})
    with team.workspace.engine.begin() as connection:
        queue_replies(connection, [answer.result["message_id"]], settings, now=utcnow())
        row = connection.exec_driver_sql(
            "SELECT status, recipient, payload, last_error FROM channel_outbox WHERE message_id = ?",
            (answer.result["message_id"],),
        ).one()
    return dict(row._mapping)


def test_texts_from_one_number_are_one_ticket_of_one_phone_customer(team: Team, hooks: WebhookIngest) -> None:
    first = post(hooks, text("SM1"))
    assert first.created and first.channel == "sms"
    again = post(hooks, text("SM1"))  # the gateway delivers it twice
    assert again.duplicates == 1 and again.ticket_id == first.ticket_id
    more = post(hooks, text("SM2", "Order A-77, by the way."))
    assert not more.created and more.ticket_id == first.ticket_id

    ticket = detail(team, first.ticket_id)
    assert ticket.ticket["channel"] == "sms"
    assert ticket.ticket["subject"] == "SMS: Is my order shipped?"
    assert [m.body for m in ticket.messages] == ["Is my order shipped?", "Order A-77, by the way."]
    assert ticket.messages[0].meta["sms"]["via"] == f"SMS {VERA} → {OURS}"
    assert [(i["kind"], i["value"]) for i in ticket.identities] == [("phone", VERA)]
    # the same phone identity a logged call uses: one customer for calls and texts
    call = team.as_(
        team.agent,
        "ticket.log_call",
        {"direction": "inbound", "number": "0049 151 12345678", "duration_seconds": 60, "notes": "Called"},
    )
    assert detail(team, call.result["ticket_id"]).ticket["requester_id"] == ticket.ticket["requester_id"]
    # another of our numbers is another conversation
    elsewhere = post(hooks, {**text("SM3"), "to": "+493040001001"})
    assert elsewhere.created and elsewhere.ticket_id != first.ticket_id


def test_mms_media_links_are_shown_never_fetched(team: Team, hooks: WebhookIngest) -> None:
    media = [{"url": "https://gateway.example/media/ME1", "content_type": "image/jpeg"}]
    outcome = post(hooks, text("SM1", "", media=media))
    message = detail(team, outcome.ticket_id).messages[0]
    assert message.body == "[image/jpeg] https://gateway.example/media/ME1"
    assert message.meta["sms"]["media"] == media and message.meta["sms"]["via"].endswith("· 1 media")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": "015112345678"}, "from"),  # not E.164
        ({"from": "+0151123456"}, "from"),
        ({"from": "+49 151 12345678"}, "from"),
        ({"from": "+4915112345678901234"}, "from"),  # too long
        ({"from": "+49151\n12345"}, "from"),
        ({"to": "sms:+493040001000"}, "to"),
        ({"text": "x" * 5_001}, "text"),
        ({"text": "   "}, "text"),  # nothing to say and no media
        ({"media": [{"url": "file:///etc/passwd"}]}, "media.0.url"),
        ({"media": [{"url": "javascript:alert(1)"}]}, "media.0.url"),
        ({"media": [{"url": "https://g.example/m"}] * 11}, "media"),
        ({"message_id": ""}, "message_id"),
        ({"account": "AC123"}, "account"),  # unknown fields are refused, not ignored
    ],
)
def test_a_hostile_sms_payload_is_refused_naming_the_field(
    team: Team, hooks: WebhookIngest, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadInvalid) as refused:
        post(hooks, {**text("SM1"), **change})
    assert refused.value.field == field
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0


def test_an_sms_signed_with_another_secret_or_replayed_late_changes_nothing(team: Team, hooks: WebhookIngest) -> None:
    with pytest.raises(SignatureError):
        post(hooks, text("SM1"), secret="chat-secret")
    body = json.dumps(text("SM1")).encode()
    with pytest.raises(SignatureError):
        hooks.handle("sms", body, sign_webhook("sms-secret", body, timestamp=int(utcnow().timestamp()) - 3600))
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0


def test_control_characters_in_a_text_are_made_visible(team: Team, hooks: WebhookIngest) -> None:
    outcome = post(hooks, text("SM1", "refund\x1b[2J please \u202eevil"))
    body = detail(team, outcome.ticket_id).messages[0].body
    assert "\x1b" not in body and "\u202e" not in body and "please" in body


def test_a_reply_goes_to_the_number_the_conversation_used(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings, applier: Applier
) -> None:
    outcome = post(hooks, text("SM1"))
    assert outcome.ticket_id is not None
    vera = find_customer(team.workspace.engine, IdentityKind.PHONE, VERA)
    # Vera is merged into a record whose primary phone is someone else's
    other = applier("customer.create", {"name": "X", "identities": [{"kind": "phone", "value": "+15550000000"}]})
    team.as_(team.admin, "customer.merge", {"source_id": vera, "target_id": other["customer_id"]})

    row = replied(team, settings, outcome.ticket_id, "Shipped today ✓")
    assert row["status"] == "queued" and row["recipient"] == "http://127.0.0.1:9/sms"
    sent = json.loads(row["payload"])
    assert (sent["to"], sent["from"]) == (VERA, OURS)
    assert (sent["segments"], sent["encoding"]) == (1, "UCS-2")
    assert sent["conversation_id"] == f"{OURS}:{VERA}" and sent["text"] == "Shipped today ✓"


def test_a_text_to_a_closed_ticket_opens_a_follow_up_and_replies_follow_it(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    first = post(hooks, text("SM1"))
    team.as_(team.agent, "ticket.set_status", {"ticket_id": first.ticket_id, "status": "closed"})
    later = post(hooks, text("SM2", "Me again"))
    assert later.ticket_id != first.ticket_id
    assert detail(team, later.ticket_id).ticket["follow_up_of_id"] == first.ticket_id
    assert later.ticket_id is not None
    sent = json.loads(replied(team, settings, later.ticket_id, "Hello again")["payload"])
    assert sent["to"] == VERA


def test_segments_are_counted_and_a_reply_over_the_budget_is_refused(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    assert segments("x" * 160) == (1, "GSM-7")
    assert segments("x" * 161) == (2, "GSM-7")
    assert segments("€" * 80) == (1, "GSM-7")  # two septets each
    assert segments("€" * 81) == (2, "GSM-7")
    assert segments("ü" * 160) == (1, "GSM-7")  # in the GSM alphabet
    assert segments("ç" * 70) == (1, "UCS-2")  # not in it (only Ç is)
    assert segments("🙂" * 35) == (1, "UCS-2")  # two UTF-16 units each
    assert segments("🙂" * 36) == (2, "UCS-2")

    outcome = post(hooks, text("SM1"))
    assert outcome.ticket_id is not None
    longest = "y" * (153 * MAX_SEGMENTS)
    assert replied(team, settings, outcome.ticket_id, longest)["status"] == "queued"
    refused = replied(team, settings, outcome.ticket_id, longest + "y")
    assert refused["status"] == "failed"
    assert refused["last_error"] == "the reply is 11 SMS segments (GSM-7); at most 10 are sent: shorten it"


def test_without_an_outbound_url_a_reply_is_recorded_as_undeliverable(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    outcome = post(hooks, text("SM1"))
    assert outcome.ticket_id is not None
    bare = replace(
        settings, webhooks={**settings.webhooks, "sms": replace(settings.webhooks["sms"], outbound_url=None)}
    )
    row = replied(team, bare, outcome.ticket_id, "Hi")
    assert row["status"] == "failed" and row["last_error"] == "no outbound_url is configured for the sms webhook"
