"""Mutations of saved views: a queue query under a name, personal or shared."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.mutations.common import DeleteById
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.domain.tx import Tx
from supportdesk.store.ids import uuid7


def _check_view(query: str, sort: str) -> tuple[str, str]:
    from supportdesk.store.query import SORTS, QueryError, parse

    query = sanitize_line(query, cap=2000, redact=False)
    try:
        parse(query)
    except QueryError as error:
        raise ValidationFailed(f"the view's query does not parse: {error}", field="query") from None
    if sort not in SORTS:
        raise ValidationFailed(f"{sort!r} is not a sort: choose one of {', '.join(SORTS)}", field="sort")
    return query, sort


class CreateView(Args):
    view_id: str = Field(default_factory=uuid7)
    name: str
    query: str
    sort: str = "updated-desc"
    shared: bool = False
    position: int = 0


@mutation("view.create", CreateView, roles=ALL_ROLES)
def create_view(tx: Tx, args: CreateView) -> dict[str, Any]:
    """Save a queue query under a name (shared views are for admins to make)."""
    actor = tx.context.actor
    if args.shared and not actor.is_admin:
        raise PermissionDenied("only admins make views shared with the whole team", field="shared")
    name = sanitize_line(args.name, cap=120)
    if not name:
        raise ValidationFailed("the view needs a name", field="name")
    query, sort = _check_view(args.query, args.sort)
    owner = None if args.shared else actor.id
    for existing in tx.select_all("saved_view", name=name):
        if existing["owner_id"] == owner:
            raise Conflict(f"a view called {name} already exists", field="name")
    tx.insert(
        "saved_view",
        {
            "id": args.view_id,
            "name": name,
            "query": query,
            "sort": sort,
            "owner_id": owner,
            "position": args.position,
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("saved_view", args.view_id),
    )
    return {"view_id": args.view_id}


def _own_view(tx: Tx, view_id: str) -> dict[str, Any]:
    view = tx.require("saved_view", view_id, field="view_id")
    actor = tx.context.actor
    if view["owner_id"] not in (None, actor.id) and not actor.is_admin:
        raise NotFound(f"no view with id {view_id}", field="view_id")
    if view["owner_id"] is None and not actor.is_admin:
        raise PermissionDenied("only admins change views shared with the whole team", field="view_id")
    return view


class UpdateView(Args):
    view_id: str
    name: str | None = None
    query: str | None = None
    sort: str | None = None
    position: int | None = None


@mutation("view.update", UpdateView, roles=ALL_ROLES)
def update_view(tx: Tx, args: UpdateView) -> dict[str, Any]:
    """Rename a view or change its query, sort or place."""
    view = _own_view(tx, args.view_id)
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = sanitize_line(args.name, cap=120)
        if not changes["name"]:
            raise ValidationFailed("the view needs a name", field="name")
    query, sort = _check_view(
        args.query if args.query is not None else view["query"],
        args.sort if args.sort is not None else view["sort"],
    )
    changes.update(query=query, sort=sort)
    if args.position is not None:
        changes["position"] = args.position
    changed = tx.update("saved_view", view["id"], changes, current=view)
    return {"view_id": view["id"], "changed": sorted(changed)}


@mutation("view.delete", DeleteById, roles=ALL_ROLES)
def delete_view(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a saved view."""
    _own_view(tx, args.id)
    tx.delete("saved_view", args.id, audit_entity=("saved_view", args.id))
    return {"view_id": args.id}
