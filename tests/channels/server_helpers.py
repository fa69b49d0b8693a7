"""A real team server with its channels on: ``supportdesk serve --smtp-port … --relay …`` in a
subprocess, a recording SMTP relay and a recording chat platform beside it, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import smtplib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

from tests.channels.http_helpers import Receiver, receiving
from tests.channels.smtp_helpers import RecordingRelay, free_port, relay
from tests.live import Deployment, deploy

SECRET = "server-channel-secret-0123456789"
EMAIL_TOKEN = "mta-pipe-token-0123456789abcdef"
CHAT_SECRET = "chat-inbound-secret"
CHAT_OUT_SECRET = "chat-outbound-secret"
FORM_SECRET = "form-inbound-secret"

T = TypeVar("T")


def write_config(tables: dict[str, dict[str, Any]]) -> Path:
    """Write the config file the server reads (``SUPPORTDESK_CONFIG``, set for every test)."""
    path = Path(os.environ["SUPPORTDESK_CONFIG"])
    lines: list[str] = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def channel_tables(
    receiver_url: str,
    attachments: Path | None,
    extra: dict[str, Any] | None = None,
    webhooks: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    channels: dict[str, Any] = {
        "secret": SECRET,
        "mail_domain": "acme.test",
        "email_token": EMAIL_TOKEN,
        **(extra or {}),
    }
    if attachments is not None:
        channels["attachments_dir"] = str(attachments)
    if webhooks is None:
        webhooks = {
            "chat": {"secret": CHAT_SECRET, "outbound_url": receiver_url, "outbound_secret": CHAT_OUT_SECRET},
            "webform": {"secret": FORM_SECRET},
        }
    return {"channels": channels, **{f"channels.webhooks.{name}": table for name, table in webhooks.items()}}


def wait_for(probe: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class ChannelServer:
    deployment: Deployment
    relay: RecordingRelay
    receiver: Receiver
    smtp_port: int
    attachments: Path

    def smtp(self, raw: bytes, sender: str, recipients: list[str]) -> tuple[int, str]:
        """Send one mail to the server's listener; returns the reply to DATA."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as client:
            client.ehlo()
            client.mail(sender)
            for address in recipients:
                code, reply = client.rcpt(address)
                if code >= 400:
                    return code, reply.decode()
            code, reply = client.data(raw)
        return code, reply.decode()

    def server_rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.deployment.team.db.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]


@contextmanager
def channel_server(
    backend: str,
    tmp_path: Path,
    channels: dict[str, Any] | None = None,
    webhooks: Callable[[str], dict[str, dict[str, Any]]] | None = None,
) -> Iterator[ChannelServer]:
    """A running server on ``backend`` with email, chat and web form configured (``channels``
    adds keys to the ``[channels]`` table; ``webhooks(receiver_url)`` replaces the webhook tables)."""
    recorder = RecordingRelay()
    with receiving() as receiver, relay(recorder) as relay_port:
        configured = tmp_path / "mail-attachments" if backend == "postgresql" else None
        hooks = webhooks(receiver.url) if webhooks is not None else None
        write_config(channel_tables(receiver.url, configured, channels, hooks))
        smtp_port = free_port()
        extra = [
            "--smtp-port",
            str(smtp_port),
            "--relay",
            f"smtp://127.0.0.1:{relay_port}",
            "--outbox-interval",
            "0.1",
        ]
        with deploy(backend, tmp_path, extra=extra) as deployment:
            attachments = configured or tmp_path / "server-attachments"
            yield ChannelServer(deployment, recorder, receiver, smtp_port, attachments)
