"""Read a Request Tracker 5 database and turn its tickets into supportdesk export records.

``supportdesk import --from rt rtdb`` reads RT's own SQLite database (Debian's
``request-tracker5`` with ``rt5-db-sqlite`` keeps it at
``/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb``), opened read-only, so RT can stay
running. Each ticket becomes one record in the shape ``supportdesk export`` writes, and the
importer that reads our own files takes it from there (people first, one transaction per chunk,
a rerun skips what is here).

Mapping:

- a **queue** is a group (its correspond address is the group's address);
- the ticket's **owner** (anyone but RT's "Nobody") is its assignee; privileged users who
  wrote on a ticket are agents, everyone else a customer with an email identity;
- the first **requestor** is the requester; further requestors come along as customers;
- **statuses**: new, open, stalled → on_hold, resolved → solved, rejected → closed; deleted
  tickets are left out; a ticket merged into another is closed and points at the survivor;
- **priorities**: RT 5's scale (0–49 low, 50–99 medium, 100 and up high) with 0, RT's
  unset default, as normal;
- **transactions**: Create and Correspond are public messages, Comment an internal note; the
  text is the transaction's first ``text/plain`` part (or its ``text/html`` part as text); RT's
  own outgoing mail records (EmailRecord …) are not messages; a change of **status or owner**
  is an internal note by the system ("Status changed from open to resolved by Alice Agent"),
  other field changes are left out;
- **custom fields** become ticket fields named ``rt_<name>`` (several values joined by ", ");
- **attachments** (parts with a file name) are stored in the workspace's attachment store and
  listed on their message; without a store (a dry run) they are only named in the message meta.

Ids are derived from RT's ids, so importing the same database again finds every ticket already
there, and the RT ticket number is kept as the ticket's number. Text from RT is hostile like any
customer's: the importer's own sanitising applies (subjects and bodies are cleaned and capped).
"""

from __future__ import annotations

import base64
import hashlib
import quopri
import re
import sqlite3
from collections.abc import Callable, Container, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol

from supportdesk.domain.errors import ValidationFailed
from supportdesk.store.ids import uuid7_at

STATUSES = {
    "new": "new",
    "open": "open",
    "stalled": "on_hold",
    "resolved": "solved",
    "rejected": "closed",
}
#: RT's "Nobody in particular": a ticket owned by Nobody is unassigned.
NOBODY = "Nobody"
MESSAGE_TYPES = {"Create": True, "Correspond": True, "Comment": False}
#: RT's transactions that change a ticket's status or owner (``Field`` says which): they come
#: in as internal notes by the system ("Status changed from open to resolved by Alice Agent").
CHANGE_TYPES = ("Status", "Set", "Take", "Give", "Steal", "Untake")
CHANGE_FIELDS = ("Status", "Owner")
#: Bytes of one attachment brought in; a bigger one is named on its message but not stored.
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
#: Characters of one message body (our bodies are capped when written; this cuts a huge RT
#: body before it is decoded and sanitised, so a 50 MB mail costs no more than the cap).
MAX_BODY_CHARS = 200_000

#: Stores attachment bytes and returns their sha256 (the workspace's blob store).
StoreBytes = Callable[[bytes], str]


def derived_id(kind: str, rt_id: Any, when: str | None = None) -> str:
    """A stable UUIDv7 for an RT object: the same object always gets the same id."""
    digest = hashlib.sha256(f"request-tracker:{kind}:{rt_id}".encode()).digest()
    millis = int(parse_time(when).timestamp() * 1000) if when else 0
    return uuid7_at(max(millis, 0), int.from_bytes(digest[:10], "big"))


