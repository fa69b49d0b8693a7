"""The names of the webhook channels, one line each: the one list everything else derives from.

A leaf, so the settings can check ``[channels.webhooks.<name>]`` without importing the channels
themselves (which import the settings, the ingest and the senders). Each name is also the module
of its channel under :mod:`supportdesk.channels.webhooks` and the name that channel posts to
(``tests/channels/test_registry.py`` checks both).
"""

from __future__ import annotations

#: The webhook channels, by module and by name. To add one, see "Add a webhook channel" in
#: ARCHITECTURE.md.
REGISTERED = (
    "chat",
    "webform",
    "social",
    "sms",
)
