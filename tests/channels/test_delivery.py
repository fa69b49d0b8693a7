"""The outbox worker against real relays: retries with backoff, never twice, auth, STARTTLS."""

from __future__ import annotations

import ssl
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from supportdesk.channels.delivery import OutboxWorker
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings, RelayURL
from supportdesk.channels.smtp_out import SmtpSender
from supportdesk.config import ConfigError
from supportdesk.store.models_channels import ChannelOutbox
from supportdesk.store.times import utcnow
from tests.channels.conftest import make_mail
from tests.channels.smtp_helpers import RecordingRelay, authenticator, free_port, relay, self_signed_certificate
from tests.conftest import Team


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def rows(team: Team) -> list[dict[str, Any]]:
    with team.workspace.engine.connect() as connection:
        table = ChannelOutbox.__table__  # type: ignore[attr-defined]
        return [dict(r) for r in connection.execute(select(table).order_by(table.c.key)).mappings()]


def worker(team: Team, url: str, clock: Clock | None = None, **options: Any) -> OutboxWorker:
    sender = SmtpSender(RelayURL.parse(url), timeout=10, **options)
    return OutboxWorker(team.workspace.engine, {"email": sender}, clock=clock or utcnow)


def test_relay_urls() -> None:
    relay_url = RelayURL.parse("smtp://user%40acme:p%3Ass@mail.acme.test:587")
    assert (relay_url.host, relay_url.port, relay_url.username, relay_url.password) == (
        "mail.acme.test",
        587,
        "user@acme",
        "p:ss",
    )
    assert str(relay_url) == "smtp://user@acme:***@mail.acme.test:587"
    assert RelayURL.parse("smtps://mail.acme.test").port == 465
    with pytest.raises(ConfigError, match="smtp://user:pass@host:port"):
        RelayURL.parse("http://mail.acme.test")


@pytest.mark.integration
def test_a_relay_that_is_down_is_retried_with_backoff_then_delivered_once(team: Team, mail_ingest: MailIngest) -> None:
    mail_ingest.ingest(make_mail())
    port = free_port()
    clock = Clock()
    down = worker(team, f"smtp://127.0.0.1:{port}", clock)
    [first] = down.deliver_due()
    assert first.status == "queued" and "cannot reach the relay" in str(first.error)
    [row] = rows(team)
    assert row["attempts"] == 1 and row["next_attempt_at"] == clock.now + timedelta(seconds=30)
    assert down.deliver_due() == []  # not due yet
    clock.now += timedelta(seconds=31)
    [second] = down.deliver_due()
    assert rows(team)[0]["next_attempt_at"] == clock.now + timedelta(seconds=60)
    assert second.attempts == 2

    recorder = RecordingRelay()
    with relay(recorder, port=port):
        clock.now += timedelta(seconds=61)
        assert [d.status for d in down.deliver_due()] == ["sent"]
        clock.now += timedelta(hours=2)
        assert down.deliver_due() == []
    assert len(recorder.received) == 1
    assert rows(team)[0]["status"] == "sent" and rows(team)[0]["sent_at"] is not None


def test_gives_up_after_the_last_attempt(team: Team, mail_ingest: MailIngest) -> None:
    mail_ingest.ingest(make_mail())
    clock = Clock()
    down = OutboxWorker(
        team.workspace.engine,
        {"email": SmtpSender(RelayURL.parse(f"smtp://127.0.0.1:{free_port()}"), timeout=5)},
        clock=clock,
        max_attempts=3,
    )
    statuses = []
    for _ in range(3):
        statuses += [d.status for d in down.deliver_due()]
        clock.now += timedelta(hours=1)
    assert statuses == ["queued", "queued", "failed"]
    assert rows(team)[0]["last_error"].startswith("gave up after 3 attempts")


@pytest.mark.integration
def test_a_refused_recipient_fails_for_good(team: Team, mail_ingest: MailIngest) -> None:
    mail_ingest.ingest(make_mail())
    recorder = RecordingRelay(refuse={"alice@example.com"})
    with relay(recorder) as port:
        [delivery] = worker(team, f"smtp://127.0.0.1:{port}").deliver_due()
    assert delivery.status == "failed"
    assert "550" in str(delivery.error)