def parse_time(value: str) -> datetime:
    """RT stores UTC times as ``YYYY-MM-DD HH:MM:SS``."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T"))
        # an offset past the calendar's last (or first) day has no UTC: OverflowError
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed(f"{value!r} is not a time", field="created_at") from None


def iso(value: str | None) -> str | None:
    """An RT time as ISO 8601, or ``None`` for an empty one (RT writes 1970-01-01 for "never")."""
    if not value or value.startswith("1970-01-01"):
        return None
    return parse_time(value).isoformat().replace("+00:00", "Z")


def priority(value: int | None) -> str:
    if not value:
        return "normal"
    if value < 50:
        return "low"
    if value < 100:
        return "normal"
    return "high"


class _Text(HTMLParser):
    """The text of an HTML part (RT keeps both parts of most mail; this is for HTML-only mail)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def _decode(content: bytes | str | None, encoding: str | None) -> bytes:
    """The bytes of a part as RT stored them (``none``, ``base64`` or ``quoted-printable``)."""
    if content is None:
        return b""
    raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else bytes(content)
    kind = (encoding or "none").lower()
    try:
        if kind == "base64":
            return base64.b64decode(raw, validate=False)
        if kind == "quoted-printable":
            return quopri.decodestring(raw)
    except (ValueError, TypeError):
        return raw
    return raw


def _charset(headers: str | None) -> str:
    found = re.search(r'charset="?([A-Za-z0-9_.:-]+)"?', headers or "")
    return found.group(1) if found else "utf-8"


def _text_of(data: bytes, headers: str | None) -> str:
    try:
        return data.decode(_charset(headers), errors="replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", errors="replace")


@dataclass
class _Part:
    id: int
    parent: int
    content_type: str
    filename: str
    data: bytes
    headers: str
    #: Bytes RT holds for the part (for one too big to bring in, ``data`` is empty).
    size: int = 0


