"""Bringing history in: a whole ticket as one mutation, with its ids, number and times.

``ticket.import`` is what ``supportdesk import`` runs for each ticket of an export (ours, or
another help desk's converted to ours): the ticket, its tags, every message with its author and
time, and the customers it names are written as they were, without the rules that govern live
work (an imported ticket may start closed, a message may be twenty years old). Only admins and
the system may run it. Links to other tickets that are not there yet are reported back and set
afterwards with ``ticket.import_links``, so tickets can be imported in any order.

What an import reads from the workspace and writes to it goes through an :class:`ImportStore`:
:class:`TxStore` reads and writes on the transaction at once (``ticket.import``, one ticket);
``ticket.import_many`` (:mod:`supportdesk.domain.mutations.import_chunks`) plans a chunk of
tickets in memory with the very same code and writes each table's rows in one statement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import AwareDatetime, Field
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from supportdesk.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from supportdesk.domain.identities import normalize_identity
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.tags import normalize_tag
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Tx, table
from supportdesk.store import ticket_fields
from supportdesk.store.enums import AuthorKind, Channel, Direction, IdentityKind, Priority, Status, TicketType
from supportdesk.store.ids import uuid7

if TYPE_CHECKING:
    from supportdesk.domain.context import MutationContext

FieldValue = str | int | float | bool | None
LINKS = ("problem_id", "merged_into_id", "follow_up_of_id")
#: The largest ticket number and attachment size a record may carry: both columns are 32-bit
#: INTEGERs on PostgreSQL (and a larger number stopped the whole import on SQLite).
MAX_NUMBER = MAX_SIZE = 2**31 - 1


class ImportedIdentity(Args):
    id: str = Field(default_factory=uuid7)
    kind: IdentityKind
    value: str
    is_primary: bool = False
    created_at: AwareDatetime | None = None


class ImportedOrganization(Args):
    id: str = Field(default_factory=uuid7)
    name: str
    domain: str | None = None


class ImportedCustomer(Args):
    """A customer the ticket names. One already in the workspace (same id, or one of the same
    addresses) is used as it is; otherwise this one is created."""

    id: str = Field(default_factory=uuid7)
    name: str = ""
    locale: str = "en"
    notes: str = ""
    organization: ImportedOrganization | None = None
    identities: list[ImportedIdentity] = Field(default_factory=list, max_length=50)
    erased_at: AwareDatetime | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class ImportedAttachment(Args):
    id: str = Field(default_factory=uuid7)
    filename: str
    size: int = Field(ge=0, le=MAX_SIZE)
    content_type: str = "application/octet-stream"
    sha256: str = Field(max_length=64)
    created_at: AwareDatetime | None = None


class ImportedMessage(Args):
    id: str = Field(default_factory=uuid7)
    channel: Channel
    direction: Direction
    public: bool = True
    author_kind: AuthorKind
    author_agent_id: str | None = None
    author_customer_id: str | None = None
    body: str
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: AwareDatetime
    attachments: list[ImportedAttachment] = Field(default_factory=list, max_length=100)


class ImportTicket(Args):
    """The fields of an export record (``supportdesk export``), less its agents and groups,
    which must exist before (the importer creates them first)."""

    id: str = Field(default_factory=uuid7)
    number: int | None = Field(default=None, ge=1, le=MAX_NUMBER)
    subject: str
    status: Status = Status.OPEN
    priority: Priority = Priority.NORMAL
    type: TicketType = TicketType.QUESTION
    channel: Channel = Channel.WEB
    group_id: str | None = None
    assignee_id: str | None = None
    requester_id: str
    problem_id: str | None = None
    merged_into_id: str | None = None
    follow_up_of_id: str | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=200)
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    first_response_at: AwareDatetime | None = None
    solved_at: AwareDatetime | None = None
    customers: list[ImportedCustomer] = Field(default_factory=list, max_length=200)
    messages: list[ImportedMessage] = Field(default_factory=list, max_length=10_000)


def _with_plain_fields(model: type[ImportTicket]) -> type[ImportTicket]:
    """``ImportTicket`` plus one optional text argument per field of the ticket field table that
    ``ticket.set_field`` changes (they need no code here: the import reads the table)."""
    from pydantic import create_model

    extra: dict[str, Any] = {
        f.name: (str | None, None)
        for f in ticket_fields.plain_fields()
        if f.export and f.name not in model.model_fields
    }
    if not extra:
        return model
    made: type[ImportTicket] = create_model("ImportTicket", __base__=model, __doc__=model.__doc__, **extra)
    return made


#: What ``ticket.import`` takes: :class:`ImportTicket` and the table's plain fields.
IMPORT_ARGS = _with_plain_fields(ImportTicket)


class ImportStore(Protocol):
    """What bringing in one ticket asks of the workspace: a few reads, inserts with their audit
    events, the ticket-number counter and the check that no message is here twice. The rows a
    read returns hold at least the columns the import reads (``id``, a customer's
    ``merged_into_id``, an identity's ``customer_id``)."""

    @property
    def context(self) -> MutationContext: ...

    @property
    def now(self) -> datetime: ...

    def row(self, table_name: str, key: Any) -> dict[str, Any] | None: ...

    def find(self, table_name: str, **where: Any) -> dict[str, Any] | None: ...

    def insert(
        self, table_name: str, values: dict[str, Any], *, audit_entity: tuple[str, str] | None = None
    ) -> None: ...

    def insert_many(self, table_name: str, rows: list[dict[str, Any]]) -> None: ...

    def audit(self, entity: str, entity_id: str, field_name: str, before: Any, after: Any) -> None: ...

    def next_counter(self, name: str) -> int: ...

    def raise_counter(self, number: int) -> None: ...

    def taken_message(self, message_ids: list[str]) -> str | None: ...


class TxStore:
    """An :class:`ImportStore` that reads and writes on the mutation's transaction at once."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    @property
    def context(self) -> MutationContext:
        return self.tx.context

    @property
    def now(self) -> datetime:
        return self.tx.now

    def row(self, table_name: str, key: Any) -> dict[str, Any] | None:
        return self.tx.row(table_name, key)

    def find(self, table_name: str, **where: Any) -> dict[str, Any] | None:
        return self.tx.find(table_name, **where)

    def insert(self, table_name: str, values: dict[str, Any], *, audit_entity: tuple[str, str] | None = None) -> None:
        self.tx.insert(table_name, values, audit_entity=audit_entity)

    def insert_many(self, table_name: str, rows: list[dict[str, Any]]) -> None:
        self.tx.insert_many(table_name, rows)

    def audit(self, entity: str, entity_id: str, field_name: str, before: Any, after: Any) -> None:
        self.tx.audit(entity, entity_id, field_name, before, after)

    def next_counter(self, name: str) -> int:
        return self.tx.next_counter(name)

    def raise_counter(self, number: int) -> None:
        """Keep the ticket-number counter past an imported number, so new tickets never collide."""
        if self.tx.row("counter", "ticket_number") is None:
            self.tx.connection.execute(counter_statements()["insert_counter"], {"number": number})
        else:
            self.tx.connection.execute(counter_statements()["raise_counter"], {"number": number})

    def taken_message(self, message_ids: list[str]) -> str | None:
        taken = self.tx.connection.execute(counter_statements()["taken_messages"], {"ids": message_ids}).first()
        return str(taken[0]) if taken is not None else None


def _plain_values(store: ImportStore, args: ImportTicket) -> dict[str, Any]:
    """The table's plain fields of an imported ticket; a value a field does not take is left out."""
    values: dict[str, Any] = {}
    for field in ticket_fields.plain_fields():
        given = getattr(args, field.name, None)
        try:
            values[field.store_column] = field.clean(given)
        except ticket_fields.FieldValueError as error:
            store.context.warnings.append(f"left out the {field.name}: {error}")
    return values


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-05:00 is past the last day Python has in UTC
        raise ValidationFailed(f"the time {value.isoformat()} is out of range") from None


def _live_customer_id(store: ImportStore, customer_id: str) -> str:
    """Follow merges to the record that survived."""
    customer = store.row("customer", customer_id)
    hops = 0
    while customer is not None and customer["merged_into_id"] and hops < 10:
        customer = store.row("customer", customer["merged_into_id"])
        hops += 1
    return str(customer["id"]) if customer else customer_id


def _ensure_organization(store: ImportStore, organization: ImportedOrganization | None, when: datetime) -> str | None:
    if organization is None:
        return None
    if store.row("organization", organization.id) is not None:
        return organization.id
    name = sanitize_line(organization.name, cap=200)
    if not name:
        return None
    existing = store.find("organization", name=name)
    if existing is not None:
        return str(existing["id"])
    store.insert(
        "organization",
        {
            "id": organization.id,
            "name": name,
            "domain": sanitize_line(organization.domain, cap=253).lower() if organization.domain else None,
            "created_at": when,
            "updated_at": when,
        },
        audit_entity=("organization", organization.id),
    )
    return organization.id


def _ensure_customer(store: ImportStore, customer: ImportedCustomer) -> str:
    """The id the customer has in this workspace, creating them when nobody matches."""
    if store.row("customer", customer.id) is not None:
        return _live_customer_id(store, customer.id)
    addresses: list[tuple[ImportedIdentity, str]] = []
    for identity in customer.identities:
        try:
            value = normalize_identity(identity.kind, identity.value)
        except ValidationFailed:
            store.context.warnings.append(f"left out {identity.value!r}: not a valid {identity.kind.value} address")
            continue
        found = store.find("identity", kind=identity.kind, value=value)
        if found is not None:
            return _live_customer_id(store, found["customer_id"])
        addresses.append((identity, value))
    created = _utc(customer.created_at) or store.now
    name = sanitize_line(customer.name, cap=300) or (addresses[0][1] if addresses else "Unknown customer")
    store.insert(
        "customer",
        {
            "id": customer.id,
            "name": name,
            "organization_id": _ensure_organization(store, customer.organization, created),
            "notes": sanitize_text(customer.notes, cap=20_000),
            "locale": sanitize_line(customer.locale, cap=20) or "en",
            "erased_at": _utc(customer.erased_at),
            "created_at": created,
            "updated_at": _utc(customer.updated_at) or created,
        },
        audit_entity=("customer", customer.id),
    )
    for identity, value in addresses:
        store.insert(
            "identity",
            {
                "id": identity.id if store.row("identity", identity.id) is None else uuid7(),
                "customer_id": customer.id,
                "kind": identity.kind,
                "value": value,
                "is_primary": identity.is_primary,
                "created_at": _utc(identity.created_at) or created,
            },
        )
    return customer.id


@cache
def counter_statements() -> dict[str, Any]:
    """Statements run for every imported ticket (the counter, the message check), built once."""
    counter, messages = table("counter"), table("message")
    return {
        "raise_counter": update(counter)
        .where(counter.c.name == "ticket_number", counter.c.value < bindparam("number"))
        .values(value=bindparam("number")),
        "insert_counter": counter.insert().values(name="ticket_number", value=bindparam("number")),
        "taken_messages": select(messages.c.id).where(messages.c.id.in_(bindparam("ids", expanding=True))).limit(1),
    }


def _number(store: ImportStore, wanted: int | None) -> int | None:
    """The imported number when it is free; numbers are only ever given by the authority."""
    if not store.context.authority:
        return None
    if wanted is not None:
        if store.find("ticket", number=wanted) is None:
            store.raise_counter(wanted)
            return wanted
        number = store.next_counter("ticket_number")
        store.context.warnings.append(f"ticket number #{wanted} is taken here: the ticket is #{number}")
        return number
    return store.next_counter("ticket_number")


def _known(store: ImportStore, table_name: str, row_id: str | None, what: str) -> str | None:
    if row_id is None or store.row(table_name, row_id) is not None:
        return row_id
    store.context.warnings.append(f"no {what} with id {row_id} here: left empty")
    return None


def _tags(store: ImportStore, tags: list[str]) -> list[str]:
    cleaned: dict[str, None] = {}
    for tag in tags:
        try:
            cleaned[normalize_tag(tag)] = None
        except DomainError:
            store.context.warnings.append(f"left out the tag {tag!r}")
    return list(cleaned)


def _check_new_messages(store: ImportStore, message_ids: list[str]) -> None:
    if store.context.mode == "replay" or not message_ids:
        return
    taken = store.taken_message(message_ids)
    if taken is not None:
        raise Conflict(f"a message with id {taken} is already here", field="messages")


@mutation("ticket.import", IMPORT_ARGS, roles=ADMINS)
def import_ticket(tx: Tx, args: ImportTicket) -> dict[str, Any]:
    """Bring in a whole ticket from an export, keeping its ids, number and times."""
    try:
        return import_one(TxStore(tx), args)
    except IntegrityError as error:
        # A record the checks above let through (a message or attachment id twice in it, one
        # address twice for a customer): this ticket is refused, in one line that quotes no
        # customer text, and the write path rolls it back alone.
        raise Conflict(f"the ticket cannot be written: {constraint_failed(error)}") from None


def constraint_failed(error: IntegrityError) -> str:
    """The database's first line about a failed constraint (``UNIQUE constraint failed:
    message.id``), without the statement and its values."""
    lines = str(error.orig).strip().splitlines() if error.orig is not None else []
    return lines[0] if lines else "a constraint failed"


def import_one(store: ImportStore, args: ImportTicket) -> dict[str, Any]:
    """One ticket of an export into ``store``: what ``ticket.import`` does, and what
    ``ticket.import_many`` does for each ticket of a chunk."""
    if store.row("ticket", args.id) is not None and store.context.mode != "replay":
        raise Conflict(f"a ticket with id {args.id} is already here", field="id")
    customers: dict[str, str | None] = {customer.id: _ensure_customer(store, customer) for customer in args.customers}
    requester_id = customers.get(args.requester_id) or _known(store, "customer", args.requester_id, "customer")
    if requester_id is None:
        raise NotFound(f"the requester {args.requester_id} is neither in the record nor here", field="requester_id")
    created = _utc(args.created_at) or store.now
    links = {name: getattr(args, name) for name in LINKS if getattr(args, name)}
    deferred = {name: value for name, value in links.items() if store.row("ticket", value) is None}
    number = _number(store, args.number)
    store.insert(
        "ticket",
        {
            "id": args.id,
            "number": number,
            "subject": sanitize_line(args.subject, cap=1000) or "(no subject)",
            "status": args.status,
            "priority": args.priority,
            "type": args.type,
            "channel": args.channel,
            "group_id": _known(store, "groups", args.group_id, "group"),
            "assignee_id": _known(store, "agent", args.assignee_id, "agent"),
            "requester_id": requester_id,
            **{name: value if name not in deferred else None for name, value in links.items()},
            "fields": {
                sanitize_line(k, cap=80): sanitize_line(v, cap=2000) if isinstance(v, str) else v
                for k, v in args.fields.items()
            },
            "created_at": created,
            "updated_at": _utc(args.updated_at) or created,
            "first_response_at": _utc(args.first_response_at),
            "solved_at": _utc(args.solved_at),
            **_plain_values(store, args),
        },
    )
    store.insert_many("ticket_tag", [{"ticket_id": args.id, "tag": tag} for tag in _tags(store, args.tags)])
    _check_new_messages(store, [message.id for message in args.messages])
    agents: dict[str, str | None] = {}
    rows: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for message in args.messages:
        agent_id = message.author_agent_id
        if agent_id is not None and agent_id not in agents:
            agents[agent_id] = _known(store, "agent", agent_id, "agent")
        customer_id = message.author_customer_id
        if customer_id is not None and customer_id not in customers:
            customers[customer_id] = _known(store, "customer", customer_id, "customer")
        when = _utc(message.created_at)
        rows.append(
            {
                "id": message.id,
                "ticket_id": args.id,
                "channel": message.channel,
                "direction": message.direction,
                "public": message.public,
                "author_kind": message.author_kind,
                "author_agent_id": agents[agent_id] if agent_id else None,
                "author_customer_id": customers[customer_id] if customer_id else None,
                "body": sanitize_text(message.body),
                "meta": message.meta,
                "created_at": when,
            }
        )
        files += [
            {
                "id": attachment.id,
                "message_id": message.id,
                "sha256": attachment.sha256.lower(),
                "filename": sanitize_line(attachment.filename, cap=255, redact=False),
                "size": attachment.size,
                "content_type": sanitize_line(attachment.content_type, cap=255, redact=False),
                "created_at": _utc(attachment.created_at) or when,
            }
            for attachment in message.attachments
        ]
    store.insert_many("message", rows)
    store.insert_many("attachment", files)
    store.audit("ticket", args.id, "ticket.imported", None, {"number": number, "messages": len(args.messages)})
    moved = {given: actual for given, actual in customers.items() if actual and given != actual}
    return {"ticket_id": args.id, "number": number, "deferred": deferred, "customers": moved}


class ImportLinks(Args):
    """Links of an imported ticket whose targets arrived after it (``None`` leaves a link)."""

    ticket_id: str
    problem_id: str | None = None
    merged_into_id: str | None = None
    follow_up_of_id: str | None = None


@mutation("ticket.import_links", ImportLinks, roles=ADMINS)
def import_links(tx: Tx, args: ImportLinks) -> dict[str, Any]:
    """Set the links of an imported ticket to tickets imported after it."""
    ticket = tx.require("ticket", args.ticket_id, field="ticket_id")
    changes: dict[str, Any] = {}
    for name in LINKS:
        target = getattr(args, name)
        if target is not None:
            tx.require("ticket", target, field=name)
            changes[name] = target
    changed = tx.update("ticket", ticket["id"], changes, current=ticket, touch=False)
    return {"ticket_id": ticket["id"], "changed": sorted(changed)}
