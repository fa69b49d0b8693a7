"""Chat, web-form and social webhooks: signatures, normalisers, replies out with no duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from supportdesk.channels.delivery import OutboxWorker
from supportdesk.channels.errors import PayloadInvalid, SignatureError
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.settings import ChannelSettings, WebhookSettings
from supportdesk.channels.signing import sign_webhook, verify_webhook
from supportdesk.channels.webhook_ingest import WebhookIngest
from supportdesk.channels.webhook_out import WebhookSender
from supportdesk.domain import write
from supportdesk.store import reads
from supportdesk.store.times import utcnow
from tests.channels.http_helpers import Receiver, receiving
from tests.conftest import Team

SECRETS = {"chat": "chat-secret", "webform": "form-secret", "social": "social-secret"}


@pytest.fixture
def hooks(team: Team, settings: ChannelSettings, applier: Any) -> WebhookIngest:
    return WebhookIngest(team.workspace.engine, applier, settings)


def post(hooks: WebhookIngest, channel: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return hooks.handle(channel, body, sign_webhook(SECRETS[channel], body))


def detail(team: Team, ticket_id: str) -> reads.TicketDetail:
    with team.workspace.reading() as connection:
        found = reads.ticket_detail(connection, ticket_id)
    assert found is not None
    return found


CHAT = {
    "conversation_id": "conv-1",
    "visitor": {"id": "visitor-42", "name": "Vera Visitor"},
    "messages": [
        {"id": "l1", "author": "bot", "author_name": "Helpbot", "text": "Hi! How can I help?"},
        {"id": "l2", "author": "visitor", "text": "My order never arrived."},
    ],
}


# --- signatures ---------------------------------------------------------------------------------


def test_signatures_valid_missing_wrong_and_stale() -> None:
    body = b'{"a": 1}'
    now = 1_800_000_000
    headers = sign_webhook("s3cret", body, timestamp=now)
    verify_webhook("s3cret", headers, body, now=now + 10)
    with pytest.raises(SignatureError, match="not signed"):
        verify_webhook("s3cret", {}, body, now=now)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook("other", headers, body, now=now)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook("s3cret", headers, body + b" ", now=now)
    with pytest.raises(SignatureError, match="signed 301 s ago"):
        verify_webhook("s3cret", headers, body, now=now + 301)
    with pytest.raises(SignatureError, match="in the future"):
        verify_webhook("s3cret", headers, body, now=now - 600)
    with pytest.raises(SignatureError, match="unix time"):
        verify_webhook("s3cret", {**headers, "X-Supportdesk-Timestamp": "soon"}, body, now=now)


def test_an_unsigned_or_stale_webhook_changes_nothing(team: Team, hooks: WebhookIngest) -> None:
    body = json.dumps(CHAT).encode()
    with pytest.raises(SignatureError):
        hooks.handle("chat", body, {})
    with pytest.raises(SignatureError):
        hooks.handle("chat", body, sign_webhook("chat-secret", body, timestamp=int(utcnow().timestamp()) - 3600))
    with pytest.raises(SignatureError):
        hooks.handle("chat", body, sign_webhook("form-secret", body))  # another channel's secret
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0


def test_a_bad_payload_names_the_field(hooks: WebhookIngest) -> None:
    with pytest.raises(PayloadInvalid) as error:
        post(hooks, "webform", {"submission_id": "s1", "email": "a@b.test", "subject": "x"})
    assert error.value.field == "message"
    with pytest.raises(PayloadInvalid) as error:
        post(hooks, "chat", {**CHAT, "admin": True})
    assert error.value.field == "admin"


# --- normalisers --------------------------------------------------------------------------------


def test_a_chat_conversation_is_one_ticket_whose_messages_are_the_transcript(team: Team, hooks: WebhookIngest) -> None:
    first = post(hooks, "chat", CHAT)
    assert first.created and len(first.added) == 2
    more = {**CHAT, "messages": [*CHAT["messages"], {"id": "l3", "text": "Order 5521."}]}
    second = post(hooks, "chat", more)  # the whole transcript again, plus one line
    assert second.ticket_id == first.ticket_id and second.duplicates == 2 and len(second.added) == 1
    ticket = detail(team, first.ticket_id)
    assert ticket.ticket["channel"] == "chat"
    assert [(m.author_kind, m.body) for m in ticket.messages] == [
        ("agent", "Hi! How can I help?"),
        ("customer", "My order never arrived."),
        ("customer", "Order 5521."),
    ]
    assert ticket.messages[0].meta["received_from_channel"] is True
    assert ticket.messages[1].meta["chat"]["conversation_id"] == "conv-1"
    assert [i["value"] for i in ticket.identities] == ["visitor-42"]


def test_a_chat_visitors_email_counts_only_when_verified(team: Team, hooks: WebhookIngest, applier: Any) -> None:
    alice = applier(
        "customer.create", {"name": "Alice", "identities": [{"kind": "email", "value": "alice@example.com"}]}
    )
    unverified = {**CHAT, "conversation_id": "c-a", "visitor": {"id": "v-1", "email": "alice@example.com"}}
    verified = {
        **CHAT,
        "conversation_id": "c-b",
        "visitor": {"id": "v-2", "email": "alice@example.com", "email_verified": True},
    }
    assert detail(team, post(hooks, "chat", unverified).ticket_id).ticket["requester_id"] != alice["customer_id"]
    ticket = detail(team, post(hooks, "chat", verified).ticket_id)
    assert ticket.ticket["requester_id"] == alice["customer_id"]
    assert {i["value"] for i in ticket.identities} == {"alice@example.com", "v-2"}


def test_a_web_form_creates_a_ticket_carrying_its_fields(team: Team, hooks: WebhookIngest) -> None:
    form = {
        "submission_id": "sub-9",
        "form": "returns",
        "email": "Rita@Example.com",
        "name": "Rita",
        "subject": "Return a kettle",
        "message": "It whistles in C sharp.",
        "fields": {"order": "A-77", "reason": "noise", "items": 1},
    }
    outcome = post(hooks, "webform", form)
    assert outcome.created
    assert post(hooks, "webform", form).duplicates == 1
    ticket = detail(team, outcome.ticket_id)
    assert ticket.ticket["channel"] == "web"
    assert ticket.ticket["fields"] == {"form": "returns", "order": "A-77", "reason": "noise", "items": 1}
    assert ticket.identities[0]["value"] == "rita@example.com"
    assert ticket.messages[0].meta["webform"]["submission_id"] == "sub-9"


def test_a_social_message_carries_network_and_handle(team: Team, hooks: WebhookIngest) -> None:
    mention = {"network": "Mastodon", "thread_id": "t-1", "message_id": "m-1", "handle": "@Sam", "text": "@acme help!"}
    outcome = post(hooks, "social", mention)
    other = {**mention, "message_id": "m-2", "handle": "kim", "text": "same here"}
    second = post(hooks, "social", other)
    assert second.ticket_id == outcome.ticket_id and not second.created
    ticket = detail(team, outcome.ticket_id)
    assert ticket.ticket["channel"] == "social"
    assert ticket.identities[0]["value"] == "mastodon:@sam"
    social = ticket.messages[0].meta["social"]
    assert (social["network"], social["handle"], social["thread_id"]) == ("mastodon", "@sam", "t-1")
    assert [m.author for m in ticket.messages] == ["mastodon:@sam", "mastodon:@kim"]


def test_a_chat_on_a_closed_ticket_moves_to_the_follow_up(team: Team, hooks: WebhookIngest) -> None:
    first = post(hooks, "chat", CHAT)
    write.apply(
        team.workspace, "ticket.set_status", {"ticket_id": first.ticket_id, "status": "closed"}, actor=team.agent
    )
    later = post(hooks, "chat", {**CHAT, "messages": [{"id": "l9", "text": "Hello again"}]})
    assert later.ticket_id != first.ticket_id
    again = post(hooks, "chat", {**CHAT, "messages": [{"id": "l10", "text": "Still there?"}]})
    assert again.ticket_id == later.ticket_id


# --- replies out --------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def test_chat_replies_go_to_the_outbound_webhook_once(
    team: Team, applier: Any, settings: ChannelSettings, receiver: Receiver
) -> None:
    from dataclasses import replace

    url = f"http://127.0.0.1:{receiver.port}/reply"
    live = replace(
        settings, webhooks={"chat": WebhookSettings(secret="chat-secret", outbound_url=url, outbound_secret="out")}
    )
    outcome = post(WebhookIngest(team.workspace.engine, applier, live), "chat", CHAT)
    answer = write.apply(
        team.workspace, "ticket.reply", {"ticket_id": outcome.ticket_id, "body": "Sorry! Resending."}, actor=team.agent
    )
    with team.workspace.engine.begin() as connection:
        bot_line = detail(team, outcome.ticket_id).messages[0].id
        queued = queue_replies(connection, [bot_line, answer.result["message_id"]], live, now=utcnow())
        assert queue_replies(connection, [answer.result["message_id"]], live, now=utcnow()) == []
    assert queued == [f"chat:{answer.result['message_id']}"]  # the bot's copied line is never sent back

    receiver.fail_next = 1
    clock_now = [utcnow()]
    sender = WebhookSender(live)
    worker = OutboxWorker(team.workspace.engine, {"chat": sender}, clock=lambda: clock_now[0])
    assert [d.status for d in worker.deliver_due()] == ["queued"]
    from datetime import timedelta

    clock_now[0] += timedelta(minutes=1)
    assert [d.status for d in worker.deliver_due()] == ["sent"]
    assert worker.deliver_due() == []
    sender.close()

    [request] = receiver.requests
    assert request["path"] == "/reply"
    assert request["headers"]["Idempotency-Key"] == queued[0]
    verify_webhook("out", request["headers"], request["body"])
    sent = json.loads(request["body"])
    assert sent["conversation_id"] == "conv-1" and sent["text"] == "Sorry! Resending."
    assert sent["author"] == {"name": "Sam Agent"}


def test_a_reply_on_a_channel_without_outbound_url_is_recorded_as_undeliverable(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    outcome = post(hooks, "chat", CHAT)
    answer = write.apply(
        team.workspace, "ticket.reply", {"ticket_id": outcome.ticket_id, "body": "Hi!"}, actor=team.agent
    )
    silent = replace(settings, webhooks={**settings.webhooks, "chat": WebhookSettings(secret="chat-secret")})
    with team.workspace.engine.begin() as connection:
        assert queue_replies(connection, [answer.result["message_id"]], silent, now=utcnow()) == []
        row = connection.exec_driver_sql("SELECT status, last_error FROM channel_outbox").one()
    assert row[0] == "failed" and "no outbound_url" in row[1]


def test_a_reply_to_a_web_form_without_outbound_url_goes_by_email(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    form = {"submission_id": "s-1", "email": "a@example.com", "subject": "Hi", "message": "Hello"}
    outcome = post(hooks, "webform", form)
    answer = write.apply(
        team.workspace, "ticket.reply", {"ticket_id": outcome.ticket_id, "body": "Hi!"}, actor=team.agent
    )
    with team.workspace.engine.begin() as connection:
        queued = queue_replies(connection, [answer.result["message_id"]], settings, now=utcnow())
        row = connection.exec_driver_sql("SELECT channel, status, recipient FROM channel_outbox").one()
    assert queued == [f"email:{answer.result['message_id']}"]
    assert tuple(row) == ("email", "queued", "a@example.com")


def test_a_reply_to_a_closed_chat_ticket_still_reaches_the_conversation(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    first = post(hooks, "chat", CHAT)
    write.apply(
        team.workspace, "ticket.set_status", {"ticket_id": first.ticket_id, "status": "closed"}, actor=team.agent
    )
    answer = write.apply(
        team.workspace, "ticket.reply", {"ticket_id": first.ticket_id, "body": "Late!"}, actor=team.agent
    )
    assert answer.result["follow_up"] is True
    with team.workspace.engine.begin() as connection:
        queued = queue_replies(connection, [answer.result["message_id"]], settings, now=utcnow())
        payload = connection.exec_driver_sql("SELECT payload FROM channel_outbox").scalar_one()
    assert queued == [f"chat:{answer.result['message_id']}"]
    assert json.loads(payload)["conversation_id"] == "conv-1"
