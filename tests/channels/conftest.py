"""Channel fixtures: a team workspace, channel settings, and the local write path as the applier."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings, WebhookSettings
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace
from tests.conftest import Team

FIXTURES = Path(__file__).with_name("fixtures")
SECRET = "channel-test-secret-0123456789"
#: Our receiving mail server (``[channels] authserv_id``) and its verdict that the sender is who
#: the From says: what lets a mail thread by its subject tag.
OUR_MX = "mx.acme.test"
VERIFIED = {"Authentication-Results": f"{OUR_MX}; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"}

Applier = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def settings(workspace: Workspace) -> ChannelSettings:
    return ChannelSettings(
        secret=SECRET,
        mail_domain="acme.test",
        attachments_dir=workspace.attachments_dir,
        authserv_ids=(OUR_MX,),
        webhooks={
            "chat": WebhookSettings(secret="chat-secret", outbound_url="http://127.0.0.1:9/chat"),
            "webform": WebhookSettings(secret="form-secret"),
            "social": WebhookSettings(secret="social-secret", outbound_url="http://127.0.0.1:9/social"),
            "sms": WebhookSettings(secret="sms-secret", outbound_url="http://127.0.0.1:9/sms"),
        },
    )


@pytest.fixture
def applier(workspace: Workspace) -> Applier:
    def apply(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return write.apply(workspace, name, args, actor=SYSTEM).result

    return apply


@pytest.fixture
def mail_ingest(team: Team, settings: ChannelSettings, applier: Applier) -> MailIngest:
    return MailIngest(team.workspace.engine, applier, settings)


def make_mail(
    *,
    sender: str = "Alice Example <alice@example.com>",
    to: str = "support@acme.test",
    subject: str = "Printer on fire",
    body: str = "Hello, my printer is on fire.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain, well-formed mail; hostile ones live in fixtures/ as raw files."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()
