"""Files in and out of the chat, social and web-form webhooks (hostile cases included).

In: inline base64 files land in the one blob store under the mail limits, with cleaned names,
declared and sniffed types (a mismatch is visible), skipped files listed, malformed base64
refusing the whole body before anything is written. Out: a reply's files are listed in the
webhook body with a fresh signed link; the link is refused when forged, expired, altered or
pointed at another file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from supportdesk.channels.delivery import OutboxWorker
from supportdesk.channels.errors import PayloadInvalid
from supportdesk.channels.file_urls import LinkRefused, check_link, make_link
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.settings import ChannelSettings, MailLimits, WebhookSettings
from supportdesk.channels.signing import sign_webhook
from supportdesk.channels.webhook_ingest import WebhookIngest
from supportdesk.channels.webhook_out import WebhookSender
from supportdesk.domain import write
from supportdesk.store.blobs import BlobStore
from supportdesk.store.file_types import mismatch
from supportdesk.store.times import utcnow
from tests.channels.test_webhooks import CHAT, SECRETS
from tests.conftest import Team

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(hooks: WebhookIngest, channel: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return hooks.handle(channel, body, sign_webhook(SECRETS[channel], body))


def files_of(team: Team, ticket_id: str) -> list[tuple[str, str, int, str, str]]:
    with team.workspace.reading() as connection:
        return connection.execute(
            "SELECT x.filename, x.sha256, x.size, x.content_type, x.sniffed_type FROM attachment x "
            "JOIN message m ON m.id = x.message_id WHERE m.ticket_id = ? ORDER BY m.created_at, x.id",
            (ticket_id,),
        ).fetchall()


def meta_of(team: Team, ticket_id: str) -> list[dict[str, Any]]:
    with team.workspace.reading() as connection:
        rows = connection.execute(
            "SELECT meta FROM message WHERE ticket_id = ? ORDER BY created_at", (ticket_id,)
        ).fetchall()
    return [json.loads(row[0] or "{}") for row in rows]


def chat_with(files: list[dict[str, Any]], line: str = "l9") -> dict[str, Any]:
    return {
        **CHAT,
        "messages": [{"id": line, "author": "visitor", "text": "Here is a screenshot", "attachments": files}],
    }


@pytest.fixture
def hooks(team: Team, settings: ChannelSettings, applier: Any) -> WebhookIngest:
    return WebhookIngest(team.workspace.engine, applier, settings)


def test_a_chat_file_lands_in_the_blob_store_with_a_clean_name_and_both_types(
    team: Team, hooks: WebhookIngest, settings: ChannelSettings
) -> None:
    outcome = post(
        hooks,
        "chat",
        chat_with(
            [
                {"filename": "../../etc/\x1b[31mshot\u202e.png", "content_type": "image/png", "data_base64": b64(PNG)},
                {"filename": "invoice.pdf", "content_type": "application/pdf", "data_base64": b64(EXE)},
                {"filename": "notes.txt", "content_type": "<b>text</b>", "data_base64": b64(b"hello")},
            ]
        ),
    )
    rows = files_of(team, outcome.ticket_id)
    assert [row[0] for row in rows][1:] == ["invoice.pdf", "notes.txt"]
    shot = rows[0][0]
    assert "/" not in shot and "\x1b" not in shot and "\u202e" not in shot and shot.endswith(".png")
    store = BlobStore(settings.attachments_dir)
    for _, sha256, size, _, _ in rows:
        assert store.has(sha256) and store.size(sha256) == size
    assert rows[0][1] == hashlib.sha256(PNG).hexdigest()
    # the declared type is the platform's, the sniffed one the bytes': a program posing as a PDF is flagged
    _, _, _, declared, sniffed = rows[1]
    assert (declared, sniffed) == ("application/pdf", "application/x-msdownload")
    assert mismatch(declared, sniffed, "invoice.pdf")
    # a declared type that is not a MIME type is replaced by the extension's
    assert rows[2][3:] == ("text/plain", "text/plain")


def test_files_past_the_limits_are_skipped_and_listed_never_stored(
    team: Team, settings: ChannelSettings, applier: Any
) -> None:
    small = replace(settings, limits=replace(MailLimits(), max_attachment_bytes=100, max_total_attachment_bytes=150))
    hooks = WebhookIngest(team.workspace.engine, applier, small)
    big = b"x" * 101
    outcome = post(
        hooks,
        "chat",
        chat_with(
            [
                {"filename": "a.txt", "data_base64": b64(b"a" * 90)},
                {"filename": "big.txt", "data_base64": b64(big)},
                {"filename": "b.txt", "data_base64": b64(b"b" * 90)},
            ]
        ),
    )
    assert [row[0] for row in files_of(team, outcome.ticket_id)] == ["a.txt"]
    skipped = meta_of(team, outcome.ticket_id)[-1]["chat"]["skipped_attachments"]
    assert [(s["filename"], s["reason"]) for s in skipped] == [
        ("big.txt", "larger than 100 bytes"),
        ("b.txt", "the message's attachments pass 150 bytes"),
    ]
    assert not BlobStore(small.attachments_dir).has(hashlib.sha256(big).hexdigest())


def test_a_tickets_file_count_limit_holds_across_messages(team: Team, settings: ChannelSettings, applier: Any) -> None:
    two = replace(settings, limits=replace(MailLimits(), max_per_ticket=2))
    hooks = WebhookIngest(team.workspace.engine, applier, two)
    one = [{"filename": f"f{i}.txt", "data_base64": b64(f"file {i}".encode())} for i in range(2)]
    outcome = post(hooks, "chat", chat_with(one, "l1"))
    post(hooks, "chat", chat_with([{"filename": "third.txt", "data_base64": b64(b"3")}], "l2"))
    assert [row[0] for row in files_of(team, outcome.ticket_id)] == ["f0.txt", "f1.txt"]
    skipped = meta_of(team, outcome.ticket_id)[-1]["chat"]["skipped_attachments"]
    assert skipped == [{"filename": "third.txt", "size": 1, "reason": "the ticket holds 2 files already"}]


@pytest.mark.parametrize("data", ["not base64!!", "QUJD\nRA==", "QUJ", "\u00e9\u00e9\u00e9\u00e9"])
def test_malformed_base64_refuses_the_body_and_writes_nothing(team: Team, hooks: WebhookIngest, data: str) -> None:
    with team.workspace.reading() as connection:
        before = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
    with pytest.raises(PayloadInvalid) as refused:
        post(hooks, "chat", chat_with([{"filename": "x.txt", "data_base64": data}]))
    assert refused.value.field == "messages.0.attachments.0.data_base64"
    with team.workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == before


def test_unknown_file_fields_and_too_many_files_are_refused(hooks: WebhookIngest) -> None:
    with pytest.raises(PayloadInvalid, match=r"attachments\.0\.url"):
        post(hooks, "chat", chat_with([{"filename": "x", "data_base64": "", "url": "http://169.254.169.254/"}]))
    with pytest.raises(PayloadInvalid, match=r"attachments"):
        post(hooks, "chat", chat_with([{"filename": "x", "data_base64": ""}] * 101))


def test_a_body_over_the_mail_limit_is_refused(team: Team, settings: ChannelSettings, applier: Any) -> None:
    tight = replace(settings, limits=replace(MailLimits(), max_bytes=3 * 1024 * 1024))
    hooks = WebhookIngest(team.workspace.engine, applier, tight)
    huge = b64(b"z" * (3 * 1024 * 1024))
    with pytest.raises(PayloadInvalid, match="the body is over"):
        post(hooks, "chat", chat_with([{"filename": "z.bin", "data_base64": huge}]))


def test_social_and_web_form_files_land_too(team: Team, hooks: WebhookIngest) -> None:
    social = post(
        hooks,
        "social",
        {
            "network": "mastodon",
            "thread_id": "t-1",
            "message_id": "m-1",
            "handle": "@sam",
            "text": "broken, see pic",
            "attachments": [{"filename": "pic.png", "content_type": "image/png", "data_base64": b64(PNG)}],
        },
    )
    form = post(
        hooks,
        "webform",
        {
            "submission_id": "s-1",
            "email": "rita@example.com",
            "subject": "Receipt",
            "message": "attached",
            "attachments": [{"filename": "r.txt", "data_base64": b64(b"receipt")}],
        },
    )
    assert [row[0] for row in files_of(team, social.ticket_id)] == ["pic.png"]
    assert [(row[0], row[4]) for row in files_of(team, form.ticket_id)] == [("r.txt", "text/plain")]


# --- out: signed links --------------------------------------------------------------------------

SHA = "a" * 64
OTHER = "b" * 64


def link_parts(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path.rsplit("/", 1)[1], query["name"][0], int(query["expires"][0]), query["sig"][0]


def test_a_link_checks_out_only_for_its_file_name_and_time(clock: Any) -> None:
    url, expires_at = make_link("https://help.acme.test/", "s" * 20, SHA, "shot.png", utcnow(), 30)
    assert url.startswith(f"https://help.acme.test/v1/files/{SHA}?")
    sha256, name, expires, sig = link_parts(url)
    check_link("s" * 20, sha256, name, expires, sig, utcnow())
    assert expires_at.endswith("Z")
    for secret, file, shown, stamp, signature in [
        ("t" * 20, SHA, name, expires, sig),  # another server's secret
        ("s" * 20, OTHER, name, expires, sig),  # the link moved to another file
        ("s" * 20, SHA, "shot.html", expires, sig),  # the name swapped for one a browser renders
        ("s" * 20, SHA, name, expires + 3600, sig),  # the expiry pushed back
        ("s" * 20, SHA, name, expires, "0" * 64),  # forged
    ]:
        with pytest.raises(LinkRefused, match="signature"):
            check_link(secret, file, shown, stamp, signature, utcnow())
    clock.advance(timedelta(minutes=31))
    with pytest.raises(LinkRefused, match="expired"):
        check_link("s" * 20, sha256, name, expires, sig, utcnow())


def test_a_replys_files_go_to_the_platform_as_fresh_signed_links(
    team: Team, settings: ChannelSettings, applier: Any, clock: Any
) -> None:
    live = replace(settings, public_url="https://help.acme.test", file_url_minutes=10)
    live = replace(
        live,
        webhooks={**live.webhooks, "chat": WebhookSettings(secret="chat-secret", outbound_url="https://chat.test/r")},
    )
    outcome = post(WebhookIngest(team.workspace.engine, applier, live), "chat", CHAT)
    store = BlobStore(settings.attachments_dir)
    stored = store.put_bytes(PNG)
    answer = write.apply(
        team.workspace,
        "ticket.reply",
        {
            "ticket_id": outcome.ticket_id,
            "body": "Here is the label.",
            "attachments": [
                {
                    "sha256": stored.sha256,
                    "filename": "label.png",
                    "size": len(PNG),
                    "content_type": "image/png",
                    "sniffed_type": "image/png",
                }
            ],
        },
        actor=team.agent,
    )
    with team.workspace.engine.begin() as connection:
        queue_replies(connection, [answer.result["message_id"]], live, now=utcnow())
    sent: list[dict[str, Any]] = []
    answers = iter([503, 200])

    def platform(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(next(answers))

    sender = WebhookSender(live, client=httpx.Client(transport=httpx.MockTransport(platform)))
    now = [utcnow()]
    worker = OutboxWorker(team.workspace.engine, {"chat": sender}, clock=lambda: now[0])
    worker.deliver_due()
    clock.advance(timedelta(hours=2))  # a retry much later still carries a live link
    now[0] = utcnow()
    worker.deliver_due()
    assert len(sent) == 2
    first, second = (body["attachments"][0] for body in sent)
    assert (second["filename"], second["size"], second["content_type"], second["sha256"]) == (
        "label.png",
        len(PNG),
        "image/png",
        stored.sha256,
    )
    assert first["url"] != second["url"]
    sha256, name, expires, sig = link_parts(second["url"])
    check_link(live.secret, sha256, name, expires, sig, utcnow())
    with pytest.raises(LinkRefused, match="expired"):
        check_link(live.secret, *link_parts(first["url"]), utcnow())


def test_without_a_public_url_the_files_are_listed_without_links(
    team: Team, settings: ChannelSettings, applier: Any
) -> None:
    sender = WebhookSender(settings, client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))))
    body = sender._with_links(json.dumps({"attachments": [{"sha256": SHA, "filename": "a.txt"}]}))
    assert json.loads(body)["attachments"][0]["url"] is None
