"""The ticket's fields at the top of the pane, each with the key that edits it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.content import Content

from supportdesk.store import ticket_fields
from supportdesk.store.reads import TicketDetail
from supportdesk.store.ticket_fields import TicketField
from supportdesk.store.times import relative
from supportdesk.tui.actions import BY_ID
from supportdesk.tui.keymap import effective_keys
from supportdesk.tui.text import safe_line
from supportdesk.tui.widgets.field_lines import FieldLines, FieldLinesView, field


def _key(name: str, keymap: dict[str, str]) -> str | None:
    """The key of the console action ``ticket.<field>`` that edits it, if there is one."""
    if f"ticket.{name}" not in BY_ID:
        return None
    return effective_keys(f"ticket.{name}", keymap).split(",")[0] or None


def _shown(field: TicketField, detail: TicketDetail) -> str | None:
    """A header field's value as the agent reads it (names, not ids)."""
    t = detail.ticket
    if field.kind == "tags":
        return ", ".join(detail.tags) if detail.tags else None
    if field.kind == "group":
        return t.get("group_name")
    if field.kind == "agent":
        return t.get("assignee")
    value = t.get(field.store_column)
    return str(value).replace("_", " ") if value is not None and field.kind == "choice" else value


def header_content(
    detail: TicketDetail,
    *,
    now: datetime,
    keymap: dict[str, str],
    viewers: list[str],
    message_count: int,
    spent: tuple[int, int] = (0, 0),
) -> FieldLines:
    """Number and subject; the fields with the keys that edit them; requester and times."""
    t: dict[str, Any] = detail.ticket
    number = f"#{t['number']}" if t["number"] is not None else "(number pending)"
    subject = safe_line(t["subject"], cap=300)
    title = Content.styled(number, "bold") + Content("  ") + Content.styled(subject, "bold")
    if t.get("merged_into_id"):
        title += Content.styled("  (merged)", "italic")

    def editable(name: str, value: str | None) -> Content:
        return field(name, safe_line(value, cap=60) if value else "—", _key(name, keymap))

    fields = tuple(editable(f.name, _shown(f, detail)) for f in ticket_fields.in_order("header"))
    requester = safe_line(detail.requester.get("name") or "", cap=80) or "(no name)"
    primary = next(
        (i["value"] for i in sorted(detail.identities, key=lambda i: (not i["is_primary"], i["kind"] != "email"))),
        None,
    )
    if primary:
        requester += f" <{safe_line(primary, cap=120)}>"
    created: datetime = t["created_at"]
    updated: datetime = t["updated_at"]
    about = [
        field("requester", requester),
        field("via", str(t["channel"])),
        field("created", f"{created.astimezone():%Y-%m-%d %H:%M} ({relative(created, now)})"),
        field("updated", relative(updated, now)),
        Content.styled(f"{message_count} message{'' if message_count == 1 else 's'}", "dim"),
    ]
    logged, handle = spent
    if logged:  # time logged by hand (W), beside the handle time the console measured
        from supportdesk.domain.time_log import shown

        key = effective_keys("ticket.log_time", keymap).split(",")[0] or None
        about.append(field("time", f"{shown(logged)} logged · {shown(handle)} handle", key))
    if viewers:
        about.append(
            Content.styled("also here: ", "dim")
            + Content.styled(", ".join(safe_line(v, cap=40) for v in viewers), "bold")
        )
    triage = triage_fields(t, keymap)
    return FieldLines(title, (fields, tuple(about), triage) if triage else (fields, tuple(about)))


def triage_fields(ticket: dict[str, Any], keymap: dict[str, str]) -> tuple[Content, ...]:
    """Language, sentiment and intent with triage's confidence (a value without one was set by
    a person), when any is set; the field menu's key corrects them."""
    pieces: list[Content] = []
    for name in ("language", "sentiment", "intent"):
        value = ticket.get(name)
        if not value:
            continue
        known = ticket_fields.field(name)
        shown = safe_line(str(value), cap=40)
        if name == "sentiment" and ticket.get("sentiment_score") is not None:
            shown += f" {float(ticket['sentiment_score']):+.2f}".replace("-", "−")
        confidence = ticket.get(known.confidence) if known.confidence else None
        extra = f" {round(float(confidence) * 100)}%" if confidence is not None else " (by hand)"
        pieces.append(field(name, Content(shown) + Content.styled(extra, "dim")))
    if pieces:
        key = effective_keys("ticket.fields", keymap).split(",")[0] or None
        pieces[-1] = pieces[-1] + (Content(" ") + Content.styled(f"[{key}]", "dim") if key else Content(""))
    return tuple(pieces)


class TicketHeader(FieldLinesView):
    """The fields are laid out again when the width changes, so none is cut in two."""

    DEFAULT_CSS = "TicketHeader { height: auto; padding: 0 1; background: $boost; }"


Clock = Callable[[], datetime]
