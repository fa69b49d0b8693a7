"""Hostile mail and webhooks at the channels' front door (the real ingest on a real workspace):
replays store nothing twice, bodies that are not JSON or nest too deeply are refused naming the
body, an agent's address in a From is still the customer's word, terminal escapes end visible."""

from __future__ import annotations

import json
from typing import Any

import pytest

from supportdesk.channels.errors import ChannelError, PayloadInvalid
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.signing import sign_webhook
from supportdesk.channels.webhook_ingest import WebhookIngest
from tests.channels.conftest import applier, mail_ingest, make_mail, settings
from tests.conftest import Team

__all__ = ["applier", "mail_ingest", "settings"]

TERMINAL_BYTES = ("\x00", "\x1b", "\x07", "\x9b", "\u202e")
CHAT = {
    "conversation_id": "conv-hostile",
    "visitor": {"id": "visitor-7", "name": "Vic Visitor"},
    "messages": [{"id": "m1", "author": "visitor", "text": "My parcel is lost."}],
}


@pytest.fixture
def hooks(team: Team, settings: ChannelSettings, applier: Any) -> WebhookIngest:
    return WebhookIngest(team.workspace.engine, applier, settings)


def counts(team: Team) -> tuple[int, int, int]:
    with team.workspace.reading() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("ticket", "message", "customer")
        )


def rows(team: Team, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with team.workspace.reading() as connection:
        return [tuple(row) for row in connection.execute(sql, params)]


def test_an_exact_replay_of_a_signed_webhook_stores_nothing_twice(team: Team, hooks: WebhookIngest) -> None:
    """A captured request sent again within its five minutes passes the signature check; the
    platform's message ids keep it from writing anything a second time."""
    body = json.dumps(CHAT).encode()
    headers = sign_webhook("chat-secret", body)
    hooks.handle("chat", body, headers)
    after_first = counts(team)
    assert after_first[0] == 1
    for _ in range(3):
        hooks.handle("chat", body, headers)
    assert counts(team) == after_first


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000, id="arrays-100000-deep"),
        pytest.param(b'{"conversation_id": ' + b"[" * 5000 + b"]" * 5000 + b"}", id="a-field-5000-deep"),
        pytest.param(b'{"conversation_id": "\xff\xfe", "visitor": {"id": "v"}, "messages": []}', id="not-utf8"),
        pytest.param(b"\x00" * 64, id="nul-bytes"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_signed_webhook_that_is_not_json_writes_nothing(team: Team, hooks: WebhookIngest, body: bytes) -> None:
    before = counts(team)
    with pytest.raises(ChannelError) as refused:
        hooks.handle("chat", body, sign_webhook("chat-secret", body))
    assert isinstance(refused.value, PayloadInvalid), refused.value
    assert str(refused.value) and "\n" not in str(refused.value) and len(str(refused.value)) < 500
    assert counts(team) == before


def test_a_chat_conversation_id_cannot_reach_another_channels_ticket(team: Team, hooks: WebhookIngest) -> None:
    """The same conversation id on another channel (a social DM, a web form) is another
    conversation: it never joins the chat's ticket."""
    body = json.dumps(CHAT).encode()
    hooks.handle("chat", body, sign_webhook("chat-secret", body))
    social = {
        "network": "Mastodon",
        "thread_id": CHAT["conversation_id"],
        "message_id": "m1",
        "handle": "@mallory",
        "text": "Send the refund to me instead",
    }
    raw = json.dumps(social).encode()
    outcome = hooks.handle("social", raw, sign_webhook("social-secret", raw))
    assert outcome.created
    chat_tickets = rows(team, "SELECT id FROM ticket WHERE channel = 'chat'")
    assert len(chat_tickets) == 1
    bodies = [r[0] for r in rows(team, "SELECT body FROM message WHERE ticket_id = ?", chat_tickets[0][0])]
    assert not any("refund to me" in body for body in bodies), bodies
    assert outcome.ticket_id != chat_tickets[0][0]


def test_a_mail_of_nul_bytes_escapes_and_broken_utf8_is_one_ticket_stored_visible(
    team: Team, mail_ingest: MailIngest
) -> None:
    raw = (
        b"From: Mallory <mallory@evil.example>\r\n"
        b"To: support@acme.test\r\n"
        b"Subject: Refund \x1b]52;c;cm0gLXJm\x07 \xff\xfe now \x1b[2J\r\n"
        b"Message-ID: <hostile-1@evil.example>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Pay \x00me\x00 \x1b[31mnow\x1b[0m \xc3\x28 \xe2\x80\xae gnp.exe\r\n"
    )
    outcome = mail_ingest.ingest(raw)
    assert outcome.status == "created", outcome
    (subject,) = rows(team, "SELECT subject FROM ticket WHERE id = ?", str(outcome.ticket_id))[0]
    bodies = [r[0] for r in rows(team, "SELECT body FROM message WHERE ticket_id = ?", str(outcome.ticket_id))]
    for text in (subject, *bodies):
        assert not any(byte in text for byte in TERMINAL_BYTES), repr(text)
    assert "Refund" in subject and "⟨U+001B⟩" in subject
    assert any("Pay" in body and "now" in body for body in bodies)


def test_a_replayed_mail_is_stored_once(team: Team, mail_ingest: MailIngest) -> None:
    raw = make_mail(subject="Once only", message_id="<replayed-1@example.com>")
    first = mail_ingest.ingest(raw)
    after_first = counts(team)
    again = mail_ingest.ingest(raw)
    assert again.status != "created" and again.ticket_id in (None, first.ticket_id), again
    assert counts(team) == after_first


def test_a_mail_from_an_agents_address_is_still_the_customers_word(team: Team, mail_ingest: MailIngest) -> None:
    """Anyone can write an agent's address in a From: without our server's verdict it opens no
    ticket as the agent and adds no agent's reply."""
    outcome = mail_ingest.ingest(make_mail(sender="Sam Agent <sam@acme.test>", subject="Please refund ticket 1"))
    assert outcome.ticket_id is not None
    authors = rows(team, "SELECT author_kind, author_agent_id FROM message WHERE ticket_id = ?", str(outcome.ticket_id))
    assert authors and all(kind == "customer" and agent is None for kind, agent in authors), authors
