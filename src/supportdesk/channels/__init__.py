"""Channels: how customers' messages arrive and how our replies leave.

Email (RFC 822 parsing within limits, signed Message-IDs for threading, SMTP in and out), chat,
web form and social webhooks, and the outbox that delivers replies exactly once per message.
Everything here turns outside input into named mutations through an *applier* — a callable
``(mutation_name, args) -> result`` — so the same code runs against a local workspace in tests
and against the team server's own write path. This package imports no web framework and no UI.
"""

from __future__ import annotations

from supportdesk.channels.errors import ChannelError, MailRejected, SignatureError
from supportdesk.channels.settings import ChannelSettings, MailLimits, RelayURL, WebhookSettings

__all__ = [
    "ChannelError",
    "ChannelSettings",
    "MailLimits",
    "MailRejected",
    "RelayURL",
    "SignatureError",
    "WebhookSettings",
]
