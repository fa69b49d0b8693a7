"""Read a Zendesk incremental export and turn it into supportdesk export records.

The input is what a script saves while paging through Zendesk's incremental export API: one
JSON document, or one page per line (JSON Lines). A page may hold ``tickets`` (the incremental
ticket export, with ``users``, ``groups`` and ``organizations`` side-loaded), ``ticket_events``
(the incremental ticket-event export with comment events: each event's ``child_events`` of type
``Comment``) and ``users``; a ticket may also carry its ``comments`` (the ticket-comments API)
inline. Everything is gathered first, then each ticket becomes one record in the shape
``supportdesk export`` writes, so the same importer handles both.

Mapping: end users become customers (email and phone become identities, the organization
comes along), agents and admins become agents; public comments by the requester or another end
user are inbound messages, public comments by agents are replies, private comments are
internal notes; ``hold`` is ``on_hold``; an empty priority is ``normal`` and an empty type
``question``; the ticket keeps its Zendesk id as its number, its tags, custom fields (as
``zendesk_field_<id>``) and times. Ids are derived from the Zendesk ids, so importing the same
file again finds every ticket already there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from supportdesk.domain.errors import ValidationFailed
from supportdesk.store import strict_json
from supportdesk.store.ids import uuid7_at

STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
}
CHANNELS = {
    "email": "email",
    "web": "web",
    "web_form": "web",
    "web_widget": "web",
    "web_service": "api",
    "api": "api",
    "mobile": "web",
    "mobile_sdk": "chat",
    "chat": "chat",
    "chat_transcript": "chat",
    "native_messaging": "chat",
    "messaging": "chat",
    "voice": "phone",
    "phone": "phone",
    "sms": "phone",
    "twitter": "social",
    "facebook": "social",
    "instagram_dm": "social",
    "whatsapp": "social",
}
AGENT_ROLES = {"agent": "agent", "admin": "admin"}


def derived_id(kind: str, zendesk_id: Any, when: str | None = None) -> str:
    """A stable UUIDv7 for a Zendesk object: the same object always gets the same id."""
    digest = hashlib.sha256(f"zendesk:{kind}:{zendesk_id}".encode()).digest()
    millis = int(parse_time(when).timestamp() * 1000) if when else 0
    return uuid7_at(millis, int.from_bytes(digest[:10], "big"))


def parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a time", field="created_at") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: str | None) -> str | None:
    return parse_time(value).astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


@dataclass
class ZendeskExport:
    """Everything read from the pages, by Zendesk id."""

    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def add_page(self, page: dict[str, Any]) -> None:
        for name in ("users", "groups", "organizations"):
            store = getattr(self, name)
            for item in page.get(name) or []:
                store[int(item["id"])] = item
        for ticket in page.get("tickets") or []:
            self.tickets[int(ticket["id"])] = ticket  # a later page holds the newer version
            for comment in ticket.get("comments") or []:
                self._add_comment(int(ticket["id"]), comment)
        for event in page.get("ticket_events") or []:
            for child in event.get("child_events") or []:
                if child.get("event_type") in ("Comment", "VoiceComment"):
                    comment = {**child, "created_at": child.get("created_at") or event.get("created_at")}
                    comment.setdefault("via", event.get("via"))
                    self._add_comment(int(event["ticket_id"]), comment)

    def _add_comment(self, ticket_id: int, comment: dict[str, Any]) -> None:
        self.comments.setdefault(ticket_id, {})[int(comment["id"])] = comment


def read_pages(text: str) -> ZendeskExport:
    """Parse a file of one JSON document or of JSON Lines pages."""
    export = ZendeskExport()
    stripped = text.strip()
    if not stripped:
        raise ValidationFailed("the file is empty", field="file")
    try:
        pages: Iterable[Any] = [strict_json.loads(stripped)]
    except json.JSONDecodeError:
        try:
            pages = [strict_json.loads(line) for line in stripped.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise ValidationFailed(f"not JSON (line {error.lineno}): {error.msg}", field="file") from None
        except strict_json.NotJSONNumber as error:
            raise ValidationFailed(f"not JSON: {error}", field="file") from None
    except strict_json.NotJSONNumber as error:
        raise ValidationFailed(f"not JSON: {error}", field="file") from None
    for page in pages:
        if not isinstance(page, dict):
            raise ValidationFailed("each page must be a JSON object with tickets, users …", field="file")
        export.add_page(page)
    return export


def _channel(via: Any, default: str = "web") -> str:
    name = via.get("channel") if isinstance(via, dict) else None
    return CHANNELS.get(str(name), default) if name is not None else default


class _People:
    """Zendesk users as supportdesk agents and customers."""

    def __init__(self, export: ZendeskExport) -> None:
        self.export = export
        self.customers: dict[int, dict[str, Any]] = {}

    def is_agent(self, user_id: int | None) -> bool:
        user = self.export.users.get(int(user_id)) if user_id is not None else None
        return user is not None and str(user.get("role")) in AGENT_ROLES

    def agent(self, user_id: int) -> dict[str, Any]:
        user = self.export.users[int(user_id)]
        return {
            "id": derived_id("user", user_id, user.get("created_at")),
            "name": user.get("name") or f"Zendesk agent {user_id}",
            "email": (user.get("email") or f"agent-{user_id}@zendesk.invalid").lower(),
            "role": AGENT_ROLES[str(user.get("role"))],
        }

    def customer(self, user_id: int) -> dict[str, Any]:
        if user_id in self.customers:
            return self.customers[user_id]
        user = self.export.users.get(int(user_id), {"id": user_id})
        created = iso(user.get("created_at"))
        identities = []
        if user.get("email"):
            identities.append({"kind": "email", "value": user["email"], "is_primary": True})
        if user.get("phone"):
            identities.append({"kind": "phone", "value": user["phone"], "is_primary": True})
        for index, identity in enumerate(identities):
            identity["id"] = derived_id(f"identity{index}", user_id, user.get("created_at"))
            identity["created_at"] = created
        organization = (
            self.export.organizations.get(int(user["organization_id"])) if user.get("organization_id") else None
        )
        record = {
            "id": derived_id("user", user_id, user.get("created_at")),
            "name": user.get("name") or "",
            "locale": str(user.get("locale") or "en"),
            "notes": str(user.get("notes") or ""),
            "organization": {
                "id": derived_id("organization", organization["id"], organization.get("created_at")),
                "name": organization.get("name") or f"Zendesk organization {organization['id']}",
                "domain": (organization.get("domain_names") or [None])[0],
            }
            if organization
            else None,
            "identities": identities,
            "created_at": created,
            "updated_at": iso(user.get("updated_at")) or created,
        }
        self.customers[user_id] = record
        return record


def _field_value(value: Any) -> str | int | float | bool | None:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value  # type: ignore[no-any-return]


def records(export: ZendeskExport) -> Iterator[dict[str, Any]]:
    """One supportdesk export record per ticket, oldest first (deleted tickets are left out)."""
    people = _People(export)
    for zendesk_id in sorted(export.tickets, key=lambda t: (export.tickets[t].get("created_at") or "", t)):
        ticket = export.tickets[zendesk_id]
        if ticket.get("status") == "deleted":
            continue
        yield _record(zendesk_id, ticket, export, people)


def _record(zendesk_id: int, ticket: dict[str, Any], export: ZendeskExport, people: _People) -> dict[str, Any]:
    created = iso(ticket.get("created_at"))
    if created is None:
        raise ValidationFailed(f"Zendesk ticket {zendesk_id} has no created_at", field="created_at")
    channel = _channel(ticket.get("via"))
    requester = int(ticket["requester_id"])
    customers = [people.customer(requester)]
    agents: dict[str, dict[str, Any]] = {}
    messages = []
    comments = sorted(export.comments.get(zendesk_id, {}).values(), key=lambda c: (c.get("created_at") or "", c["id"]))
    if not comments and ticket.get("description"):
        comments = [{"id": f"d{zendesk_id}", "author_id": requester, "public": True, "body": ticket["description"]}]
    first_response = None
    for comment in comments:
        author = comment.get("author_id")
        when = iso(comment.get("created_at")) or created
        message: dict[str, Any] = {
            "id": derived_id("comment", comment["id"], when),
            "channel": _channel(comment.get("via"), channel),
            "public": bool(comment.get("public", True)),
            "author_agent_id": None,
            "author_customer_id": None,
            "body": comment.get("plain_body") or comment.get("body") or "",
            "meta": {"zendesk": {"comment_id": comment["id"]}},
            "created_at": when,
            "attachments": [],
        }
        files = [
            {k: a.get(k) for k in ("file_name", "content_type", "size", "content_url")}
            for a in comment.get("attachments") or []
        ]
        if files:
            message["meta"]["zendesk"]["attachments"] = files
        if author is not None and people.is_agent(author):
            agent = people.agent(author)
            agents[agent["id"]] = agent
            message.update(direction="outbound", author_kind="agent", author_agent_id=agent["id"])
            if message["public"] and first_response is None:
                first_response = when
        elif author is not None:
            customer = people.customer(int(author))
            if customer not in customers:
                customers.append(customer)
            message.update(direction="inbound", author_kind="customer", author_customer_id=customer["id"])
        else:
            message.update(direction="outbound", author_kind="system")
        messages.append(message)
    assignee_id = None
    if ticket.get("assignee_id") and people.is_agent(ticket["assignee_id"]):
        assignee = people.agent(ticket["assignee_id"])
        agents[assignee["id"]] = assignee
        assignee_id = assignee["id"]
    group = export.groups.get(int(ticket["group_id"])) if ticket.get("group_id") else None
    if ticket.get("group_id") and group is None:
        group = {"id": ticket["group_id"], "name": f"Zendesk group {ticket['group_id']}"}
    groups = [{"id": derived_id("group", group["id"]), "name": group.get("name"), "email": None}] if group else []
    fields: dict[str, Any] = {"zendesk_id": zendesk_id}
    if ticket.get("external_id"):
        fields["external_id"] = str(ticket["external_id"])
    for custom in ticket.get("custom_fields") or []:
        if custom.get("value") not in (None, "", []):
            fields[f"zendesk_field_{custom['id']}"] = _field_value(custom["value"])
    status = STATUSES.get(str(ticket.get("status")), "open")
    updated = iso(ticket.get("updated_at")) or created
    problem = export.tickets.get(int(ticket["problem_id"])) if ticket.get("problem_id") else None
    return {
        "id": derived_id("ticket", zendesk_id, ticket.get("created_at")),
        "number": zendesk_id,
        "subject": ticket.get("subject") or ticket.get("raw_subject") or "",
        "status": status,
        "priority": ticket.get("priority") or "normal",
        "type": ticket.get("type") or "question",
        "channel": channel,
        "group_id": groups[0]["id"] if groups else None,
        "assignee_id": assignee_id,
        "requester_id": customers[0]["id"],
        "problem_id": derived_id("ticket", ticket["problem_id"], problem.get("created_at")) if problem else None,
        "merged_into_id": None,
        "follow_up_of_id": None,
        "fields": fields,
        "created_at": created,
        "updated_at": updated,
        "first_response_at": first_response,
        "solved_at": updated if status in ("solved", "closed") else None,
        "tags": list(ticket.get("tags") or []),
        "messages": messages,
        "customers": customers,
        "agents": list(agents.values()),
        "groups": groups,
    }
