"""Inbound mail on a real workspace: routing, threading you can trust, loops, attachments."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.signing import make_message_id, verify_message_id
from supportdesk.domain import write
from supportdesk.store import reads
from supportdesk.store.times import utcnow
from tests.channels.conftest import FIXTURES, VERIFIED, make_mail
from tests.conftest import Team


def ticket(team: Team, ticket_id: str) -> reads.TicketDetail:
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, ticket_id)
    assert detail is not None
    return detail


def outbox(team: Team) -> list[dict[str, Any]]:
    with team.workspace.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM channel_outbox ORDER BY created_at, key")).mappings()
        return [dict(row) for row in rows]


def reply(team: Team, settings: ChannelSettings, ticket_id: str, body: str) -> dict[str, Any]:
    """An agent's public reply, queued the way the server queues it (same engine, same rows)."""
    outcome = write.apply(team.workspace, "ticket.reply", {"ticket_id": ticket_id, "body": body}, actor=team.agent)
    with team.workspace.engine.begin() as connection:
        queue_replies(connection, [outcome.result["message_id"]], settings, now=utcnow())
    row = next(row for row in outbox(team) if row["message_id"] == outcome.result["message_id"])
    return row


def parsed(row: dict[str, Any]) -> email.message.EmailMessage:
    message = email.message_from_bytes(row["payload"].encode(), policy=policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_a_new_mail_opens_a_ticket_in_the_group_it_was_sent_to(team: Team, mail_ingest: MailIngest) -> None:
    outcome = mail_ingest.ingest(make_mail(to="Billing <billing@acme.test>", subject="Refund please"))
    assert outcome.status == "created" and outcome.number == 1
    detail = ticket(team, str(outcome.ticket_id))
    assert detail.ticket["group_id"] == team.billing
    assert detail.ticket["channel"] == "email"
    assert detail.ticket["subject"] == "Refund please"
    assert detail.requester["name"] == "Alice Example"
    assert detail.identities[0]["value"] == "alice@example.com"
    meta = detail.messages[0].meta["email"]
    assert meta["threading"]["method"] == "new"
    assert meta["routed_to"] == "billing@acme.test"
    assert meta["from"] == "alice@example.com"


def test_the_auto_reply_is_marked_and_threads_back(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    outcome = mail_ingest.ingest(make_mail(message_id="<first@example.com>"))
    [row] = outbox(team)
    assert row["key"] == outcome.auto_reply and row["kind"] == "auto_reply"
    message = parsed(row)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["From"].addresses[0].addr_spec == "support@acme.test"
    assert message["Subject"] == "Re: Printer on fire [#1]"
    assert message["In-Reply-To"] == "<first@example.com>"
    signed = verify_message_id(settings.secret_bytes, message["Message-ID"])
    assert signed is not None and signed.ticket_id == outcome.ticket_id


def test_a_redelivered_mail_is_not_a_second_ticket(team: Team, mail_ingest: MailIngest) -> None:
    raw = make_mail(message_id="<once@example.com>")
    first = mail_ingest.ingest(raw)
    second = mail_ingest.ingest(raw)
    assert second.status == "duplicate"
    assert second.ticket_id == first.ticket_id and second.message_id == first.message_id
    assert len(ticket(team, str(first.ticket_id)).messages) == 1
    assert len(outbox(team)) == 1


def test_a_claim_left_by_a_failed_ingest_is_taken_over(
    team: Team, settings: ChannelSettings, applier: Any, mail_ingest: MailIngest
) -> None:
    calls = {"n": 0}

    def flaky(name: str, args: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database went away")
        return applier(name, args)  # type: ignore[no-any-return]

    raw = make_mail(message_id="<retry@example.com>")
    with pytest.raises(RuntimeError):
        MailIngest(team.workspace.engine, flaky, settings).ingest(raw)
    outcome = MailIngest(team.workspace.engine, flaky, settings).ingest(raw)
    assert outcome.status == "created"
    assert mail_ingest.ingest(raw).status == "duplicate"


def test_the_reply_carries_threading_headers_and_a_signed_id(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    outcome = mail_ingest.ingest(
        make_mail(message_id="<q1@example.com>", headers={"References": "<older@example.com>"})
    )
    row = reply(team, settings, str(outcome.ticket_id), "Please unplug it.\nThen call us.")
    message = parsed(row)
    assert row["recipient"] == "alice@example.com" and row["status"] == "queued"
    assert message["To"].addresses[0].addr_spec == "alice@example.com"
    assert message["From"].addresses[0].display_name == "Tier 1"
    assert message["Subject"] == "Re: Printer on fire [#1]"
    assert message["In-Reply-To"] == "<q1@example.com>"
    assert message["References"] == "<older@example.com> <q1@example.com>"
    assert message["Message-ID"] == row["header_id"]
    assert message.get("Auto-Submitted") is None
    assert message.get_content().replace("\r\n", "\n") == "Please unplug it.\nThen call us.\n"
    assert verify_message_id(settings.secret_bytes, row["header_id"]) is not None


def test_an_encoded_newline_in_a_subject_never_becomes_a_header(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    outcome = mail_ingest.ingest((FIXTURES / "subject_newline.eml").read_bytes())
    row = reply(team, settings, str(outcome.ticket_id), "Noted.")
    head = row["payload"].split("\r\n\r\n", 1)[0]
    assert "\r\nBcc:" not in head and "\nBcc:" not in head
    assert parsed(row).get_all("Bcc") is None
    assert parsed(row)["Subject"] == "Re: x Bcc: evil [#1]"


def test_a_reply_to_our_signed_id_threads_even_from_a_colleague(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    first = mail_ingest.ingest(make_mail())
    row = reply(team, settings, str(first.ticket_id), "Which model is it?")
    answer = mail_ingest.ingest(
        make_mail(
            sender="Bob Colleague <bob@example.com>",
            subject="Re: whatever",
            headers={"In-Reply-To": row["header_id"]},
        )
    )
    assert answer.status == "appended" and answer.ticket_id == first.ticket_id
    assert answer.threading == "signed-reference"
    last = ticket(team, str(first.ticket_id)).messages[-1]
    assert last.author == "Bob Colleague"
    assert last.meta["email"]["threading"]["method"] == "signed-reference"


def test_the_requester_threads_by_subject_tag_or_own_reference(team: Team, mail_ingest: MailIngest) -> None:
    first = mail_ingest.ingest(make_mail(message_id="<orig@example.com>"))
    by_tag = mail_ingest.ingest(make_mail(subject="Still burning [#1]", headers=VERIFIED))
    by_reference = mail_ingest.ingest(make_mail(subject="also", headers={"In-Reply-To": "<orig@example.com>"}))
    assert (by_tag.threading, by_tag.ticket_id) == ("subject-tag", first.ticket_id)
    assert (by_reference.threading, by_reference.ticket_id) == ("known-reference", first.ticket_id)


def test_forged_references_and_foreign_tags_never_reach_another_customers_ticket(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    alice = mail_ingest.ingest(make_mail(message_id="<alice@example.com>"))
    assert alice.ticket_id is not None
    raw = (FIXTURES / "forged_in_reply_to.eml").read_bytes()
    raw = raw.replace(b"TICKETHEX", alice.ticket_id.replace("-", "").encode()).replace(b"TICKETNUMBER", b"1")
    forged = mail_ingest.ingest(raw)
    assert forged.status == "created" and forged.ticket_id != alice.ticket_id
    refused = ticket(team, str(forged.ticket_id)).messages[0].meta["email"]["threading"]["refused"]
    assert any("forged reference" in reason for reason in refused)
    assert any("names #1, but the sender is not its requester" in reason for reason in refused)
    # an unsigned reference to Alice's own mail does not help Mallory either
    copied = mail_ingest.ingest(
        make_mail(sender="mallory@evil.test", subject="hi", headers={"In-Reply-To": "<alice@example.com>"})
    )
    assert copied.ticket_id not in (alice.ticket_id, forged.ticket_id)
    # a correctly shaped id signed with another secret is a forgery too
    other = make_message_id(b"not-our-secret-at-all", "acme.test", alice.ticket_id, "0" * 32)
    third = mail_ingest.ingest(make_mail(sender="mallory@evil.test", subject="x", headers={"In-Reply-To": other}))
    assert third.threading == "new" and third.ticket_id != alice.ticket_id
    assert len(ticket(team, alice.ticket_id).messages) == 1


def test_automated_mail_gets_no_auto_reply_and_does_not_reopen(
    team: Team, mail_ingest: MailIngest, settings: ChannelSettings
) -> None:
    bounce = mail_ingest.ingest((FIXTURES / "auto_mailer_daemon.eml").read_bytes())
    assert bounce.automated == ["sent by mailer-daemon"] and bounce.auto_reply is None
    assert ticket(team, str(bounce.ticket_id)).tags == ["automated"]
    assert outbox(team) == []
    first = mail_ingest.ingest(make_mail())
    row = reply(team, settings, str(first.ticket_id), "Fixed?")
    write.apply(
        team.workspace, "ticket.set_status", {"ticket_id": first.ticket_id, "status": "solved"}, actor=team.agent
    )
    away = mail_ingest.ingest(
        make_mail(subject="Out of office", headers={"In-Reply-To": row["header_id"], "Auto-Submitted": "auto-replied"})
    )
    assert away.status == "appended"
    assert ticket(team, str(first.ticket_id)).ticket["status"] == "solved"


def test_auto_replies_to_one_address_are_capped(team: Team, mail_ingest: MailIngest) -> None:
    outcomes = [mail_ingest.ingest(make_mail(subject=f"Question {n}")) for n in range(6)]
    assert [o.auto_reply is not None for o in outcomes] == [True, True, True, False, False, False]
    assert all(o.status == "created" for o in outcomes)


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(team: Team, mail_ingest: MailIngest) -> None:
    first = mail_ingest.ingest(make_mail())
    write.apply(
        team.workspace, "ticket.set_status", {"ticket_id": first.ticket_id, "status": "closed"}, actor=team.agent
    )
    again = mail_ingest.ingest(make_mail(subject="Re: Printer on fire [#1]", headers=VERIFIED))
    assert again.ticket_id != first.ticket_id
    assert ticket(team, str(again.ticket_id)).ticket["follow_up_of_id"] == first.ticket_id


def test_attachments_are_stored_by_hash_under_the_attachments_folder(
    team: Team, mail_ingest: MailIngest, tmp_path: Path
) -> None:
    outcome = mail_ingest.ingest((FIXTURES / "attachment_names.eml").read_bytes())
    attachments = ticket(team, str(outcome.ticket_id)).messages[0].attachments
    assert [a["filename"] for a in attachments][:2] == ["bashrc", "_CON"]
    assert len(attachments[2]["filename"]) == 200
    root = team.workspace.attachments_dir
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 1  # three attachments, one content
    assert files[0].name == attachments[0]["sha256"] and files[0].read_bytes() == b"evil()"
    assert not (root.parent.parent / ".bashrc").exists() and not (root.parent / ".bashrc").exists()


def test_attachments_over_the_size_limit_are_listed_not_stored(
    team: Team, settings: ChannelSettings, applier: Any
) -> None:
    from dataclasses import replace

    from supportdesk.channels.settings import MailLimits

    small = replace(settings, limits=MailLimits(max_attachment_bytes=3))
    outcome = MailIngest(team.workspace.engine, applier, small).ingest((FIXTURES / "attachment_names.eml").read_bytes())
    message = ticket(team, str(outcome.ticket_id)).messages[0]
    assert message.attachments == []
    assert [s["reason"] for s in message.meta["email"]["skipped_attachments"]] == ["larger than 3 bytes"] * 3


def test_the_whole_hostile_corpus_ingests_one_outcome_per_mail(team: Team, mail_ingest: MailIngest) -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.eml"))
    mails = [(FIXTURES / name).read_bytes() for name in names]
    mails.insert(3, b"\x00\xff not a mail at all")
    outcomes = mail_ingest.ingest_all(mails)
    assert len(outcomes) == len(mails)
    assert outcomes[3].status == "rejected" and "no valid sender" in str(outcomes[3].reason)
    rest = [o for i, o in enumerate(outcomes) if i != 3]
    statuses = {n: (o.status, o.reason) for n, o in zip(names, rest, strict=True)}
    assert {n: s for n, s in statuses.items() if s[0] not in ("created", "appended")} == {}
    automated = {n for n, o in zip(names, rest, strict=True) if o.automated}
    assert automated == {n for n in names if n.startswith("auto_")}


def test_the_20_mb_mail_becomes_a_ticket_with_a_capped_body(team: Team, mail_ingest: MailIngest) -> None:
    outcome = mail_ingest.ingest(make_mail(body=("Lorem ipsum dolor sit amet. " * 40 + "\n") * 19_000))
    body = ticket(team, str(outcome.ticket_id)).messages[0].body
    assert len(body) <= 200_000
    assert "truncated" not in body or body.endswith("not stored⟩")


def test_a_sender_that_failed_authentication_cannot_thread_by_tag(team: Team, mail_ingest: MailIngest) -> None:
    first = mail_ingest.ingest(make_mail())
    spoofed = mail_ingest.ingest(
        make_mail(
            subject="Re: Printer on fire [#1]",
            headers={"Authentication-Results": "mx.acme.test; spf=fail smtp.mailfrom=example.com; dmarc=fail"},
        )
    )
    assert spoofed.ticket_id != first.ticket_id and spoofed.threading == "new"
    refused = ticket(team, str(spoofed.ticket_id)).messages[0].meta["email"]["threading"]["refused"]
    assert refused == ["the sender's address failed authentication: only a signed reference could thread it"]
    passed = mail_ingest.ingest(make_mail(subject="Re: Printer on fire [#1]", headers=VERIFIED))
    assert passed.ticket_id == first.ticket_id
