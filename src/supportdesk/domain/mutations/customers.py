"""Mutations of customers and organizations: one person across every channel."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select, update

from supportdesk.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.identities import normalize_identity
from supportdesk.domain.registry import Args, mutation
from supportdesk.domain.rules import can_access_ticket
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Touched, Tx, table
from supportdesk.store.enums import IdentityKind
from supportdesk.store.ids import uuid7


class RequesterRef(Args):
    """Who a ticket is for: an existing customer, or an address that may be new to us.

    When the address is unknown a customer is created with ``new_customer_id`` and the address
    becomes their identity ``new_identity_id`` (ids made up front, so a replay makes the same).
    """

    customer_id: str | None = None
    kind: IdentityKind = IdentityKind.EMAIL
    value: str | None = None
    name: str | None = None
    new_customer_id: str = Field(default_factory=uuid7)
    new_identity_id: str = Field(default_factory=uuid7)


def _live_customer(tx: Tx, customer_id: str, field: str) -> dict[str, Any]:
    """The customer, following merges to the surviving record; an erased record is refused, so it
    never gathers a name, an address or a ticket again (``privacy.keep_erased`` keeps its tickets'
    text erased)."""
    customer = tx.row("customer", customer_id)
    hops = 0
    while customer is not None and customer["merged_into_id"] and hops < 10:
        customer = tx.row("customer", customer["merged_into_id"])
        hops += 1
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}", field=field)
    if customer["erased_at"] is not None:
        raise ValidationFailed(
            f"customer {customer['id']} was erased: the record takes no new personal data (make a new customer)",
            field=field,
        )
    return customer


def resolve_requester(tx: Tx, ref: RequesterRef) -> str:
    if ref.customer_id:
        return str(_live_customer(tx, ref.customer_id, "requester.customer_id")["id"])
    if not ref.value:
        raise ValidationFailed("a requester needs a customer id or an address", field="requester")
    value = normalize_identity(ref.kind, ref.value)
    identity = tx.find("identity", kind=ref.kind, value=value)
    if identity is not None:
        return str(_live_customer(tx, identity["customer_id"], "requester")["id"])
    name = sanitize_line(ref.name or "") or _name_from_address(ref.kind, value)
    _insert_customer(tx, ref.new_customer_id, name, None)
    tx.insert(
        "identity",
        {
            "id": ref.new_identity_id,
            "customer_id": ref.new_customer_id,
            "kind": ref.kind,
            "value": value,
            "is_primary": True,
            "created_at": tx.now,
        },
        audit_entity=("customer", ref.new_customer_id),
    )
    return ref.new_customer_id


def _name_from_address(kind: IdentityKind, value: str) -> str:
    if kind == IdentityKind.EMAIL:
        local = value.split("@", 1)[0]
        return " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part)
    return value


def _insert_customer(tx: Tx, customer_id: str, name: str, organization_id: str | None) -> None:
    if organization_id is not None and tx.row("organization", organization_id) is None:
        raise NotFound(f"no organization with id {organization_id}", field="organization_id")
    tx.insert(
        "customer",
        {
            "id": customer_id,
            "name": name,
            "organization_id": organization_id,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("customer", customer_id),
    )


class IdentityIn(Args):
    kind: IdentityKind
    value: str
    identity_id: str = Field(default_factory=uuid7)


class CreateCustomer(Args):
    customer_id: str = Field(default_factory=uuid7)
    name: str
    organization_id: str | None = None
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


@mutation("customer.create", CreateCustomer)
def create(tx: Tx, args: CreateCustomer) -> dict[str, Any]:
    """Add a customer with their addresses."""
    name = sanitize_line(args.name)
    if not name:
        raise ValidationFailed("the customer needs a name", field="name")
    _insert_customer(tx, args.customer_id, name, args.organization_id)
    for index, identity in enumerate(args.identities):
        _add_identity(tx, args.customer_id, identity, primary=index == 0)
    return {"customer_id": args.customer_id}


def _add_identity(tx: Tx, customer_id: str, identity: IdentityIn, *, primary: bool) -> str:
    value = normalize_identity(identity.kind, identity.value)
    existing = tx.find("identity", kind=identity.kind, value=value)
    if existing is not None:
        if existing["customer_id"] == customer_id:
            return str(existing["id"])
        owner = tx.row("customer", existing["customer_id"])
        raise Conflict(
            f"{value} already belongs to {owner['name'] if owner else 'another customer'}: "
            "merge the two customers instead",
            field="value",
        )
    has_primary = any(
        row["is_primary"] and row["kind"] == identity.kind for row in tx.select_all("identity", customer_id=customer_id)
    )
    tx.insert(
        "identity",
        {
            "id": identity.identity_id,
            "customer_id": customer_id,
            "kind": identity.kind,
            "value": value,
            "is_primary": primary or not has_primary,
            "created_at": tx.now,
        },
        audit_entity=("customer", customer_id),
    )
    return identity.identity_id


class UpdateCustomer(Args):
    """Fields left ``None`` stay as they are; ``organization_id=""`` clears the organization."""

    customer_id: str
    name: str | None = None
    organization_id: str | None = None
    notes: str | None = None
    locale: str | None = None


@mutation("customer.update", UpdateCustomer)
def update_customer(tx: Tx, args: UpdateCustomer) -> dict[str, Any]:
    """Change a customer's name, organization, notes or locale."""
    customer = _live_customer(tx, args.customer_id, "customer_id")
    changes: dict[str, Any] = {}
    if args.name is not None:
        name = sanitize_line(args.name)
        if not name:
            raise ValidationFailed("the customer needs a name", field="name")
        changes["name"] = name
    if args.organization_id is not None:
        organization = args.organization_id or None
        if organization and tx.row("organization", organization) is None:
            raise NotFound(f"no organization with id {organization}", field="organization_id")
        changes["organization_id"] = organization
    if args.notes is not None:
        changes["notes"] = sanitize_text(args.notes, cap=20_000)
    if args.locale is not None:
        changes["locale"] = sanitize_line(args.locale, cap=20)
    changed = tx.update("customer", customer["id"], changes, current=customer)
    return {"customer_id": customer["id"], "changed": sorted(changed)}


