"""Mutations of organizations: the company a group of customers belongs to."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import Conflict, ValidationFailed
from supportdesk.domain.registry import Args, mutation
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.domain.tx import Tx
from supportdesk.store.ids import uuid7


class CreateOrganization(Args):
    organization_id: str = Field(default_factory=uuid7)
    name: str
    domain: str | None = None


@mutation("organization.create", CreateOrganization)
def create_organization(tx: Tx, args: CreateOrganization) -> dict[str, Any]:
    """Add an organization (customers of one company)."""
    name = sanitize_line(args.name, cap=200)
    if not name:
        raise ValidationFailed("the organization needs a name", field="name")
    if tx.find("organization", name=name) is not None:
        raise Conflict(f"an organization called {name} already exists", field="name")
    domain = sanitize_line(args.domain, cap=253).lower() if args.domain else None
    tx.insert(
        "organization",
        {
            "id": args.organization_id,
            "name": name,
            "domain": domain,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("organization", args.organization_id),
    )
    return {"organization_id": args.organization_id}
