"""The webhook channels: one module each, registered by one line each in
:mod:`supportdesk.channels.webhook_names`.

Everything that needs to know the webhook channels — the endpoint, ``[channels.webhooks.*]`` in
the settings, the outbox that queues agents' replies, the senders the worker starts — asks this
registry, so a channel registered is known everywhere and one not registered is known
nowhere (``tests/channels/test_registry.py`` walks every registered channel through all of
them). Each module defines ``CHANNEL``, an instance of its
:class:`~supportdesk.channels.webhooks.base.WebhookChannel`. To add one, see "Add a webhook
channel" in ARCHITECTURE.md.
"""

from __future__ import annotations

from importlib import import_module

from supportdesk.channels.webhook_names import REGISTERED
from supportdesk.channels.webhooks.base import WebhookChannel

CHANNELS: tuple[WebhookChannel, ...] = tuple(import_module(f"{__name__}.{module}").CHANNEL for module in REGISTERED)
_BY_NAME = {channel.name: channel for channel in CHANNELS}


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def get(name: str) -> WebhookChannel | None:
    """The channel posting to ``/v1/channels/<name>``, or None."""
    return _BY_NAME.get(name)


__all__ = ["CHANNELS", "REGISTERED", "WebhookChannel", "get", "names"]