class AddIdentity(Args):
    customer_id: str
    kind: IdentityKind
    value: str
    identity_id: str = Field(default_factory=uuid7)


@mutation("customer.add_identity", AddIdentity)
def add_identity(tx: Tx, args: AddIdentity) -> dict[str, Any]:
    """Give a customer one more address (an email, phone number, chat or social handle)."""
    customer = _live_customer(tx, args.customer_id, "customer_id")
    identity_id = _add_identity(
        tx,
        customer["id"],
        IdentityIn(kind=args.kind, value=args.value, identity_id=args.identity_id),
        primary=False,
    )
    tx.write_quietly("customer", customer["id"], {"updated_at": tx.now})
    return {"customer_id": customer["id"], "identity_id": identity_id}


class MergeCustomers(Args):
    source_id: str
    target_id: str


def _check_may_merge(tx: Tx, source: dict[str, Any], target: dict[str, Any]) -> None:
    """Admins merge anyone; an agent only customers all of whose tickets they can see.

    Merging moves a customer's addresses and tickets to another record, and replies follow the
    record: an agent of one group merging another group's customer into one of their own would
    take that customer's conversations over. So every ticket either customer asked for or wrote
    in must be one the agent may open.
    """
    actor = tx.context.actor
    if actor.is_admin or actor.is_system:
        return
    tickets, messages = table("ticket"), table("message")
    people = [source["id"], target["id"]]
    wrote_in = select(messages.c.ticket_id).where(messages.c.author_customer_id.in_(people))
    rows = tx.connection.execute(
        select(tickets.c.number, tickets.c.group_id, tickets.c.assignee_id).where(
            tickets.c.requester_id.in_(people) | tickets.c.id.in_(wrote_in)
        )
    ).mappings()
    for row in rows:
        if not can_access_ticket(actor, dict(row)):
            raise PermissionDenied(
                f"{source['name']} and {target['name']} have tickets in groups {actor.name or 'this agent'} "
                "is not in: ask an admin to merge them",
                field="source_id",
            )


@mutation("customer.merge", MergeCustomers)
def merge(tx: Tx, args: MergeCustomers) -> dict[str, Any]:
    """Merge two records of one person: identities, tickets and messages move to the target.

    Admins may merge any two customers; an agent only two whose every ticket they can see.
    """
    if args.source_id == args.target_id:
        raise ValidationFailed("a customer cannot be merged into itself", field="target_id")
    source = tx.require("customer", args.source_id, field="source_id")
    target = _live_customer(tx, args.target_id, "target_id")
    if source["merged_into_id"]:
        raise ValidationFailed(f"{source['name']} was already merged", field="source_id")
    if target["id"] == source["id"]:
        raise ValidationFailed("a customer cannot be merged into itself", field="target_id")
    _check_may_merge(tx, source, target)
    moved: dict[str, int] = {}
    for table_name, column in (
        ("identity", "customer_id"),
        ("ticket", "requester_id"),
        ("message", "author_customer_id"),
    ):
        tbl = table(table_name)
        ids = [row[0] for row in tx.connection.execute(select(tbl.c.id).where(tbl.c[column] == source["id"]))]
        if table_name == "identity":
            # the target keeps its own primary addresses
            tx.connection.execute(update(tbl).where(tbl.c.customer_id == source["id"]).values(is_primary=False))
        for row_id in ids:
            tx.connection.execute(update(tbl).where(tbl.c.id == row_id).values({column: target["id"]}))
            tx.touched.append(Touched(table_name, (row_id,), "update"))
        moved[table_name] = len(ids)
    changes: dict[str, Any] = {"merged_into_id": target["id"]}
    if not target["organization_id"] and source["organization_id"]:
        tx.update("customer", target["id"], {"organization_id": source["organization_id"]}, current=target)
    tx.update("customer", source["id"], changes, current=source)
    tx.audit("customer", target["id"], "merged_from", None, source["id"])
    return {"customer_id": target["id"], "source_id": source["id"], "moved": moved}
