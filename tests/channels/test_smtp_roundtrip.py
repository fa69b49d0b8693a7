"""A real SMTP round trip: smtplib → our listener → a ticket; a reply → our worker → a relay;
the customer's answer to that mail → back onto the same ticket."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from supportdesk.channels.delivery import OutboxWorker
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.settings import ChannelSettings, MailLimits, RelayURL
from supportdesk.channels.signing import verify_message_id
from supportdesk.channels.smtp_in import start_smtp_listener
from supportdesk.channels.smtp_out import SmtpSender
from supportdesk.domain import write
from supportdesk.store import reads
from supportdesk.store.times import utcnow
from tests.channels.conftest import make_mail
from tests.channels.smtp_helpers import RecordingRelay, free_port, relay
from tests.conftest import Team


@pytest.fixture
def listener(mail_ingest: MailIngest) -> Iterator[int]:
    port = free_port()
    controller = start_smtp_listener(mail_ingest, host="127.0.0.1", port=port)
    yield port
    controller.stop()


def send(port: int, raw: bytes, sender: str, recipients: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, recipients, raw)


def test_mail_in_reply_out_answer_threads_back(
    team: Team, listener: int, settings: ChannelSettings, mail_ingest: MailIngest
) -> None:
    send(listener, make_mail(message_id="<start@example.com>"), "alice@example.com", ["support@acme.test"])
    with team.workspace.reading() as connection:
        page = reads.queue_page(connection, reads.plan_queue("channel:email"), limit=10)
    assert [row.subject for row in page.rows] == ["Printer on fire"]
    ticket_id = page.rows[0].id

    reply = write.apply(
        team.workspace, "ticket.reply", {"ticket_id": ticket_id, "body": "Unplug it."}, actor=team.agent
    )
    with team.workspace.engine.begin() as connection:
        queue_replies(connection, [reply.result["message_id"]], settings, now=utcnow())

    recorder = RecordingRelay()
    with relay(recorder) as relay_port:
        worker = OutboxWorker(
            team.workspace.engine, {"email": SmtpSender(RelayURL.parse(f"smtp://127.0.0.1:{relay_port}"))}
        )
        assert {d.status for d in worker.deliver_due()} == {"sent"}
        assert worker.deliver_due() == []
    assert len(recorder.received) == 2  # the auto-reply, then the agent's reply
    auto, answer = (d.message for d in recorder.received)
    assert auto["Auto-Submitted"] == "auto-replied"
    assert answer.get("Auto-Submitted") is None
    assert recorder.received[1].rcpt_tos == ["alice@example.com"]
    assert recorder.received[1].mail_from == "support@acme.test"
    assert answer["Subject"] == "Re: Printer on fire [#1]"
    assert answer["In-Reply-To"] == "<start@example.com>"
    assert answer["References"] == "<start@example.com>"
    signed = verify_message_id(settings.secret_bytes, answer["Message-ID"])
    assert signed is not None and signed.ticket_id == ticket_id
    assert sorted(answer.keys()) == sorted(
        ["Message-ID", "Date", "From", "To", "Subject", "In-Reply-To", "References", "Content-Type",
         "Content-Transfer-Encoding", "MIME-Version"]
    )  # fmt: skip

    customer_answer = make_mail(
        subject="Re: Printer on fire [#1]",
        body="Unplugged, thanks!",
        headers={"In-Reply-To": answer["Message-ID"], "References": f"<start@example.com> {answer['Message-ID']}"},
    )
    send(listener, customer_answer, "alice@example.com", ["support@acme.test"])
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, ticket_id)
    assert detail is not None
    assert [m.body for m in detail.messages] == ["Hello, my printer is on fire.", "Unplug it.", "Unplugged, thanks!"]
    assert detail.messages[-1].meta["email"]["threading"]["method"] == "signed-reference"


def test_unknown_recipients_are_refused_at_rcpt(listener: int) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, make_mail(to="nobody@acme.test"), "alice@example.com", ["nobody@acme.test"])
    assert refused.value.recipients["nobody@acme.test"][0] == 550


@pytest.mark.integration
def test_a_mail_over_the_limit_is_refused_with_552(team: Team, settings: ChannelSettings, applier: object) -> None:
    from dataclasses import replace

    small = replace(settings, limits=MailLimits(max_bytes=5000))
    port = free_port()
    controller = start_smtp_listener(MailIngest(team.workspace.engine, applier, small), port=port)  # type: ignore[arg-type]
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # refused on the announced SIZE
            send(port, make_mail(body="x" * 10_000), "alice@example.com", ["support@acme.test"])
        assert refused.value.smtp_code == 552
    finally:
        controller.stop()


def test_a_refused_mail_does_not_stop_the_listener(team: Team, listener: int) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(listener, b"Subject: no sender at all\r\n\r\nhello\r\n", "<>", ["support@acme.test"])
    assert refused.value.smtp_code == 550
    send(listener, make_mail(), "alice@example.com", ["support@acme.test"])
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 1
