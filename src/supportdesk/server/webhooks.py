"""Outgoing webhooks: endpoints admins register, and the events every write records for them.

An event is recorded by an after-write hook inside the transaction of the write that caused it
(so a rolled-back write tells nobody, and a committed one is never forgotten), with one delivery
row per endpoint that wants it; :mod:`.webhook_sender` delivers them. Events are *thin*: ids,
number, status, priority, group and assignee, the names of the fields that changed — never a
subject, a message body or a customer's name. The receiver reads the rest over REST with its
own token (whose scopes and groups then apply), and erasing a customer leaves nothing of them
in the webhook tables.

Types: ``ticket.created``, ``ticket.updated`` (fields or tags changed; ``changes`` names them),
``ticket.solved``, ``message.created`` (``public`` says whether the requester sees it),
``feedback.received`` (a survey answer). An endpoint restricted to groups gets the events of
those groups' tickets and of tickets with no group, as an agent of those groups would.

Positions come from the ``webhook_event`` counter, locked until the write commits, so positions
commit in order and a ticket's events go out in the order they happened.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import TextClause, bindparam, text
from sqlmodel.sql.sqltypes import UTCDateTime

from supportdesk.server.errors import ApiError
from supportdesk.store.ids import uuid7
from supportdesk.store.times import from_db, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.server.apply import Applied

EVENT_TYPES = {
    "ticket.created": "a ticket was opened (by a channel, an agent or the API)",
    "ticket.updated": "a ticket's fields or tags changed",
    "ticket.solved": "a ticket's status became solved",
    "message.created": "a message was added to a ticket (a reply, a note, a customer's message)",
    "feedback.received": "a customer answered a satisfaction survey",
}
#: How long a delivery is retried before it is given up, and an endpoint may fail before it is disabled.
RETRY_FOR = timedelta(hours=24)
#: Ticket columns an event carries (no text: see the module docstring).
TICKET_KEYS = ("id", "number", "status", "priority", "type", "group_id", "assignee_id", "requester_id")
_QUIET = frozenset({"updated_at"})


def timed(statement: str, *times: str) -> TextClause:
    """``text(statement)`` whose parameters named in ``times`` are instants, bound the way the
    time columns store them (SQLite keeps a fixed text form; a plain datetime would not match)."""
    return text(statement).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in times))


def instant(value: Any) -> datetime:
    """A time column read through ``text()``: SQLite's text form or PostgreSQL's datetime."""
    if isinstance(value, str):
        parsed = from_db(value)
        assert parsed is not None
        return parsed
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: Any) -> Any:
    return instant(value).isoformat().replace("+00:00", "Z") if value is not None else None


class WebhookError(ValueError):
    """An endpoint that cannot be registered as asked; the message says why."""


def parse_events(text_or_list: str | list[str]) -> list[str]:
    items = text_or_list.split(",") if isinstance(text_or_list, str) else text_or_list
    events = sorted({item.strip() for item in items if item.strip()})
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise WebhookError(f"unknown event {unknown[0]!r}: choose from {', '.join(EVENT_TYPES)}")
    if not events:
        raise WebhookError(f"name at least one event: {', '.join(EVENT_TYPES)}")
    return events


def check_url(url: str) -> str:
    """An http(s) URL of printable ASCII (an internationalised host in its ``xn--`` form)."""
    try:
        parts = urlsplit(url)
        printable = url.isascii() and url.isprintable() and " " not in url
    except ValueError:
        printable = False
    if not printable or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise WebhookError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise WebhookError("put no credentials in the URL: deliveries are signed with the endpoint's secret")
    return url


# --- recording events (inside the write's transaction) ----------------------------------------


@dataclass(frozen=True)
class Event:
    type: str
    ticket_id: str
    data: dict[str, Any]


def events_of(applied: Applied) -> list[Event]:
    """What a successful mutation tells the outside, from the rows it inserted and its audit."""
    created = set(applied.inserted_ids("ticket"))
    events = [Event("ticket.created", ticket_id, {}) for ticket_id in sorted(created)]
    changes: dict[str, list[str]] = {}
    solved: set[str] = set()
    feedback: set[str] = set()
    for record in applied.audited:
        if record.entity != "ticket" or record.entity_id in created or record.field in _QUIET:
            continue
        if record.field == "survey.answered":
            feedback.add(record.entity_id)
            continue
        if "." in record.field and not record.field.startswith("tag."):
            continue  # an audit note (a survey issued …), not a field of the ticket
        name = "tags" if record.field.startswith("tag.") else record.field
        fields = changes.setdefault(record.entity_id, [])
        if name not in fields:
            fields.append(name)
        if record.field == "status" and record.after == "solved":
            solved.add(record.entity_id)
    events += [Event("ticket.updated", ticket_id, {"changes": sorted(names)}) for ticket_id, names in changes.items()]
    events += [Event("ticket.solved", ticket_id, {}) for ticket_id in sorted(solved)]
    events += [Event("feedback.received", ticket_id, {}) for ticket_id in sorted(feedback)]
    for message_id in applied.inserted_ids("message"):
        events.append(Event("message.created", "", {"message_id": message_id}))
    return events


def _endpoints(connection: Connection) -> list[tuple[str, list[str], list[str] | None]]:
    """The active endpoints (read once per push: :mod:`supportdesk.domain.config_cache`)."""
    from supportdesk.domain.config_cache import cached

    def load() -> list[tuple[str, list[str], list[str] | None]]:
        found = connection.execute(
            text("SELECT id, events, group_ids FROM webhook_endpoint WHERE active = :t"), {"t": True}
        )
        return [(str(row[0]), _json(row[1]) or [], _json(row[2])) for row in found]

    return cached(connection, "webhook_endpoints", load)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        import orjson

        return orjson.loads(value)
    return value


def record_events(connection: Connection, applied: Applied) -> int:
    """The after-write hook: record ``applied``'s events and queue a delivery to each endpoint
    that wants one (nothing at all when no endpoint is registered); returns how many events
    were queued, so the sender is woken only when there is something to send."""
    endpoints = _endpoints(connection)
    if not endpoints:
        return 0
    queued = 0
    wanted = {event for _, types, _ in endpoints for event in types}
    now = utcnow()
    for event in events_of(applied):
        if event.type not in wanted:
            continue
        data = dict(event.data)
        ticket_id = event.ticket_id
        if event.type == "message.created":
            message = connection.execute(
                text("SELECT ticket_id, public, author_kind, channel FROM message WHERE id = :m"),
                {"m": data["message_id"]},
            ).first()
            if message is None:
                continue
            ticket_id = str(message[0])
            data["message"] = {
                "id": data.pop("message_id"),
                "public": bool(message[1]),
                "author_kind": str(message[2]),
                "channel": str(message[3]),
            }
        ticket = _ticket(connection, ticket_id)
        if ticket is None:
            continue
        targets = [
            endpoint_id
            for endpoint_id, types, groups in endpoints
            if event.type in types and (groups is None or ticket["group_id"] is None or ticket["group_id"] in groups)
        ]
        if not targets:
            continue
        _insert_event(connection, event.type, ticket, data, targets, now)
        queued += 1
    return queued


def _ticket(connection: Connection, ticket_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        text(f"SELECT {', '.join(TICKET_KEYS)} FROM ticket WHERE id = :t"), {"t": ticket_id}
    ).first()
    return dict(zip(TICKET_KEYS, row, strict=True)) if row else None


def _insert_event(
    connection: Connection, kind: str, ticket: dict[str, Any], data: dict[str, Any], targets: list[str], now: Any
) -> None:
    position = connection.execute(
        text("UPDATE counter SET value = value + 1 WHERE name = 'webhook_event' RETURNING value")
    ).scalar_one()
    event_id = uuid7()
    payload = {
        "id": event_id,
        "type": kind,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "data": {"ticket": ticket, **data},
    }
    from sqlalchemy import insert

    from supportdesk.domain.tx import table

    connection.execute(
        insert(table("webhook_event")).values(
            id=event_id,
            position=position,
            type=kind,
            ticket_id=ticket["id"],
            group_id=ticket["group_id"],
            payload=payload,
            created_at=now,
        )
    )
    connection.execute(
        insert(table("webhook_delivery")),
        [
            {
                "id": uuid7(),
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "ticket_id": ticket["id"],
                "position": position,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "give_up_at": now + RETRY_FOR,
                "created_at": now,
            }
            for endpoint_id in targets
        ],
    )


# --- administration (the CLI and /v1/admin/webhooks) -------------------------------------------


def add_endpoint(
    connection: Connection,
    url: str,
    events: str | list[str],
    *,
    group_ids: list[str] | None = None,
    description: str = "",
    created_by: str | None = None,
) -> tuple[str, str]:
    """Register an endpoint; returns ``(id, secret)`` — the secret is shown once."""
    from sqlalchemy import insert

    from supportdesk.domain.tx import table

    endpoint_id, secret, now = uuid7(), "whsec_" + secrets.token_urlsafe(32), utcnow()
    connection.execute(
        insert(table("webhook_endpoint")).values(
            id=endpoint_id,
            url=check_url(url),
            description=description[:200],
            secret=secret,
            events=parse_events(events),
            group_ids=group_ids,
            active=True,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
    )
    return endpoint_id, secret


ENDPOINT_COLUMNS = (
    "id",
    "url",
    "events",
    "group_ids",
    "active",
    "description",
    "created_at",
    "last_success_at",
    "failing_since",
    "disabled_reason",
)


def list_endpoints(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(
        text(f"SELECT {', '.join(ENDPOINT_COLUMNS)} FROM webhook_endpoint ORDER BY created_at, id")
    ).all()
    endpoints = [dict(zip(ENDPOINT_COLUMNS, row, strict=True)) for row in rows]
    for endpoint in endpoints:
        endpoint["events"] = _json(endpoint["events"])
        endpoint["group_ids"] = _json(endpoint["group_ids"])
        endpoint["active"] = bool(endpoint["active"])
        for name in ("created_at", "last_success_at", "failing_since"):
            endpoint[name] = _iso(endpoint[name])
    return endpoints


def remove_endpoint(connection: Connection, endpoint_id: str) -> bool:
    """Remove an endpoint and what is queued for it."""
    connection.execute(text("DELETE FROM webhook_delivery WHERE endpoint_id = :e"), {"e": endpoint_id})
    gone = connection.execute(text("DELETE FROM webhook_endpoint WHERE id = :e RETURNING id"), {"e": endpoint_id})
    return gone.first() is not None


def enable_endpoint(connection: Connection, endpoint_id: str) -> bool:
    """Turn a disabled endpoint on again (its given-up deliveries stay given up: replay them)."""
    done = connection.execute(
        timed(
            "UPDATE webhook_endpoint SET active = :t, disabled_at = NULL, disabled_reason = NULL, "
            "failing_since = NULL, updated_at = :now WHERE id = :e RETURNING id",
            "now",
        ),
        {"t": True, "now": utcnow(), "e": endpoint_id},
    )
    return done.first() is not None


DELIVERY_COLUMNS = (
    "id",
    "endpoint_id",
    "event_id",
    "type",
    "ticket_number",
    "status",
    "attempts",
    "last_status",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "replay_of",
    "created_at",
)


def list_deliveries(
    connection: Connection, *, endpoint_id: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest deliveries first, optionally of one endpoint or in one status."""
    conditions = ["1 = 1"]
    params: dict[str, Any] = {"limit": limit}
    if endpoint_id:
        conditions.append("d.endpoint_id = :e")
        params["e"] = endpoint_id
    if status:
        conditions.append("d.status = :s")
        params["s"] = status
    rows = connection.execute(
        text(
            "SELECT d.id, d.endpoint_id, d.event_id, e.type, t.number, d.status, d.attempts, d.last_status, "
            "d.last_error, d.next_attempt_at, d.delivered_at, d.replay_of, d.created_at "
            "FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id "
            "LEFT JOIN ticket t ON t.id = d.ticket_id "
            f"WHERE {' AND '.join(conditions)} ORDER BY d.created_at DESC, d.id DESC LIMIT :limit"
        ),
        params,
    ).all()
    deliveries = [dict(zip(DELIVERY_COLUMNS, row, strict=True)) for row in rows]
    for delivery in deliveries:
        for name in ("next_attempt_at", "delivered_at", "created_at"):
            delivery[name] = _iso(delivery[name])
    return deliveries


def replay(connection: Connection, delivery_id: str) -> str:
    """Queue the event of a delivery again, to the same endpoint, now; returns the new delivery's id
    (the event id is the same, so a receiver that saw it can tell)."""
    row = connection.execute(
        text("SELECT endpoint_id, event_id, ticket_id, position FROM webhook_delivery WHERE id = :d"),
        {"d": delivery_id},
    ).first()
    if row is None:
        raise ApiError(404, "not_found", f"no delivery {delivery_id}", field="delivery_id")
    from sqlalchemy import insert

    from supportdesk.domain.tx import table

    new_id, now = uuid7(), utcnow()
    connection.execute(
        insert(table("webhook_delivery")).values(
            id=new_id,
            endpoint_id=row[0],
            event_id=row[1],
            ticket_id=row[2],
            position=row[3],
            status="pending",
            attempts=0,
            next_attempt_at=now,
            give_up_at=now + RETRY_FOR,
            replay_of=delivery_id,
            created_at=now,
        )
    )
    return new_id
