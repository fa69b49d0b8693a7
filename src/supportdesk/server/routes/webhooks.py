"""Webhook endpoints over REST, for admins' tokens (full or with the ``admin`` scope): register,
list, remove, enable, and see or replay deliveries — the same as ``supportdesk server webhook …``."""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from supportdesk import protocol
from supportdesk.server import webhooks
from supportdesk.server.auth import Caller, require_admin
from supportdesk.server.errors import ApiError
from supportdesk.server.reads import snapshot
from supportdesk.server.retry import retried
from supportdesk.server.state import State

router = APIRouter(prefix="/v1/admin/webhooks", tags=["webhooks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": protocol.ErrorBody, "description": description}
    for code, description in {
        401: "No token, or one that does not work.",
        403: "Not an admin's token (or one without the admin scope).",
        404: "No such endpoint or delivery.",
        422: "A field is invalid (named in `field`).",
    }.items()
}
EventType = Literal["ticket.created", "ticket.updated", "ticket.solved", "message.created", "feedback.received"]
Id = Annotated[str, Path(max_length=36, pattern=r"^[0-9A-Za-z-]+$")]
T = TypeVar("T")


class EndpointIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://chat.acme.test/hooks/support", "events": ["ticket.solved"], "groups": None}]
        },
    )

    url: str = Field(max_length=2000, pattern=r"^https?://[\x21-\x2e\x30-\x3f\x41-\x7e]+(/[\x21-\x7e]*)?$")
    events: list[EventType] = Field(min_length=1, max_length=len(webhooks.EVENT_TYPES))
    groups: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=100, description="Only these groups' tickets (names or ids); null: every ticket."
    )
    description: str = Field(default="", max_length=200)


def _group_ids(state: State, refs: list[str] | None) -> list[str] | None:
    if refs is None:
        return None
    from supportdesk.domain.errors import NotFound
    from supportdesk.server.admin import group_id

    try:
        return [group_id(state.database, ref) for ref in refs]
    except NotFound as error:
        raise ApiError(422, "invalid", str(error), field="groups") from None


def _in_transaction(state: State, work: Callable[[Connection], T]) -> T:
    """``work`` in a transaction of its own (run again whole by :func:`.retry.retried` after a
    deadlock with a write that records deliveries)."""
    with state.database.engine.connect() as connection, connection.begin():
        return work(connection)


@router.post("", status_code=201, responses=ERRORS)
def add(endpoint: EndpointIn, actor: Caller, state: State) -> dict[str, Any]:
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    require_admin(actor)
    groups = _group_ids(state, endpoint.groups)

    def write() -> tuple[str, str]:
        with state.database.engine.connect() as connection, connection.begin():
            return webhooks.add_endpoint(
                connection,
                endpoint.url,
                list(endpoint.events),
                group_ids=groups,
                description=endpoint.description,
                created_by=actor.id,
            )

    try:
        endpoint_id, secret = retried(write, what="adding a webhook endpoint")
    except webhooks.WebhookError as error:
        field = "url" if "URL" in str(error) else "events"
        raise ApiError(422, "invalid", str(error), field=field) from None
    return {"id": endpoint_id, "secret": secret}


@router.get("", responses=ERRORS)
def list_all(actor: Caller, state: State) -> dict[str, Any]:
    """Every endpoint (never its secret), with its last success and why it was disabled."""
    require_admin(actor)
    with snapshot(state.database) as connection:
        return {"endpoints": webhooks.list_endpoints(connection)}


@router.delete("/{endpoint_id}", responses=ERRORS)
def remove(endpoint_id: Id, actor: Caller, state: State) -> dict[str, Any]:
    """Remove an endpoint and its queued deliveries."""
    require_admin(actor)
    if not retried(lambda: _in_transaction(state, lambda c: webhooks.remove_endpoint(c, endpoint_id))):
        raise ApiError(404, "not_found", f"no webhook endpoint {endpoint_id}", field="endpoint_id")
    return {"removed": endpoint_id}


@router.post("/{endpoint_id}/enable", responses=ERRORS)
def enable(endpoint_id: Id, actor: Caller, state: State) -> dict[str, Any]:
    """Turn a disabled endpoint on again."""
    require_admin(actor)
    if not retried(lambda: _in_transaction(state, lambda c: webhooks.enable_endpoint(c, endpoint_id))):
        raise ApiError(404, "not_found", f"no webhook endpoint {endpoint_id}", field="endpoint_id")
    return {"enabled": endpoint_id}


@router.get("/deliveries", responses=ERRORS)
def deliveries(
    actor: Caller,
    state: State,
    endpoint_id: Annotated[str | None, Query(max_length=36, pattern=r"^[0-9A-Za-z-]+$")] = None,
    status: Annotated[str | None, Query(pattern=r"^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Deliveries, newest first: their status, attempts, last answer and error."""
    require_admin(actor)
    with snapshot(state.database) as connection:
        found = webhooks.list_deliveries(connection, endpoint_id=endpoint_id, status=status, limit=limit)
    return {"deliveries": found}


@router.post("/deliveries/{delivery_id}/replay", status_code=201, responses=ERRORS)
def replay(delivery_id: Id, actor: Caller, state: State) -> dict[str, Any]:
    """Send a delivery's event again (same event id) to its endpoint, now."""
    require_admin(actor)
    new_id = retried(lambda: _in_transaction(state, lambda c: webhooks.replay(c, delivery_id)))
    sender = state.extensions.get("webhooks")
    if sender is not None:
        sender.wake()
    return {"delivery_id": new_id, "replay_of": delivery_id}