@pytest.mark.integration
def test_two_workers_never_send_the_same_mail_twice(team: Team, mail_ingest: MailIngest) -> None:
    for n in range(3):
        mail_ingest.ingest(make_mail(sender=f"customer{n}@example.com", subject=f"Question {n}"))
    recorder = RecordingRelay()
    with relay(recorder) as port:
        workers = [worker(team, f"smtp://127.0.0.1:{port}") for _ in range(4)]
        threads = [threading.Thread(target=w.deliver_due) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ids = [d.message["Message-ID"] for d in recorder.received]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert {r["status"] for r in rows(team)} == {"sent"}


def tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A relay's server context and a client context that trusts it (a self-signed localhost)."""
    cert, key = self_signed_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    return server_context, ssl.create_default_context(cafile=str(cert))


@pytest.mark.integration
def test_credentials_from_the_relay_url_are_used(team: Team, mail_ingest: MailIngest, tmp_path: Path) -> None:
    mail_ingest.ingest(make_mail())
    recorder = RecordingRelay()
    server_context, client_context = tls_contexts(tmp_path)
    options = {"authenticator": authenticator("desk", "s3cret"), "auth_required": True, "tls_context": server_context}
    with relay(recorder, **options) as port:
        url = f"smtp://desk:nope@localhost:{port}"
        [wrong] = worker(team, url, tls_context=client_context).deliver_due()
        assert wrong.status == "queued" and "credentials" in str(wrong.error)
        assert recorder.received == []
        clock = Clock()
        clock.now += timedelta(minutes=5)
        [right] = worker(team, f"smtp://desk:s3cret@localhost:{port}", clock, tls_context=client_context).deliver_due()
    assert right.status == "sent" and len(recorder.received) == 1 and recorder.received[0].tls is True


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_relay_password_never_crosses_without_tls_unless_the_config_says_so(
    team: Team, mail_ingest: MailIngest
) -> None:
    mail_ingest.ingest(make_mail())
    recorder = RecordingRelay()
    tried: list[str] = []
    check = authenticator("desk", "s3cret")

    def recording(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        tried.append(mechanism)
        return check(server, session, envelope, mechanism, data)

    # a relay that offers no STARTTLS (or whose offer an attacker on the path stripped)
    options = {"authenticator": recording, "auth_required": True, "auth_require_tls": False}
    with relay(recorder, **options) as port:
        [refused] = worker(team, f"smtp://desk:s3cret@127.0.0.1:{port}").deliver_due()
        assert refused.status == "queued"  # retried: fixing the relay or the setting sends it
        assert "offers no STARTTLS, so its password was not sent" in str(refused.error)
        assert "relay_login_without_tls = true" in str(refused.error)
        assert tried == [] and recorder.received == []

        clock = Clock()
        clock.now += timedelta(minutes=5)
        sender = SmtpSender(RelayURL.parse(f"smtp://desk:s3cret@127.0.0.1:{port}"), login_without_tls=True)
        [sent] = OutboxWorker(team.workspace.engine, {"email": sender}, clock=clock).deliver_due()
    assert sent.status == "sent" and tried and len(recorder.received) == 1 and recorder.received[0].tls is False


@pytest.mark.integration
def test_starttls_is_used_when_the_relay_offers_it(team: Team, mail_ingest: MailIngest, tmp_path: Path) -> None:
    server_context, client_context = tls_contexts(tmp_path)
    mail_ingest.ingest(make_mail())
    recorder = RecordingRelay()
    with relay(recorder, tls_context=server_context, require_starttls=True) as port:
        [delivery] = worker(team, f"smtp://localhost:{port}", tls_context=client_context).deliver_due()
    assert delivery.status == "sent"
    assert recorder.received[0].tls is True


def test_settings_come_from_the_channels_table(tmp_path: Path) -> None:
    settings = ChannelSettings.from_section(
        {
            "secret": "a-long-enough-secret",
            "relay": "smtp://u:p@relay.acme.test:2525",
            "auto_reply_limit": 5,
            "webhooks": {"chat": {"secret": "x", "outbound_url": "https://chat.example/reply"}},
        },
        attachments_dir=tmp_path,
    )
    assert settings.relay == RelayURL("relay.acme.test", 2525, "u", "p")
    assert settings.relay_login_without_tls is False and settings.authserv_ids == ()
    assert settings.auto_reply_limit == 5 and settings.auto_reply_global_limit == 500
    assert settings.webhook("chat") is not None and settings.webhook("social") is None
    with pytest.raises(ConfigError, match="secret is missing"):
        ChannelSettings.from_section({}, attachments_dir=tmp_path)
    with pytest.raises(ConfigError, match="at least 16 characters"):
        ChannelSettings.from_section({"secret": "short"}, attachments_dir=tmp_path)
    with pytest.raises(ConfigError, match="webhook channels are chat, webform, social, sms"):
        ChannelSettings.from_section(
            {"secret": "a-long-enough-secret", "webhooks": {"fax": {}}}, attachments_dir=tmp_path
        )
    # a typo is an error naming the key, never a setting silently left at its default
    with pytest.raises(ConfigError, match="no setting 'authserv-id'"):
        ChannelSettings.from_section({"secret": "a-long-enough-secret", "authserv-id": "mx"}, attachments_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"\[channels.webhooks.sms\] has no setting 'outbound-url'"):
        ChannelSettings.from_section(
            {"secret": "a-long-enough-secret", "webhooks": {"sms": {"secret": "x", "outbound-url": "u"}}},
            attachments_dir=tmp_path,
        )
    with pytest.raises(ConfigError, match="relay_login_without_tls must be true or false"):
        ChannelSettings.from_section(
            {"secret": "a-long-enough-secret", "relay_login_without_tls": "yes"}, attachments_dir=tmp_path
        )
    with pytest.raises(ConfigError, match="authserv_id must be a host name"):
        ChannelSettings.from_section({"secret": "a-long-enough-secret", "authserv_id": [""]}, attachments_dir=tmp_path)
    listed = ChannelSettings.from_section(
        {"secret": "a-long-enough-secret", "authserv_id": ["MX1.acme.test", "mx2.acme.test"]}, attachments_dir=tmp_path
    )
    assert listed.authserv_ids == ("mx1.acme.test", "mx2.acme.test")
