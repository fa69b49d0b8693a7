"""The merge suggestion of a ticket, read back from its "possible duplicate" note.

``ticket.flag_duplicate`` writes the suggestion into the note's ``meta`` (``duplicate_of``:
the older ticket's id, number and score) rather than into a column of its own: the note is
what agents read in the timeline, it syncs and erases like every message, and a ticket has at
most one. This module only reads: it imports nothing, so ``tickets show`` and the REST read
stay as quick as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Statuses in which a ticket can still be merged (a merged ticket is closed).
_MERGEABLE = frozenset({"new", "open", "pending", "on_hold"})


def merge_suggestion(ticket: Mapping[str, Any], messages: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """``{"ticket_id", "number", "score", "command"}`` of the ticket this one probably repeats,
    or None: no duplicate note, or the ticket is merged or done with."""
    if ticket.get("merged_into_id") or ticket.get("status") not in _MERGEABLE:
        return None
    for message in messages:
        if message.get("author_kind") != "system":
            continue
        meta = message.get("meta")
        found = meta.get("duplicate_of") if isinstance(meta, Mapping) else None
        if not isinstance(found, Mapping) or not isinstance(found.get("ticket_id"), str):
            continue
        number = found.get("number") if isinstance(found.get("number"), int) else None
        score = found.get("score") if isinstance(found.get("score"), (int, float)) else None
        mine = ticket.get("number") or ticket.get("id")
        return {
            "ticket_id": found["ticket_id"],
            "number": number,
            "score": score,
            "command": f"supportdesk tickets merge {mine} {number or found['ticket_id']}",
        }
    return None
