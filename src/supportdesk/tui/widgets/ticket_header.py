"""The ticket's fields at the top of the pane, each with the key that edits it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.content import Content
from textual.widgets import Static

from supportdesk.store.reads import TicketDetail
from supportdesk.store.times import relative
from supportdesk.tui.keymap import effective_keys
from supportdesk.tui.text import safe_line

FIELD_KEYS = {
    "status": "ticket.status",
    "priority": "ticket.priority",
    "type": "ticket.type",
    "group": "ticket.group",
    "assignee": "ticket.assignee",
    "tags": "ticket.tags",
}


def _key(field: str, keymap: dict[str, str]) -> str:
    return effective_keys(FIELD_KEYS[field], keymap).split(",")[0]


def header_content(
    detail: TicketDetail,
    *,
    now: datetime,
    keymap: dict[str, str],
    viewers: list[str],
    message_count: int,
) -> Content:
    """Three lines: number and subject; the fields with their keys; requester and times."""
    t: dict[str, Any] = detail.ticket
    number = f"#{t['number']}" if t["number"] is not None else "(number pending)"
    subject = safe_line(t["subject"], cap=300)
    first = Content.styled(number, "bold") + Content("  ") + Content.styled(subject, "bold")
    if t.get("merged_into_id"):
        first += Content.styled("  (merged)", "italic")

    def field(name: str, value: str | None) -> Content:
        shown = safe_line(value, cap=60) if value else "—"
        return (
            Content.styled(f"{name} ", "dim")
            + Content(shown)
            + Content.styled(f" [{_key(name, keymap)}]", "dim")
            + Content("   ")
        )

    second = Content("")
    second += field("status", str(t["status"]).replace("_", " "))
    second += field("priority", str(t["priority"]))
    second += field("type", str(t["type"]))
    second += field("group", t.get("group_name"))
    second += field("assignee", t.get("assignee"))
    second += field("tags", ", ".join(detail.tags) if detail.tags else None)
    requester = safe_line(detail.requester.get("name") or "", cap=80) or "(no name)"
    primary = next(
        (i["value"] for i in sorted(detail.identities, key=lambda i: (not i["is_primary"], i["kind"] != "email"))),
        None,
    )
    third = Content.styled("requester ", "dim") + Content(requester)
    if primary:
        third += Content(f" <{safe_line(primary, cap=120)}>")
    created: datetime = t["created_at"]
    updated: datetime = t["updated_at"]
    third += Content.styled("   via ", "dim") + Content(str(t["channel"]))
    third += Content.styled("   created ", "dim") + Content(
        f"{created.astimezone():%Y-%m-%d %H:%M} ({relative(created, now)})"
    )
    third += Content.styled("   updated ", "dim") + Content(relative(updated, now))
    third += Content.styled(f"   {message_count} messages", "dim")
    if viewers:
        third += Content.styled("   also here: ", "dim") + Content.styled(
            ", ".join(safe_line(v, cap=40) for v in viewers), "bold"
        )
    return Content("\n").join([first, second, third])


class TicketHeader(Static):
    DEFAULT_CSS = "TicketHeader { height: auto; padding: 0 1; background: $boost; }"

    def show(self, content: Content) -> None:
        self.update(content)


Clock = Callable[[], datetime]
