"""Email through the team server, end to end: smtplib → ``serve --smtp-port`` → a ticket; an
agent's reply pushed by sync → the server's worker → the relay; the customer's answer → the
same ticket → the agent's pull. And raw mail over ``POST /v1/channels/email``."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from pathlib import Path

import pytest

from supportdesk.channels.signing import verify_message_id
from supportdesk.store.models import SHARED_TABLES
from supportdesk.store.times import utcnow
from tests.channels.conftest import make_mail
from tests.channels.server_helpers import EMAIL_TOKEN, SECRET, ChannelServer, channel_server, wait_for
from tests.live import Deployment

#: An encoded subject that decodes to a line break and a Bcc header: it must never become one.
HOSTILE_SUBJECT = "=?UTF-8?Q?Printer_on_fire=0ABcc:_evil@evil.test?="

REPLY_HEADERS = sorted(
    ["Message-ID", "Date", "From", "To", "Subject", "In-Reply-To", "References", "Content-Type",
     "Content-Transfer-Encoding", "MIME-Version"]
)  # fmt: skip


def first_mail() -> bytes:
    lines = [
        "From: Alice Example <alice@example.com>",
        "To: Tier 1 <support@acme.test>",
        f"Subject: {HOSTILE_SUBJECT}",
        "Message-ID: <start@example.com>",
        f"Date: {format_datetime(utcnow())}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Hello, my printer is on fire.",
        "",
    ]
    return "\r\n".join(lines).encode()


def pulled_entities(deployment: Deployment, who: str) -> set[str]:
    """Every entity a full pull from cursor 0 hands ``who``."""
    entities: set[str] = set()
    cursor = 0
    with deployment.api(who) as client:
        while True:
            page = client.get("/v1/pull", params={"cursor": cursor, "limit": 1000}).json()
            entities.update(change["entity"] for change in page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                return entities


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_mail_thread_goes_through_the_server_and_back(backend: str, tmp_path: Path) -> None:
    with channel_server(backend, tmp_path) as running:
        deployment = running.deployment
        code, reply = running.smtp(first_mail(), "alice@example.com", ["support@acme.test"])
        assert (code, reply) == (250, "2.0.0 created ticket #1")
        [auto] = wait_for(lambda: list(running.relay.received), "the auto-reply")
        assert auto.message["Auto-Submitted"] == "auto-replied" and auto.rcpt_tos == ["alice@example.com"]

        sam = deployment.replica("sam")
        try:
            [(ticket_id, number, group_id)] = sam.rows("SELECT id, number, group_id FROM ticket")
            assert (number, group_id) == (1, deployment.team.tier1)
            sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Unplug it, please."})
            pushed = sam.sync()
            assert pushed.pushed == 1 and not pushed.refused

            wait_for(lambda: len(running.relay.received) >= 2, "the agent's reply at the relay")
            delivered = running.relay.received[1]
            answer = delivered.message
            assert delivered.mail_from == "support@acme.test"
            assert delivered.rcpt_tos == ["alice@example.com"]  # never the Bcc smuggled into the subject
            assert sorted(answer.keys()) == REPLY_HEADERS
            assert parseaddr(str(answer["From"])) == ("Tier 1", "support@acme.test")
            assert parseaddr(str(answer["To"]))[1] == "alice@example.com"
            subject = str(answer["Subject"])
            assert subject.startswith("Re: Printer on fire") and subject.endswith(" [#1]")
            assert "\n" not in subject and "\r" not in subject
            assert answer["In-Reply-To"] == "<start@example.com>"
            assert answer["References"] == "<start@example.com>"
            signed = verify_message_id(SECRET.encode(), str(answer["Message-ID"]))
            assert signed is not None and signed.ticket_id == ticket_id
            assert "Unplug it, please." in answer.get_content()

            sam.sync()  # a sync more: the reply is not queued again
            assert sorted(running.server_rows("SELECT kind, status FROM channel_outbox")) == [
                ("auto_reply", "sent"),
                ("reply", "sent"),
            ]

            customer_answer = make_mail(
                subject=f"Re: {subject}",
                body="Unplugged, thanks!",
                headers={
                    "In-Reply-To": str(answer["Message-ID"]),
                    "References": f"<start@example.com> {answer['Message-ID']}",
                },
            )
            code, reply = running.smtp(customer_answer, "alice@example.com", ["support@acme.test"])
            assert (code, reply) == (250, "2.0.0 appended ticket #1")

            sam.sync()
            messages = sam.rows("SELECT body, meta FROM message WHERE ticket_id = ? ORDER BY created_at", ticket_id)
            assert [body for body, _ in messages] == [
                "Hello, my printer is on fire.",
                "Unplug it, please.",
                "Unplugged, thanks!",
            ]
            assert json.loads(messages[-1][1])["email"]["threading"]["method"] == "signed-reference"
            assert sam.rows("SELECT count(*) FROM ticket") == [(1,)]

            # the channels' bookkeeping is the server's own: never in a pull, never in a replica
            assert running.server_rows("SELECT count(*) FROM channel_message_ref") == [(2,)]
            for who in ("ada", "sam"):
                entities = pulled_entities(deployment, who)
                assert "message" in entities and entities <= set(SHARED_TABLES)
            for table in ("channel_message_ref", "channel_outbox", "channel_autoreply", "channel_conversation"):
                assert sam.rows(f"SELECT count(*) FROM {table}") == [(0,)], table

            # exactly once, after many more worker rounds: a later customer's auto-reply is the
            # barrier — once it has reached the relay, nothing went to alice again before it
            barrier = make_mail(sender="Bob <bob@example.com>", subject="Barrier", body="Anyone there?")
            assert running.smtp(barrier, "bob@example.com", ["support@acme.test"])[0] == 250
            wait_for(lambda: len(running.relay.received) >= 3, "the barrier's auto-reply at the relay")
            assert [sent.rcpt_tos for sent in running.relay.received] == [
                ["alice@example.com"],
                ["alice@example.com"],
                ["bob@example.com"],
            ]

            # a mail with no sender is refused, and said so in the log
            code, _reply = running.smtp(b"Subject: nobody\r\n\r\nwho am I\r\n", "", ["support@acme.test"])
            assert code == 550
            # the server's log says what became of each mail at INFO, and names no customer
            log = wait_for(
                lambda: (text := deployment.server.log.read_text()).count(") delivered, attempt ") >= 3 and text,
                "three deliveries in the server log",
            )
            mail_log = r"INFO supportdesk\.channels\.smtp_in: SMTP: mail"
            accepted = re.findall(mail_log + r" accepted \(\d+ bytes\): (.+)$", log, re.M)
            assert accepted == ["created ticket #1", "appended ticket #1", "created ticket #2"]
            assert re.search(mail_log + r" refused \(\d+ bytes\): 550 ", log)
            assert "alice@example.com" not in log and "bob@example.com" not in log
        finally:
            sam.close()


def post_mail(running: ChannelServer, raw: bytes, token: str | None, **envelope: str) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "message/rfc822"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with running.deployment.api(None) as client:
        response = client.post("/v1/channels/email", content=raw, headers=headers, params=envelope)
    return response.status_code, response.json()


def test_raw_mail_over_http_needs_an_admin_or_the_email_token(tmp_path: Path) -> None:
    with channel_server("sqlite", tmp_path) as running:
        team = running.deployment.team
        mail = make_mail(message_id="<http-1@example.com>")
        assert post_mail(running, mail, None)[0] == 401
        assert post_mail(running, mail, "sdt_not-a-token")[0] == 401
        status, body = post_mail(running, mail, team.tokens["sam"])  # an agent, not an admin
        assert status == 403 and body["error"]["code"] == "forbidden"
        assert running.server_rows("SELECT count(*) FROM ticket") == [(0,)]

        status, body = post_mail(running, mail, EMAIL_TOKEN)
        assert status == 200 and body["status"] == "created" and body["number"] == 1
        status, body = post_mail(running, mail, team.tokens["ada"])
        assert status == 200 and body["status"] == "duplicate"

        status, body = post_mail(running, b"Subject: no sender\r\n\r\nhello\r\n", EMAIL_TOKEN)
        assert status == 400 and body["error"]["field"] == "from"

        # an MTA pipe hands over the envelope: its recipient routes the mail, as over SMTP
        bcc = make_mail(to="someone@elsewhere.test", message_id="<http-3@example.com>", subject="Bcc'd")
        status, body = post_mail(running, bcc, EMAIL_TOKEN, recipient="support@acme.test")
        assert status == 200 and body["status"] == "created"
        assert running.server_rows("SELECT group_id FROM ticket WHERE number = 2") == [(team.tier1,)]

        # bigger than a push may be (8 MiB), within the mail limit (30 MB); its attachment is kept
        with_file = BytesParser(policy=policy.default).parsebytes(make_mail(message_id="<http-2@example.com>"))
        assert isinstance(with_file, EmailMessage)
        with_file.add_attachment(b"L" * (9 * 1024 * 1024), maintype="text", subtype="plain", filename="../../app.log")
        status, body = post_mail(running, with_file.as_bytes(), EMAIL_TOKEN)
        assert status == 200 and body["status"] == "created", body
        [(name, sha256)] = running.server_rows("SELECT filename, sha256 FROM attachment")
        assert name == "app.log"
        assert (running.attachments / sha256[:2] / sha256).stat().st_size == 9 * 1024 * 1024

        # past the mail limit: refused on the announced length, before the body is read
        connection = http.client.HTTPConnection("127.0.0.1", running.deployment.server.port, timeout=30)
        connection.putrequest("POST", "/v1/channels/email")
        connection.putheader("Authorization", f"Bearer {EMAIL_TOKEN}")
        connection.putheader("Content-Length", str(31 * 1024 * 1024))
        connection.endheaders()
        refused = connection.getresponse()
        assert refused.status == 413
        assert json.loads(refused.read())["error"]["field"] == "body"
        connection.close()


def test_a_group_address_added_from_the_command_line_routes_mail(tmp_path: Path) -> None:
    with channel_server("sqlite", tmp_path) as running:
        returns_mail = make_mail(to="returns@acme.test", subject="Return a kettle")
        code, _ = running.smtp(returns_mail, "rita@example.com", ["returns@acme.test"])
        assert code == 550  # no group has that address yet

        command = [sys.executable, "-m", "supportdesk", "server", "group", "add", "Returns"]
        command += ["--email", "Returns@Acme.test", "--db", running.deployment.server.db]
        added = subprocess.run(command, capture_output=True, text=True, check=True)
        assert added.stdout.startswith("Group Returns added")

        code, reply = running.smtp(returns_mail, "rita@example.com", ["returns@acme.test"])
        assert (code, reply) == (250, "2.0.0 created ticket #1")
        [(group, subject)] = running.server_rows(
            "SELECT g.name, t.subject FROM ticket t JOIN groups g ON g.id = t.group_id"
        )
        assert (group, subject) == ("Returns", "Return a kettle")
        auto = wait_for(lambda: list(running.relay.received), "the auto-reply")[0]
        assert auto.mail_from == "returns@acme.test"


def test_a_merged_away_requester_still_gets_the_replies_through_the_server(tmp_path: Path) -> None:
    """Harm 1 against the real server: Tom (an agent of the ticket's group) makes a customer whose
    address is Mallory's and merges Alice into it; Mallory, really passing DMARC for her own domain,
    writes into Alice's ticket by its number; Sam's next reply still goes to Alice alone."""
    with channel_server("sqlite", tmp_path, channels={"authserv_id": "mx.acme.test"}) as running:
        verified = "mx.acme.test; dkim=pass header.d={0}; dmarc=pass header.from={0}"
        alice_mail = make_mail(
            subject="Card charged twice",
            message_id="<alice-1@example.com>",
            headers={"Authentication-Results": verified.format("example.com")},
        )
        assert running.smtp(alice_mail, "alice@example.com", ["support@acme.test"])[0] == 250
        wait_for(lambda: running.relay.received, "the auto-reply to Alice")

        tom = running.deployment.replica("tom")
        sam = running.deployment.replica("sam")
        try:
            [(ticket_id, alice_id)] = tom.rows("SELECT id, requester_id FROM ticket")
            mallory = tom.apply(
                "customer.create", {"name": "Mallory", "identities": [{"kind": "email", "value": "mallory@evil.test"}]}
            ).result["customer_id"]
            tom.apply("customer.merge", {"source_id": alice_id, "target_id": mallory})
            tom.sync()

            mallory_mail = make_mail(
                sender="Mallory <mallory@evil.test>",
                subject="Re: Card charged twice [#1]",
                message_id="<mallory-1@evil.test>",
                body="Send the refund to my new account, please.",
                headers={"Authentication-Results": verified.format("evil.test")},
            )
            assert running.smtp(mallory_mail, "mallory@evil.test", ["support@acme.test"]) == (
                250,
                "2.0.0 appended ticket #1",
            )

            sam.sync()
            sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "The refund is on its way."})
            assert sam.sync().pushed == 1
            wait_for(lambda: len(running.relay.received) >= 2, "Sam's reply at the relay")
        finally:
            tom.close()
            sam.close()
        reply = running.relay.received[-1]
        assert reply.rcpt_tos == ["alice@example.com"]
        assert parseaddr(str(reply.message["To"]))[1] == "alice@example.com"
        assert reply.message["In-Reply-To"] == "<alice-1@example.com>"
        assert all("mallory" not in ", ".join(mail.rcpt_tos) for mail in running.relay.received)
