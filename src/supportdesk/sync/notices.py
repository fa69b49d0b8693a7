"""What the server asks its admins to act on, kept in the workspace from the last sync.

``GET /v1/me`` answers an admin's token ``notices``: things that need an admin until someone acts
— today a webhook endpoint the server disabled after a day of failed deliveries (enabling it ends
the notice). Every sync round reads them and keeps them here (a workspace setting, not shared
data), so ``supportdesk status`` shows them without asking the server, and the console notifies
each one once per session when a round brings it.

The text comes from the network: each field is cut to one line without control characters
before it is kept, and anything but a list of objects is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.domain.text_safety import sanitize_line

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace

#: The workspace setting the last round's notices live in.
SETTING = "server_notices"
#: Notices kept at most (a server never has this many; a hostile one is cut short).
MAX_NOTICES = 20
_FIELDS = ("kind", "message", "endpoint_id", "url", "since", "reason")


@dataclass(frozen=True)
class Notice:
    kind: str
    message: str
    since: str | None = None

    @property
    def key(self) -> str:
        """Tells notices apart: the console shows each key once per session."""
        return f"{self.kind}|{self.message}|{self.since or ''}"


def cleaned(me: dict[str, Any]) -> list[dict[str, str]]:
    """The ``notices`` of a ``/v1/me`` answer, each field one safe line (see the module)."""
    found = me.get("notices")
    if not isinstance(found, list):
        return []
    kept: list[dict[str, str]] = []
    for item in found[:MAX_NOTICES]:
        if not isinstance(item, dict) or not isinstance(item.get("message"), str):
            continue
        notice = {
            name: sanitize_line(str(item[name]), cap=500, redact=False)
            for name in _FIELDS
            if isinstance(item.get(name), str | int)
        }
        notice.setdefault("kind", "notice")
        kept.append(notice)
    return kept


def remember(workspace: Workspace, me: dict[str, Any]) -> None:
    """Keep the notices of this round's ``/v1/me`` (written only when they changed)."""
    notices = cleaned(me)
    if workspace.setting(SETTING, []) != notices:
        workspace.set_setting(SETTING, notices)


def remembered(workspace: Workspace) -> list[Notice]:
    """The notices the last sync round brought (none for a local workspace)."""
    stored = workspace.setting(SETTING, [])
    if not isinstance(stored, list):
        return []
    return [
        Notice(str(item.get("kind") or "notice"), str(item["message"]), item.get("since"))
        for item in stored
        if isinstance(item, dict) and isinstance(item.get("message"), str)
    ]


def stored(workspace: Workspace) -> list[dict[str, str]]:
    """The notices as kept, field by field (``supportdesk status --json``)."""
    found = workspace.setting(SETTING, [])
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []
