"""Chat, web-form and social webhooks through the team server's HTTP endpoints, and a chat reply
pushed by an agent's sync going out to the platform exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.channels.signing import sign_webhook, verify_webhook
from supportdesk.store.times import utcnow
from tests.channels.server_helpers import (
    CHAT_OUT_SECRET,
    CHAT_SECRET,
    FORM_SECRET,
    ChannelServer,
    channel_server,
    wait_for,
)
from tests.channels.test_webhooks import CHAT
from tests.live import Replica


def post(running: ChannelServer, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with running.deployment.api(None) as client:
        return client.post(
            f"/v1/channels/{path}", content=body, headers={"Content-Type": "application/json", **headers}
        )


def signed(running: ChannelServer, channel: str, payload: dict[str, Any], secret: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    return post(running, channel, body, sign_webhook(secret, body))


def test_webhook_signatures_and_fields_over_http(tmp_path: Path) -> None:
    with channel_server("sqlite", tmp_path) as running:
        body = json.dumps(CHAT).encode()
        missing = post(running, "chat", body, {})
        wrong = post(running, "chat", body, sign_webhook("not-the-secret", body))
        stale = post(running, "chat", body, sign_webhook(CHAT_SECRET, body, timestamp=int(utcnow().timestamp()) - 600))
        reformatted = post(running, "chat", json.dumps(CHAT, indent=1).encode(), sign_webhook(CHAT_SECRET, body))
        for refused in (missing, wrong, stale, reformatted):
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "signature"
        assert "not signed" in missing.json()["error"]["message"]
        assert stale.json()["error"]["field"] == "X-Supportdesk-Timestamp"
        assert wrong.json()["error"]["field"] == "X-Supportdesk-Signature"
        assert running.server_rows("SELECT count(*) FROM ticket") == [(0,)]

        valid = post(running, "chat", body, sign_webhook(CHAT_SECRET, body))
        assert valid.status_code == 200 and valid.json()["created"] is True and valid.json()["number"] == 1

        no_lines = signed(running, "chat", {**CHAT, "messages": []}, CHAT_SECRET)
        assert no_lines.status_code == 422 and no_lines.json()["error"]["field"] == "messages"
        unknown = signed(running, "fax", CHAT, CHAT_SECRET)
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "channel"
        social = signed(running, "social", {"network": "x"}, "any-secret")
        assert social.status_code == 400 and "not configured" in social.json()["error"]["message"]

        form = {
            "submission_id": "s-9",
            "form": "returns",
            "email": "rita@example.com",
            "name": "Rita",
            "subject": "Return a kettle",
            "message": "It whistles off-key.",
            "fields": {"order": "A-77"},
        }
        created = signed(running, "webform", form, FORM_SECRET)
        assert created.status_code == 200 and created.json()["number"] == 2
        assert signed(running, "webform", form, CHAT_SECRET).status_code == 401  # each channel its own secret


def wait_for_request(running: ChannelServer) -> list[dict[str, Any]]:
    return wait_for(lambda: list(running.receiver.requests), "the chat platform to receive the reply")


def replica_bodies(replica: Replica, ticket_id: str) -> list[str]:
    return [
        body for (body,) in replica.rows("SELECT body FROM message WHERE ticket_id = ? ORDER BY created_at", ticket_id)
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_chat_reply_reaches_the_platform_exactly_once(backend: str, tmp_path: Path) -> None:
    with channel_server(backend, tmp_path) as running:
        deployment = running.deployment
        opened = signed(running, "chat", CHAT, CHAT_SECRET)
        assert opened.status_code == 200, opened.text
        ticket_id = opened.json()["ticket_id"]

        sam = deployment.replica("sam")
        try:
            assert replica_bodies(sam, ticket_id) == ["Hi! How can I help?", "My order never arrived."]
            reply = sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Sorry! It ships today."})
            assert sam.sync().pushed == 1

            [request] = wait_for_request(running)
            sam.sync()
            assert len(running.receiver.requests) == 1  # once, and the bot's copied line never
            assert request["path"] == "/reply"
            assert request["headers"]["Idempotency-Key"] == f"chat:{reply.result['message_id']}"
            verify_webhook(CHAT_OUT_SECRET, request["headers"], request["body"])
            sent = json.loads(request["body"])
            assert (sent["conversation_id"], sent["text"]) == ("conv-1", "Sorry! It ships today.")
            assert sent["author"] == {"name": "Sam Agent"}

            # the platform posts the whole transcript again, with its copy of our reply and a new line
            transcript = {
                **CHAT,
                "messages": [
                    *CHAT["messages"],  # type: ignore[list-item]
                    {"id": "l3", "author": "visitor", "text": "Great, thanks!"},
                ],
            }
            again = signed(running, "chat", transcript, CHAT_SECRET)
            assert again.json()["created"] is False and again.json()["duplicates"] == 2
            sam.sync()
            assert replica_bodies(sam, ticket_id) == [
                "Hi! How can I help?",
                "My order never arrived.",
                "Sorry! It ships today.",
                "Great, thanks!",
            ]
            # exactly once, after many more worker rounds: a second reply is the barrier — once
            # the platform has it, the first was not sent again before it
            sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Tracking number follows."})
            assert sam.sync().pushed == 1
            wait_for(lambda: len(running.receiver.requests) >= 2, "the barrier reply at the platform")
            texts = [json.loads(sent["body"])["text"] for sent in running.receiver.requests]
            assert texts == ["Sorry! It ships today.", "Tracking number follows."]
        finally:
            sam.close()
