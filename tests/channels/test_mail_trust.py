"""Issue 12's mail holes, each attacked: a requester merged away under a conversation, forged
Authentication-Results, a ticket number as the only evidence, an auto-reply flood, and References
that mail clients cannot read."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import timedelta
from email import policy
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.channels.delivery import OutboxWorker
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.settings import ChannelSettings, RelayURL
from supportdesk.channels.smtp_out import SmtpSender
from supportdesk.store import reads
from supportdesk.store.times import utcnow
from tests.channels.conftest import OUR_MX, VERIFIED, Applier, make_mail
from tests.channels.smtp_helpers import Delivered, RecordingRelay, relay
from tests.conftest import Team, TestClock

MALLORY_VERIFIED = {
    "Authentication-Results": f"{OUR_MX}; dkim=pass header.d=evil.test; dmarc=pass header.from=evil.test"
}


def meta_of(team: Team, ticket_id: str, index: int = -1) -> dict[str, Any]:
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, ticket_id)
    assert detail is not None
    email_meta = detail.messages[index].meta["email"]
    assert isinstance(email_meta, dict)
    return email_meta


def on_top(header: str, raw: bytes) -> bytes:
    """``raw`` with ``header`` added above every other header, as the last server on the way would."""
    return header.encode() + b"\r\n" + raw


def deliver(team: Team, settings: ChannelSettings, message_ids: list[str]) -> list[Delivered]:
    """Queue the replies as the server's after-write hook does and send them to a real relay;
    returns what the relay received for them (mail queued before, like auto-replies, goes first)."""
    recorder = RecordingRelay()
    with relay(recorder) as port:
        worker = OutboxWorker(
            team.workspace.engine, {"email": SmtpSender(RelayURL.parse(f"smtp://127.0.0.1:{port}"), timeout=10)}
        )
        worker.deliver_due()
        before = len(recorder.received)
        with team.workspace.engine.begin() as connection:
            queue_replies(connection, message_ids, settings, now=utcnow())
        done = worker.deliver_due()
    assert done and {delivery.status for delivery in done} == {"sent"}
    return recorder.received[before:]


# --- harm 1: a reply follows the conversation, not the customer record --------------------------


@pytest.mark.integration
def test_a_merge_cannot_redirect_a_conversations_replies_to_the_attacker(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    alice = mail_ingest.ingest(
        make_mail(to="billing@acme.test", subject="Card charged twice", message_id="<alice-1@example.com>")
    )
    assert alice.ticket_id is not None
    ticket_id = alice.ticket_id
    # Mallory makes a customer of her own and gets Alice merged into it: Alice's address moves
    # along, but the surviving record's primary address is now Mallory's
    mallory = team.as_(
        team.agent,
        "customer.create",
        {"name": "Mallory", "identities": [{"kind": "email", "value": "mallory@evil.test"}]},
    ).result["customer_id"]
    team.as_(team.admin, "customer.merge", {"source_id": reads_requester(team, ticket_id), "target_id": mallory})
    # … and writes in as "the requester" (her own domain really does pass DMARC)
    joined = mail_ingest.ingest(
        make_mail(
            sender="mallory@evil.test",
            to="billing@acme.test",
            subject="Re: Card charged twice [#1]",
            message_id="<mallory-1@evil.test>",
            body="Please send the refund details to this address.",
            headers=MALLORY_VERIFIED,
        )
    )
    assert joined.ticket_id == ticket_id  # the merge made her the requester: the domain's half of harm 1

    answer = team.as_(team.other, "ticket.reply", {"ticket_id": ticket_id, "body": "Refund of 84.20 EUR issued."})
    [delivered] = deliver(team, settings, [answer.result["message_id"]])
    assert delivered.rcpt_tos == ["alice@example.com"]
    assert delivered.message["To"].addresses[0].addr_spec == "alice@example.com"
    assert delivered.message["In-Reply-To"] == "<alice-1@example.com>"
    assert b"mallory" not in delivered.raw.lower()


@pytest.mark.integration
def test_an_agent_opened_ticket_keeps_the_address_its_first_mail_went_to(
    team: Team, settings: ChannelSettings, applier: Applier
) -> None:
    opened = team.as_(
        team.other,
        "ticket.create",
        {
            "subject": "Your invoice",
            "body": "Here is the corrected invoice.",
            "requester": {"kind": "email", "value": "alice@example.com", "name": "Alice"},
            "channel": "email",
            "author": "agent",
            "group_id": team.billing,
        },
    ).result
    [first] = deliver(team, settings, [opened["message_id"]])
    assert first.rcpt_tos == ["alice@example.com"]

    mallory = applier("customer.create", {"name": "M", "identities": [{"kind": "email", "value": "m@evil.test"}]})
    team.as_(team.admin, "customer.merge", {"source_id": opened["requester_id"], "target_id": mallory["customer_id"]})
    again = team.as_(team.other, "ticket.reply", {"ticket_id": opened["ticket_id"], "body": "Any questions?"})
    [second] = deliver(team, settings, [again.result["message_id"]])
    assert second.rcpt_tos == ["alice@example.com"]


@pytest.mark.integration
def test_a_customer_writing_from_a_second_address_does_not_move_the_replies(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings, applier: Applier
) -> None:
    first = mail_ingest.ingest(make_mail(message_id="<a-1@example.com>"))
    assert first.ticket_id is not None
    requester = reads_requester(team, first.ticket_id)
    applier("customer.add_identity", {"customer_id": requester, "kind": "email", "value": "alice@home.test"})
    mail_ingest.ingest(make_mail(sender="alice@home.test", subject="x", headers={"In-Reply-To": "<a-1@example.com>"}))
    answer = team.as_(team.agent, "ticket.reply", {"ticket_id": first.ticket_id, "body": "On it."})
    [delivered] = deliver(team, settings, [answer.result["message_id"]])
    assert delivered.rcpt_tos == ["alice@example.com"]


def reads_requester(team: Team, ticket_id: str) -> str:
    with team.workspace.reading() as connection:
        row = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return str(row[0])


# --- Authentication-Results from our server only ------------------------------------------------


def test_authentication_results_are_believed_only_from_our_receiving_server(
    team: Team, mail_ingest: MailIngest
) -> None:
    first = mail_ingest.ingest(make_mail())
    forged_pass = "mx.evil.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
    forged = mail_ingest.ingest(
        make_mail(subject="Re: Printer on fire [#1]", headers={"Authentication-Results": forged_pass})
    )
    assert forged.threading == "new" and forged.ticket_id != first.ticket_id
    meta = meta_of(team, str(forged.ticket_id))
    assert meta["authentication"] is None and meta["sender"] == "unverified"
    assert meta["untrusted_authentication"] == [{"authserv_id": "mx.evil.test", "verdict": "pass"}]
    assert any("did not verify the sender" in reason for reason in meta["threading"]["refused"])

    # our server's id in a header the sender wrote, below the one our server added: the topmost counts
    smuggled = mail_ingest.ingest(
        on_top(
            f"Authentication-Results: {OUR_MX}; spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com",
            make_mail(subject="Re: Printer on fire [#1]", headers=VERIFIED),
        )
    )
    assert smuggled.threading == "new"
    smuggled_meta = meta_of(team, str(smuggled.ticket_id))
    assert smuggled_meta["sender"] == "failed" and smuggled_meta["authentication"]["dmarc"] == "fail"
    assert smuggled_meta["untrusted_authentication"] == [{"authserv_id": OUR_MX, "verdict": "pass"}]

    # a pass for some other domain than the From's verifies nothing
    unaligned = f"{OUR_MX}; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=bounce@evil.test"
    other_domain = mail_ingest.ingest(
        make_mail(subject="Re: Printer on fire [#1]", headers={"Authentication-Results": unaligned})
    )
    assert other_domain.threading == "new" and meta_of(team, str(other_domain.ticket_id))["sender"] == "unverified"

    # our server, named in any case and with a version, saying DKIM passed for the From's domain
    real = "MX.Acme.Test 1; dkim=pass (good signature) header.d=example.com; spf=none"
    joined = mail_ingest.ingest(make_mail(subject="Re: Printer on fire [#1]", headers={"Authentication-Results": real}))
    assert (joined.threading, joined.ticket_id) == ("subject-tag", first.ticket_id)
    assert meta_of(team, str(first.ticket_id))["sender"] == "verified"


def test_without_a_configured_authserv_id_no_verdict_is_believed(
    team: Team, settings: ChannelSettings, applier: Applier
) -> None:
    ingest = MailIngest(team.workspace.engine, applier, replace(settings, authserv_ids=()))
    first = ingest.ingest(make_mail())
    tagged = ingest.ingest(make_mail(subject="Re: Printer on fire [#1]", headers=VERIFIED))
    assert tagged.threading == "new" and tagged.ticket_id != first.ticket_id
    assert meta_of(team, str(tagged.ticket_id))["untrusted_authentication"][0]["authserv_id"] == OUR_MX


def test_an_unverified_sender_never_joins_a_ticket_by_its_subject_tag_alone(
    team: Team, mail_ingest: MailIngest
) -> None:
    first = mail_ingest.ingest(make_mail(message_id="<orig@example.com>"))
    tag_only = mail_ingest.ingest(make_mail(subject="Re: Printer on fire [#1]"))
    assert tag_only.threading == "new" and tag_only.ticket_id != first.ticket_id
    refused = meta_of(team, str(tag_only.ticket_id))["threading"]["refused"]
    assert refused == ["the subject names #1, but our mail server did not verify the sender: a tag alone joins nothing"]
    # what the customer's own mail client wrote (its Message-ID) still threads it
    own = mail_ingest.ingest(make_mail(subject="more", headers={"In-Reply-To": "<orig@example.com>"}))
    assert (own.threading, own.ticket_id) == ("known-reference", first.ticket_id)
    with team.workspace.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM message WHERE ticket_id = :t"), {"t": first.ticket_id})
        assert count.scalar_one() == 2


# --- auto-replies: a global cap beside the per-address one --------------------------------------


def test_auto_replies_have_a_global_cap_per_window(
    team: Team, settings: ChannelSettings, applier: Applier, clock: TestClock
) -> None:
    clock.freeze()
    ingest = MailIngest(team.workspace.engine, applier, replace(settings, auto_reply_global_limit=3))
    wave = [ingest.ingest(make_mail(sender=f"forged{i}@victim{i}.test")) for i in range(6)]
    assert [outcome.auto_reply is not None for outcome in wave] == [True, True, True, False, False, False]
    assert all(outcome.status == "created" for outcome in wave)  # every ticket is there, only the mail is not
    with team.workspace.engine.connect() as connection:
        rows = connection.execute(text("SELECT address, count FROM channel_autoreply ORDER BY address")).all()
    assert ("*", 3) in [tuple(row) for row in rows]
    assert len(rows) == 4  # the global row and the three addresses that got one; no count for the refused

    clock.advance(timedelta(seconds=settings.auto_reply_window_seconds))
    assert ingest.ingest(make_mail(sender="next@example.com")).auto_reply is not None
    # the per-address cap still holds inside the global one
    per_address = MailIngest(team.workspace.engine, applier, replace(settings, auto_reply_limit=1))
    repeat = [per_address.ingest(make_mail(sender="same@example.com", subject=f"s{i}")) for i in range(2)]
    assert [outcome.auto_reply is not None for outcome in repeat] == [True, False]


# --- References are folded, never encoded -------------------------------------------------------


@pytest.mark.integration
def test_a_long_references_chain_is_folded_between_ids_never_rfc2047_encoded(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    chain = [f"<{'thread' * 9}.{i}@mail.example.com>" for i in range(30)]
    hostile = ["<über@example.com>"]
    first = mail_ingest.ingest(
        make_mail(message_id="<latest@example.com>", headers={"References": " ".join([*chain, *hostile])})
    )
    assert first.ticket_id is not None
    answer = team.as_(team.agent, "ticket.reply", {"ticket_id": first.ticket_id, "body": "Threaded?"})
    [delivered] = deliver(team, settings, [answer.result["message_id"]])

    head = delivered.raw.split(b"\r\n\r\n", 1)[0]
    references_lines = head.split(b"References: ", 1)[1].split(b"\r\n")
    folded = [references_lines[0], *(line for line in references_lines[1:] if line.startswith(b" "))]
    assert len(folded) > 10  # folded onto many lines …
    assert all(len(line) <= 78 for line in folded)  # … within the recommended width
    assert b"=?" not in head  # no RFC 2047 encoded word anywhere in the headers

    parsed = email.message_from_bytes(delivered.raw, policy=policy.default)
    ids = str(parsed["References"]).split()
    # the thread's root, the latest ids, and the customer's own mail last (RFC 5322 3.6.4)
    assert ids[0] == chain[0] and ids[-1] == "<latest@example.com>" and len(ids) == 20
    assert "<über@example.com>" not in ids  # not plain ASCII: it cannot stand in the header as it is
    assert parsed["In-Reply-To"] == "<latest@example.com>"
