"""One customer across channels: identities resolve, merges bring histories together."""

from __future__ import annotations

import json
from typing import Any

from supportdesk.channels.identities import find_customer
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.signing import sign_webhook
from supportdesk.channels.webhook_ingest import WebhookIngest
from supportdesk.domain import write
from supportdesk.store import reads
from supportdesk.store.enums import IdentityKind
from tests.channels.conftest import VERIFIED, make_mail
from tests.conftest import Team


def webhook(hooks: WebhookIngest, channel: str, secret: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return hooks.handle(channel, body, sign_webhook(secret, body))


def test_every_channel_resolves_to_one_customer_and_a_merge_joins_the_timelines(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings, applier: Any
) -> None:
    hooks = WebhookIngest(team.workspace.engine, applier, settings)
    engine = team.workspace.engine
    by_mail = mail_ingest.ingest(make_mail(subject="Invoice question"))
    alice = find_customer(engine, IdentityKind.EMAIL, "Alice@Example.com")
    assert alice is not None

    chat = {
        "conversation_id": "c-1",
        "visitor": {"id": "alice-web", "email": "alice@example.com", "email_verified": True},
        "messages": [{"id": "1", "text": "Hi, about my invoice"}],
    }
    by_chat = webhook(hooks, "chat", "chat-secret", chat)
    social = {"network": "mastodon", "thread_id": "t", "message_id": "m", "handle": "alice", "text": "@acme hello"}
    by_social = webhook(hooks, "social", "social-secret", social)
    call = write.apply(
        team.workspace,
        "ticket.log_call",
        {"direction": "inbound", "number": "+49 30 1234567", "duration_seconds": 240, "notes": "Called about invoice"},
        actor=team.agent,
    )

    social_customer = find_customer(engine, IdentityKind.SOCIAL, "mastodon:@alice")
    phone_customer = find_customer(engine, IdentityKind.PHONE, "+49301234567")
    assert find_customer(engine, IdentityKind.CHAT, "alice-web") == alice
    assert len({alice, social_customer, phone_customer}) == 3

    for source in (social_customer, phone_customer):
        write.apply(team.workspace, "customer.merge", {"source_id": source, "target_id": alice}, actor=team.agent)

    assert find_customer(engine, IdentityKind.SOCIAL, "mastodon:@alice") == alice
    assert find_customer(engine, IdentityKind.PHONE, "+49301234567") == alice
    with team.workspace.reading() as connection:
        profile = reads.customer_detail(connection, alice)
        timeline = reads.customer_timeline(connection, alice)
        audit = connection.execute(
            "SELECT after FROM audit_event WHERE entity = 'customer' AND entity_id = ? AND field = 'merged_from'",
            (alice,),
        ).fetchall()
    assert profile is not None
    assert {i["kind"] for i in profile.identities} == {"email", "chat", "social", "phone"}
    assert {t["id"] for t in profile.tickets} == {
        by_mail.ticket_id,
        by_chat.ticket_id,
        by_social.ticket_id,
        call.result["ticket_id"],
    }
    assert {entry.channel for entry in timeline} >= {"email", "chat", "social", "phone"}
    assert {json.loads(row[0]) for row in audit} == {social_customer, phone_customer}

    # after the merge, a new message from the social handle is Alice's
    more = webhook(hooks, "social", "social-secret", {**social, "message_id": "m2", "text": "any news?"})
    with team.workspace.reading() as connection:
        ticket = reads.ticket_detail(connection, more.ticket_id)
    assert ticket is not None and ticket.messages[-1].meta["social"]["handle"] == "@alice"
    assert ticket.ticket["requester_id"] == alice
    # and a mail from her address still threads by subject tag onto the merged-in social ticket
    tagged = mail_ingest.ingest(make_mail(subject=f"Re: hello [#{ticket.ticket['number']}]", headers=VERIFIED))
    assert tagged.ticket_id == more.ticket_id and tagged.threading == "subject-tag"
