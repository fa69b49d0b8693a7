"""One customer across channels: every inbound address, handle or number is an identity.

A known identity resolves to its customer (after merges). An unknown one becomes a new customer
through ``customer.create`` — or, when a ticket is being opened, through the ``requester`` of
``ticket.create``, which does the same in the ticket's own transaction. Agents merge two
customers later with ``customer.merge``; identities and tickets then move together.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from supportdesk.channels import lookups
from supportdesk.channels.applier import Applier
from supportdesk.domain.errors import Conflict
from supportdesk.domain.identities import normalize_identity
from supportdesk.store.enums import IdentityKind


def find_customer(engine: Engine, kind: IdentityKind, value: str) -> str | None:
    with engine.connect() as connection:
        return lookups.customer_for_identity(connection, kind, normalize_identity(kind, value))


def ensure_customer(engine: Engine, applier: Applier, kind: IdentityKind, value: str, name: str | None) -> str:
    """The customer owning ``value``, created (with that identity) when nobody does yet."""
    normalized = normalize_identity(kind, value)
    found = find_customer(engine, kind, normalized)
    if found is not None:
        return found
    try:
        result = applier(
            "customer.create",
            {
                "name": (name or "").strip() or _name_for(kind, normalized),
                "identities": [{"kind": kind.value, "value": normalized}],
            },
        )
    except Conflict:
        # created meanwhile by a concurrent delivery
        found = find_customer(engine, kind, normalized)
        if found is None:
            raise
        return found
    return str(result["customer_id"])


def _name_for(kind: IdentityKind, value: str) -> str:
    if kind == IdentityKind.EMAIL:
        local = value.split("@", 1)[0]
        return " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part) or value
    return value
