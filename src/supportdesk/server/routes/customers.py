"""REST for customers: find one by address, read one with the tickets the token may see, change
one, merge two records of one person.

A CRM asks "who is alice@example.com and what has she asked us?": ``GET /v1/customers?email=``
answers the customer records with that address, ``GET /v1/customers/{id}`` the record with its
addresses and the tickets (newest first) the token may see — never a ticket of a group it does
not see. Customers themselves are shared, as in the console (:mod:`..visibility`).

Writes run ``customer.update`` and ``customer.merge`` through :func:`..rest.run_write`, with the
console's rules: an agent merges two customers only when every ticket of both is one they may
open (an admin any two); a group-restricted token counts as an agent of its groups.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Connection

from supportdesk.domain.context import Actor
from supportdesk.domain.identities import normalize_identity
from supportdesk.server.apply import Applied
from supportdesk.server.auth import scoped
from supportdesk.server.errors import ApiError
from supportdesk.server.handlers import ORJSONResponse
from supportdesk.server.reads import snapshot
from supportdesk.server.representations import customer_view
from supportdesk.server.rest import Answer, Step
from supportdesk.server.routes import links
from supportdesk.server.routes.links import with_links
from supportdesk.server.routes.ticket_writes import (
    _NO_NUL,
    ERRORS,
    IdempotencyKey,
    Strict,
    _print,
    _respond,
    _write,
)
from supportdesk.server.state import State
from supportdesk.server.visibility import ticket_condition

router = APIRouter(prefix="/v1", tags=["customers"])

Reader = Annotated[Actor, Depends(scoped("customers:read"))]
Writer = Annotated[Actor, Depends(scoped("customers:write"))]
CustomerId = Annotated[
    str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="The customer's id.")
]

#: The most tickets a customer answer lists (newest first).
MAX_TICKETS = 100


class CustomerPatch(Strict):
    """What to change; a field left out stays as it is. ``organization_id: ""`` clears it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Alice Doe", "notes": "VIP since 2021"}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=300, pattern=_NO_NUL)
    organization_id: str | None = Field(default=None, max_length=36, pattern=_NO_NUL)
    notes: str | None = Field(default=None, max_length=20_000, pattern=_NO_NUL)
    locale: str | None = Field(default=None, min_length=1, max_length=20, pattern=_NO_NUL)


class CustomerMerge(Strict):
    """Merge this customer into ``into``: addresses, tickets and messages move there."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"into": "0190d7c2-7c1e-7000-8000-000000000001"}]}
    )

    into: str = Field(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="The customer kept.")


def _tickets_of(connection: Connection, actor: Actor, customer_id: str) -> list[dict[str, Any]]:
    visible, params = ticket_condition(actor)
    found = connection.execute(
        text(
            "SELECT t.number, t.subject, t.status, t.priority, t.group_id, t.updated_at FROM ticket t "
            f"WHERE t.requester_id = :c AND ({visible}) ORDER BY t.updated_at DESC, t.id DESC LIMIT {MAX_TICKETS}"
        ),
        {**params, "c": customer_id},
    )
    names = ("number", "subject", "status", "priority", "group_id", "updated_at")
    rows = [dict(zip(names, row, strict=True)) for row in found]
    for row in rows:
        row["updated_at"] = str(row["updated_at"]) if row["updated_at"] is not None else None
    return rows


def _customer_answer(connection: Connection, actor: Actor, customer_id: str, status: int = 200) -> Answer:
    view = customer_view(connection, customer_id)
    if view is None:
        raise ApiError(404, "not_found", f"no customer {customer_id}", field="id")
    view["tickets"] = _tickets_of(connection, actor, customer_id)
    return Answer(status, view, {"Location": f"/v1/customers/{customer_id}"})


@router.get("/customers", responses=ERRORS)
def find_customers(
    actor: Reader,
    state: State,
    email: Annotated[
        str | None, Query(min_length=3, max_length=320, pattern=r"^[^\x00\s]+$", description="An email address.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="`next` of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """Customers with an address (``email``), or all of them a page at a time (by id); each
    with their addresses. An address matches as the channels match it (case does not matter)."""
    with snapshot(state.database) as connection:
        if email is not None:
            address = normalize_identity("email", email)
            ids = list(
                connection.execute(
                    text(
                        "SELECT DISTINCT customer_id FROM identity WHERE kind = 'email' AND value = :v "
                        "ORDER BY customer_id LIMIT :n"
                    ),
                    {"v": address, "n": limit},
                ).scalars()
            )
            more = False
        else:
            found = connection.execute(
                text("SELECT id FROM customer WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": after or "", "n": limit + 1},
            ).scalars()
            ids = list(found)
            more = len(ids) > limit
            ids = ids[:limit]
        customers = [view for view in (customer_view(connection, str(i)) for i in ids) if view is not None]
    return {"customers": customers, "next": ids[-1] if more else None}


@router.get("/customers/{customer_id}", responses=with_links(ERRORS, 200, links.CUSTOMER, "The customer."))
def show_customer(customer_id: CustomerId, actor: Reader, state: State) -> ORJSONResponse:
    """A customer with their addresses and the tickets they asked for that the token may see
    (newest first, at most 100; ``GET /v1/tickets`` pages through more)."""
    with snapshot(state.database) as connection:
        answer = _customer_answer(connection, actor, customer_id)
    return _respond(answer)


def _live_customer(connection: Connection, customer_id: str, field: str = "id") -> str:
    found = connection.execute(text("SELECT id FROM customer WHERE id = :c"), {"c": customer_id}).first()
    if found is None:
        raise ApiError(404, "not_found", f"no customer {customer_id}", field=field)
    return str(found[0])


@router.patch("/customers/{customer_id}", responses=with_links(ERRORS, 200, links.CUSTOMER, "The customer."))
def change_customer(
    customer_id: CustomerId,
    patch: CustomerPatch,
    request: Request,
    actor: Writer,
    state: State,
    key: IdempotencyKey = None,
) -> ORJSONResponse:
    """Change a customer's name, organization, notes or locale (``customer.update``)."""

    def plan(connection: Connection) -> list[Step]:
        args: dict[str, Any] = {"customer_id": _live_customer(connection, customer_id)}
        args.update(patch.model_dump(exclude_unset=True, exclude_none=True))
        return [Step("customer.update", args)]

    def respond(connection: Connection, done: list[Applied], _last_seq: int) -> Answer:
        return _customer_answer(connection, actor, str(done[0].result["customer_id"]))

    return _write(state, request, actor, plan, respond, key=key, fingerprint=_print(request, patch))


@router.post("/customers/{customer_id}/merge", responses=with_links(ERRORS, 200, links.CUSTOMER, "The customer kept."))
def merge_customer(
    customer_id: CustomerId,
    merge: CustomerMerge,
    request: Request,
    actor: Writer,
    state: State,
    key: IdempotencyKey = None,
) -> ORJSONResponse:
    """Merge this customer into another record of the same person (``customer.merge``); answers
    the customer kept. An admin merges any two; an agent only two whose every ticket they may
    open (a 403 otherwise)."""

    def plan(connection: Connection) -> list[Step]:
        source = _live_customer(connection, customer_id)
        target = _live_customer(connection, merge.into, "into")
        return [Step("customer.merge", {"source_id": source, "target_id": target})]

    def respond(connection: Connection, done: list[Applied], _last_seq: int) -> Answer:
        return _customer_answer(connection, actor, str(done[0].result["customer_id"]))

    return _write(state, request, actor, plan, respond, key=key, fingerprint=_print(request, merge))
