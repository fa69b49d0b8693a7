"""The root of the sync layer's errors, in a module of its own so that importing it costs nothing
(``supportdesk status`` asks the sync lock without loading the HTTP client)."""

from __future__ import annotations

from supportdesk.errors import SupportdeskError


class SyncError(SupportdeskError):
    """Sync could not complete; the message is one sentence for the agent."""
