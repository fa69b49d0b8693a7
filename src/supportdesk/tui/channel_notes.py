"""What the timeline says about a message besides its text: how it reached us and what to doubt.

Under an inbound mail: its real From, how it was threaded onto the ticket, and warnings (a
Reply-To that differs from From, a failed authentication verdict, automated mail). Under a chat,
social or web-form message: where it came from (the network and handle of a post); under a phone
entry: the call's direction, number and length. A survey answer and a rule's automatic reply are
named as such. Every attachment: name, size and type.

All of this comes from headers and payloads a customer controls: each line is made safe with
``safe_line`` and the timeline draws it as plain segments, never as markup.
"""

from __future__ import annotations

from typing import Any

from supportdesk.channels.explain import channel_line, sender_notes, threading_line
from supportdesk.store.reads import TimelineEntry
from supportdesk.tui.text import safe_line

#: ``(text, component)``: ``meta`` for facts, ``warn`` for what should make an agent pause.
Note = tuple[str, str]

CAP = 200


def arrow(entry: TimelineEntry) -> str:
    """← for what came in, → for what went out; a logged call goes the way the call went."""
    call = entry.meta.get("call")
    direction = call.get("direction") if isinstance(call, dict) else entry.direction
    return "←" if direction == "inbound" else "→"


def kind_label(entry: TimelineEntry) -> str:
    """What the message is, for its heading."""
    meta = entry.meta
    if isinstance(meta.get("call"), dict):
        return "phone call" if entry.public else "phone call (internal)"
    if meta.get("auto_reply"):
        return "auto-reply"
    if isinstance(meta.get("survey"), dict):
        return "survey answer"
    if not entry.public:
        return "INTERNAL NOTE"
    return "customer" if entry.author_kind == "customer" else "public reply"


def _survey(survey: dict[str, Any]) -> str:
    parts = []
    if survey.get("csat"):
        parts.append(f"satisfaction {survey['csat']}")
    if survey.get("ces") is not None:
        parts.append(f"effort {survey['ces']}/7")
    if survey.get("nps") is not None:
        parts.append(f"would recommend {survey['nps']}/10")
    return "survey: " + (", ".join(parts) if parts else "answered")


def notes(entry: TimelineEntry) -> list[Note]:
    """The lines shown between a message's heading and its text."""
    meta: dict[str, Any] = entry.meta if isinstance(entry.meta, dict) else {}
    lines: list[Note] = []
    if entry.direction == "inbound" and isinstance(meta.get("email"), dict):
        for text, warning in sender_notes(meta):
            lines.append((("⚠ " if warning else "") + safe_line(text, cap=CAP), "warn" if warning else "meta"))
        threading = threading_line(meta)
        if threading:
            lines.append((safe_line(threading, cap=CAP), "meta"))
    where = channel_line(meta)
    if where:
        lines.append((safe_line(where, cap=CAP), "meta"))
    if isinstance(meta.get("survey"), dict):
        lines.append((safe_line(_survey(meta["survey"]), cap=CAP), "meta"))
    if meta.get("auto_reply"):
        lines.append(("sent automatically by a routing rule", "meta"))
    return lines


def attachment_line(attachment: dict[str, Any]) -> str:
    name = safe_line(str(attachment.get("filename") or "(no name)"), cap=120)
    kind = safe_line(str(attachment.get("content_type") or ""), cap=60)
    size = int(attachment.get("size") or 0)
    return f"📎 {name} ({size:,} bytes{', ' + kind if kind else ''})"