@dataclass
class RTDatabase:
    """What the records are made of, read from RT's tables once."""

    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Who is privileged (an agent): a set read from the database; over REST2, maybe asked per user.
    privileged: Container[int] = field(default_factory=set)
    queues: dict[int, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[int, str] = field(default_factory=dict)
    created: dict[int, str] = field(default_factory=dict)

    def ticket_id(self, rt_id: int) -> str:
        """The id an RT ticket gets here (derived from its RT id and creation time)."""
        return derived_id("ticket", rt_id, self.created.get(rt_id))


#: One RT ticket as the mapping reads it: id, EffectiveId, Queue, Owner, Subject, Status,
#: Priority, Resolved, LastUpdated, Created, Creator (ids as ints, times as RT writes them).
TicketRow = tuple[Any, ...]
#: One transaction: id, Type, Creator, Created, Field, OldValue, NewValue (the last three
#: empty for a message).
TransactionRow = tuple[int, str, int, str, str, str, str]


class Source(Protocol):
    """Where RT's objects are read from: its database file or its REST2 API.

    Both readers hand the mapping below the same rows, so a ticket read either way becomes the
    same record (and the same workspace rows)."""

    def load(self) -> RTDatabase:
        """Users, privileged users, queues and custom-field names."""
        ...

    def tickets(self) -> list[TicketRow]:
        """Every ticket that is not deleted (merged ones too), by RT id."""
        ...

    def requestors(self, ticket_id: int) -> list[int]:
        """The ticket's requestors (users, not groups), in the order they were added."""
        ...

    def transactions(self, ticket_id: int) -> list[TransactionRow]:
        """The ticket's messages (Create, Correspond, Comment) and status and owner changes, by id."""
        ...

    def parts(self, transaction_ids: list[int]) -> dict[int, list[_Part]]:
        """The MIME parts of these transactions, by transaction, by attachment id."""
        ...

    def custom_values(self, ticket_id: int) -> list[tuple[str, str]]:
        """(custom field name, value) of the ticket's current custom-field values, in order."""
        ...


def open_database(path: Path) -> sqlite3.Connection:
    """RT's SQLite file, read-only; a file that is not one says so in one line."""
    if not path.is_file():
        raise ValidationFailed(f"no RT database at {path}", field="file")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    connection.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
    try:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        connection.close()
        raise ValidationFailed(f"{path} is not an SQLite database ({error})", field="file") from None
    missing = {
        "Tickets",
        "Transactions",
        "Attachments",
        "Users",
        "Queues",
        "Groups",
        "GroupMembers",
        "Principals",
    } - tables
    if missing:
        connection.close()
        raise ValidationFailed(
            f"{path} is not a Request Tracker database (no {sorted(missing)[0]} table)", field="file"
        )
    return connection


def count(path: Path) -> int:
    """How many tickets the import will read (the progress bar's total)."""
    with closing(open_database(path)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM Tickets WHERE Type = 'ticket' AND lower(Status) != 'deleted'"
        ).fetchone()
    return int(row[0])


def _load(connection: sqlite3.Connection) -> RTDatabase:
    rt = RTDatabase()
    for row in connection.execute("SELECT id, Name, EmailAddress, RealName, Organization, Lang FROM Users"):
        rt.users[int(row[0])] = {
            "name": row[1] or "",
            "email": (row[2] or "").strip(),
            "real_name": row[3] or "",
            "organization": row[4] or "",
            "lang": row[5] or "",
        }
    rt.privileged = {
        int(r[0])
        for r in connection.execute(
            "SELECT gm.MemberId FROM GroupMembers gm JOIN Groups g ON g.id = gm.GroupId "
            "WHERE g.Domain = 'SystemInternal' AND g.Name = 'Privileged'"
        )
    }
    for row in connection.execute("SELECT id, Name, CorrespondAddress, Created FROM Queues"):
        rt.queues[int(row[0])] = {"name": row[1] or f"RT queue {row[0]}", "email": row[2] or None, "created": row[3]}
    try:
        rt.custom_fields = {
            int(r[0]): r[1] or f"field {r[0]}" for r in connection.execute("SELECT id, Name FROM CustomFields")
        }
    except sqlite3.OperationalError:
        rt.custom_fields = {}
    return rt


class _People:
    """RT users as supportdesk agents and customers."""

    def __init__(self, rt: RTDatabase) -> None:
        self.rt = rt
        self.customers: dict[int, dict[str, Any]] = {}

    def is_agent(self, user_id: int) -> bool:
        user = self.rt.users.get(user_id)
        return user is not None and user_id in self.rt.privileged and user["name"] not in ("RT_System", NOBODY)

    def name(self, user_id: int) -> str:
        """How a change note names an RT user ("nobody" for RT's Nobody)."""
        user = self.rt.users.get(user_id)
        if user is None:
            return f"RT user {user_id}"
        if user["name"] == NOBODY:
            return "nobody"
        return user["real_name"] or user["name"] or user["email"] or f"RT user {user_id}"

    def is_system(self, user_id: int) -> bool:
        user = self.rt.users.get(user_id)
        return user is None or user["name"] in ("RT_System", NOBODY)

    def agent(self, user_id: int) -> dict[str, Any]:
        user = self.rt.users[user_id]
        email = user["email"] or f"{re.sub(r'[^A-Za-z0-9._-]', '-', user['name']) or user_id}@rt.invalid"
        return {
            "id": derived_id("user", user_id),
            "name": user["real_name"] or user["name"] or email,
            "email": email.lower(),
            "role": "agent",
        }

    def customer(self, user_id: int) -> dict[str, Any]:
        if user_id in self.customers:
            return self.customers[user_id]
        user = self.rt.users.get(user_id) or {"name": f"RT user {user_id}", "email": "", "real_name": ""}
        address = user["email"] or (user["name"] if "@" in user["name"] else "")
        identities = (
            [{"id": derived_id("identity", user_id), "kind": "email", "value": address, "is_primary": True}]
            if address
            else []
        )
        record = {
            "id": derived_id("user", user_id),
            "name": user["real_name"] or ("" if address else user["name"]),
            "locale": (user.get("lang") or "en")[:20],
            "notes": "",
            "organization": None,
            "identities": identities,
        }
        self.customers[user_id] = record
        return record


class DatabaseSource:
    """RT's objects read from its SQLite file (read-only)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.custom_field_names: dict[int, str] = {}

    def load(self) -> RTDatabase:
        rt = _load(self.connection)
        self.custom_field_names = rt.custom_fields
        return rt

    def tickets(self) -> list[TicketRow]:
        return self.connection.execute(
            "SELECT id, EffectiveId, Queue, Owner, Subject, Status, Priority, Resolved, LastUpdated, Created, Creator "
            "FROM Tickets WHERE Type = 'ticket' AND lower(Status) != 'deleted' ORDER BY id"
        ).fetchall()

    def requestors(self, ticket_id: int) -> list[int]:
        return [
            int(r[0])
            for r in self.connection.execute(
                "SELECT gm.MemberId FROM Groups g JOIN GroupMembers gm ON gm.GroupId = g.id "
                "JOIN Principals p ON p.id = gm.MemberId "
                "WHERE g.Domain = 'RT::Ticket-Role' AND g.Name = 'Requestor' AND g.Instance = ? "
                "AND p.PrincipalType = 'User' ORDER BY gm.id",
                (ticket_id,),
            )
        ]

    def transactions(self, ticket_id: int) -> list[TransactionRow]:
        return [
            (int(r[0]), str(r[1]), int(r[2] or 0), str(r[3] or ""), r[4] or "", r[5] or "", r[6] or "")
            for r in self.connection.execute(
                "SELECT id, Type, Creator, Created, Field, OldValue, NewValue FROM Transactions "
                "WHERE ObjectType = 'RT::Ticket' AND ObjectId = ? AND (Type IN ('Create', 'Correspond', 'Comment') "
                f"OR (Type IN {CHANGE_TYPES} AND Field IN {CHANGE_FIELDS})) ORDER BY id",
                (ticket_id,),
            )
        ]

    def parts(self, transaction_ids: list[int]) -> dict[int, list[_Part]]:
        found: dict[int, list[_Part]] = {}
        for transaction_id in transaction_ids:
            parts: list[_Part] = []
            found[transaction_id] = parts
            for row in self.connection.execute(
                "SELECT id, Parent, ContentType, Filename, ContentEncoding, Headers, "
                "CASE WHEN length(Content) > ? THEN NULL ELSE Content END, length(Content) "
                "FROM Attachments WHERE TransactionId = ? ORDER BY id",
                (MAX_ATTACHMENT_BYTES * 2, transaction_id),
            ):
                data = _decode(row[6], row[4])  # too big to bring in (NULL): named, not stored
                content_type = (row[2] or "").lower()
                size = len(data) if row[6] is not None else int(row[7] or 0)
                parts.append(_Part(int(row[0]), int(row[1] or 0), content_type, row[3] or "", data, row[5] or "", size))
        return found

    def custom_values(self, ticket_id: int) -> list[tuple[str, str]]:
        try:
            rows = self.connection.execute(
                "SELECT CustomField, coalesce(Content, LargeContent) FROM ObjectCustomFieldValues "
                "WHERE ObjectType = 'RT::Ticket' AND ObjectId = ? AND Disabled = 0 ORDER BY SortOrder, id",
                (ticket_id,),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [
            (self.custom_field_names.get(int(custom_field), f"field {custom_field}"), str(content))
            for custom_field, content in rows
            if content is not None and content != ""
        ]


def _body(parts: list[_Part]) -> tuple[str, int]:
    """The message text, and the length of the part it came from (bytes) when it was cut."""
    for wanted in ("text/plain", "text/html"):
        for part in parts:
            if part.content_type == wanted and not part.filename:
                text = _text_of(part.data[: MAX_BODY_CHARS * 4], part.headers)
                cut = len(part.data) if len(text) > MAX_BODY_CHARS or len(part.data) > MAX_BODY_CHARS * 4 else 0
                text = text[:MAX_BODY_CHARS]
                return (html_text(text) if wanted == "text/html" else text.strip()), cut
    return "", 0


def _files(parts: list[_Part], store: StoreBytes | None, when: str, transaction_id: int) -> tuple[list[Any], list[Any]]:
    stored: list[dict[str, Any]] = []
    named: list[dict[str, Any]] = []
    for part in parts:
        if not part.filename:
            continue
        entry = {"filename": part.filename, "content_type": part.content_type or "application/octet-stream"}
        if store is None or not part.data or len(part.data) > MAX_ATTACHMENT_BYTES:
            named.append({**entry, "size": max(part.size, len(part.data)), "attachment_id": part.id})
            continue
        stored.append(
            {
                "id": derived_id("attachment", part.id, when),
                **entry,
                "size": len(part.data),
                "sha256": store(part.data),
                "created_at": when,
            }
        )
    return stored, named


def _change(
    people: _People,
    transaction_id: int,
    kind: str,
    author: int,
    when_raw: str,
    when: str,
    field: str,
    old: str,
    new: str,
) -> dict[str, Any]:
    """A status or owner change as an internal note by the system, naming who made it."""
    if field == "Owner":
        before, after = people.name(_int(old)), people.name(_int(new))
    else:
        before, after = old or "(none)", new or "(none)"
    by = "" if people.is_system(author) else f" by {people.name(author)}"
    return {
        "id": derived_id("transaction", transaction_id, when_raw),
        "channel": "email",
        "public": False,
        "direction": "outbound",
        "author_kind": "system",
        "author_agent_id": None,
        "author_customer_id": None,
        "body": f"{field} changed from {before} to {after}{by}",
        "meta": {
            "request_tracker": {"transaction_id": transaction_id, "type": kind, "field": field, "old": old, "new": new}
        },
        "created_at": when,
        "attachments": [],
    }


def _int(value: str) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _custom_fields(values: list[tuple[str, str]]) -> dict[str, str]:
    """``rt_<name>`` fields; several values of one field joined by ", "."""
    joined: dict[str, list[str]] = {}
    for name, content in values:
        key = "rt_" + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field")
        joined.setdefault(key[:80], []).append(content)
    return {key: ", ".join(found) for key, found in joined.items()}


def records(path: Path, store: StoreBytes | None = None) -> Iterator[dict[str, Any]]:
    """One supportdesk export record per RT ticket, by RT id (deleted tickets are left out).

    A database that breaks while it is read (a damaged file, a table of another RT version)
    stops the import with one line; the tickets already imported stay (a rerun goes on)."""
    try:
        yield from _records(path, store)
    except sqlite3.DatabaseError as error:
        raise ValidationFailed(f"cannot read the RT database {path}: {error}", field="file") from None


def _records(path: Path, store: StoreBytes | None) -> Iterator[dict[str, Any]]:
    with closing(open_database(path)) as connection:
        yield from mapped(DatabaseSource(connection), store)


def mapped(source: Source, store: StoreBytes | None = None) -> Iterator[dict[str, Any]]:
    """One supportdesk export record per ticket ``source`` reads: the mapping both readers share."""
    rt = source.load()
    people = _People(rt)
    tickets = source.tickets()
    rt.created = {int(row[0]): row[9] for row in tickets}
    for row in tickets:
        yield _record(source, rt, people, row, store)


def _record(
    source: Source, rt: RTDatabase, people: _People, row: TicketRow, store: StoreBytes | None
) -> dict[str, Any]:
    ticket_id, effective, queue_id, owner, subject, status, rt_priority, resolved, updated, created_at, creator = row
    created = iso(created_at)
    if created is None:
        raise ValidationFailed(f"RT ticket {ticket_id} has no creation time", field="created_at")
    requestors = source.requestors(int(ticket_id))
    if not requestors:  # a ticket nobody asked: its creator stands in
        requestors = [int(creator or 0)]
    customers = [people.customer(user_id) for user_id in requestors]
    agents: dict[str, dict[str, Any]] = {}
    messages: list[dict[str, Any]] = []
    first_response = None
    transactions = source.transactions(int(ticket_id))
    all_parts = source.parts([row[0] for row in transactions if row[1] in MESSAGE_TYPES])
    for transaction_id, kind, author, when_raw, changed, old, new in transactions:
        when = iso(when_raw) or created
        if kind not in MESSAGE_TYPES:
            if changed in CHANGE_FIELDS:
                messages.append(
                    _change(people, transaction_id, kind, int(author or 0), when_raw, when, changed, old, new)
                )
            continue
        parts = all_parts.get(transaction_id, [])
        files, named = _files(parts, store, when, int(transaction_id))
        body, cut = _body(parts)
        if not body and not files and not named:
            continue  # a Create with no content (a ticket made from the web form without text)
        public = MESSAGE_TYPES[kind]
        message: dict[str, Any] = {
            "id": derived_id("transaction", transaction_id, when_raw),
            "channel": "email",
            "public": public,
            "author_agent_id": None,
            "author_customer_id": None,
            "body": body,
            "meta": {"request_tracker": {"transaction_id": int(transaction_id), "type": kind}},
            "created_at": when,
            "attachments": files,
        }
        if named:
            message["meta"]["request_tracker"]["attachments"] = named
        if cut:  # kept the first MAX_BODY_CHARS characters; say so where an agent can see it
            message["meta"]["request_tracker"]["truncated_from_bytes"] = cut
        author_id = int(author or 0)
        if people.is_agent(author_id):
            agent = people.agent(author_id)
            agents[agent["id"]] = agent
            message.update(direction="outbound", author_kind="agent", author_agent_id=agent["id"])
            if public and kind == "Correspond" and first_response is None:
                first_response = when
        elif people.is_system(author_id):
            message.update(direction="outbound" if kind != "Create" else "inbound", author_kind="system")
        else:
            customer = people.customer(author_id)
            if customer not in customers:
                customers.append(customer)
            message.update(direction="inbound", author_kind="customer", author_customer_id=customer["id"])
        messages.append(message)
    assignee_id = None
    if owner and people.is_agent(int(owner)):
        assignee = people.agent(int(owner))
        agents[assignee["id"]] = assignee
        assignee_id = assignee["id"]
    queue = rt.queues.get(int(queue_id or 0))
    groups = [{"id": derived_id("queue", queue_id), "name": queue["name"], "email": queue["email"]}] if queue else []
    merged = int(effective or ticket_id) != int(ticket_id)
    mapped = "closed" if merged else STATUSES.get(str(status or "").lower(), "open")
    fields: dict[str, Any] = {"rt_id": int(ticket_id), **_custom_fields(source.custom_values(int(ticket_id)))}
    last = iso(updated) or created
    solved = iso(resolved) or (last if mapped in ("solved", "closed") else None)
    return {
        "id": rt.ticket_id(int(ticket_id)),
        "number": int(ticket_id),
        "subject": subject or "",
        "status": mapped,
        "priority": priority(rt_priority),
        "type": "question",
        "channel": "email",
        "group_id": groups[0]["id"] if groups else None,
        "assignee_id": assignee_id,
        "requester_id": customers[0]["id"],
        "problem_id": None,
        "merged_into_id": rt.ticket_id(int(effective)) if merged else None,
        "follow_up_of_id": None,
        "fields": fields,
        "created_at": created,
        "updated_at": last,
        "first_response_at": first_response,
        "solved_at": solved if mapped in ("solved", "closed") else None,
        "tags": ["request-tracker"],
        "messages": messages,
        "customers": customers,
        "agents": list(agents.values()),
        "groups": groups,
    }
