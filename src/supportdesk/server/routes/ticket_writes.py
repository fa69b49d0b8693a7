"""REST writes on tickets for integrations: create, reply, note, change (``PATCH``).

Each request becomes the same named mutations the console and the CLI run (``ticket.create``,
``ticket.reply``, ``ticket.note``, ``ticket.set_status`` …), run by :func:`supportdesk.server.rest.run_write`
with the token's agent as the actor: the same permissions, rules, SLA clocks and audit (whose
reference names the token). Every write takes an ``Idempotency-Key``; ``PATCH`` takes ``If-Match``
with the ticket's ``ETag``. Bodies are strict: a field this API does not know — ``author``,
``direction``, ``meta`` — is a 422 naming it, never silently dropped.

What an integration may not claim stays the server's: a ticket opened over REST starts with the
token's agent's message (an internal note, or with ``public: true`` a public message to the
requester), as a ticket an agent opens in the console does; a customer's own words arrive only
through a channel.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Connection

from supportdesk import protocol
from supportdesk.domain.context import Actor
from supportdesk.server import idempotency
from supportdesk.server.apply import Applied
from supportdesk.server.auth import scoped, token_name
from supportdesk.server.errors import ApiError
from supportdesk.server.handlers import ORJSONResponse
from supportdesk.server.representations import created_view, message_view, ticket_view
from supportdesk.server.rest import Answer, Plan, Respond, Step, Writer, run_write
from supportdesk.server.routes import links
from supportdesk.server.routes.links import with_links
from supportdesk.server.routes.tickets import TicketNumber
from supportdesk.server.state import State
from supportdesk.server.versions import IF_MATCH_PATTERN, check_if_match, etag, lock_ticket, parse_if_match
from supportdesk.server.visibility import sees_ticket
from supportdesk.store.enums import Channel, Priority, Status, TicketType

router = APIRouter(prefix="/v1", tags=["tickets"])

Writes = Annotated[Actor, Depends(scoped("tickets:write"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=idempotency.KEY_PATTERN,
        description="Any unique string (a UUID; 1-255 printable ASCII characters, no spaces): the same key "
        "and body within 24 h return the first answer; the same key with another body is a 422.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        pattern=IF_MATCH_PATTERN,
        description='The ticket\'s ETag as read (`"1042"`): a ticket changed since is a 412 naming the fields.',
    ),
]

#: The longest message body and subject a REST write takes (the request's byte limit also applies).
MAX_BODY_CHARS = 200_000
MAX_SUBJECT_CHARS = 500
_NO_NUL = r"^[^\x00]*$"

FieldValue = str | int | float | bool | None
Ref = Annotated[str, Field(min_length=1, max_length=320, pattern=_NO_NUL)]
TagList = Annotated[list[Annotated[str, Field(min_length=1, max_length=100, pattern=_NO_NUL)]], Field(max_length=50)]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": protocol.ErrorBody, "description": description}
    for code, description in {
        400: "Malformed JSON, or a bad If-Match.",
        401: "No token, or one that does not work.",
        403: "The token lacks the scope, or its agent the role.",
        404: "No such ticket that this token may see.",
        409: "A transition the ticket's status does not allow.",
        412: "If-Match names an older version: `changed` lists the fields changed since.",
        413: "The body is too large.",
        422: "A field is invalid (named in `field`), or the Idempotency-Key was used with another request.",
        429: "Too many requests with this token (`Retry-After`).",
    }.items()
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerRef(Strict):
    """An existing customer, by id."""

    customer_id: str = Field(min_length=1, max_length=36, pattern=_NO_NUL)
    name: str | None = Field(default=None, max_length=200, pattern=_NO_NUL)


class EmailRef(Strict):
    """A customer by email address: one we know, or a new one (added with ``name``)."""

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^\x00\s@]+@[^\x00\s@]+$")
    name: str | None = Field(default=None, max_length=200, pattern=_NO_NUL)


RequesterIn = CustomerRef | EmailRef


class TicketIn(Strict):
    """A new ticket. Its first message is the token agent's: an internal note, or with
    ``public`` a message to the requester sent through ``channel``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": "Payment failed for order 1042",
                    "body": "The card was declined twice; the customer was told to expect a call.",
                    "requester": {"email": "alice@example.com", "name": "Alice Doe"},
                    "group": "Billing",
                    "priority": "high",
                    "tags": ["payment", "shop"],
                }
            ]
        },
    )

    subject: str = Field(min_length=1, max_length=MAX_SUBJECT_CHARS, pattern=_NO_NUL)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS, pattern=_NO_NUL)
    requester: RequesterIn
    public: bool = False
    channel: Channel = Channel.EMAIL
    status: Status | None = None
    priority: Priority = Priority.NORMAL
    type: TicketType = TicketType.QUESTION
    group: Ref | None = Field(default=None, description="A group's name or id.")
    assignee: Ref | None = Field(default=None, description="An agent's email or id.")
    tags: TagList = Field(default_factory=list)
    fields: dict[Annotated[str, Field(max_length=80)], FieldValue] = Field(default_factory=dict, max_length=100)


class MessageIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"body": "We refunded the order."}]})

    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS, pattern=_NO_NUL)


class ReplyIn(MessageIn):
    """A public reply to the requester; ``status`` submits the ticket as (pending, solved …)."""

    status: Status | None = None


class TicketPatch(Strict):
    """What to change; a field left out stays as it is, ``null`` clears ``group`` or ``assignee``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "pending", "priority": "urgent", "tags_add": ["vip"]}]},
    )

    status: Status | None = None
    priority: Priority | None = None
    type: TicketType | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=MAX_SUBJECT_CHARS, pattern=_NO_NUL)
    group: Ref | None = Field(default=None, description="A group's name or id; null: no group.")
    assignee: Ref | None = Field(default=None, description="An agent's email or id; null: unassigned.")
    tags_add: TagList = Field(default_factory=list)
    tags_remove: TagList = Field(default_factory=list)
    fields: dict[Annotated[str, Field(max_length=40)], FieldValue] = Field(
        default_factory=dict, max_length=50, description="Ticket fields of the field table, by name."
    )


# --- finding what a request names --------------------------------------------------------------

# built once, not at every request (a create names its group each time)
_GROUP = text("SELECT id FROM groups WHERE id = :r OR name = :r LIMIT 1")
_AGENT = text("SELECT id FROM agent WHERE id = :r OR lower(email) = lower(:r) LIMIT 1")
_TICKET_BY_NUMBER = text("SELECT id, group_id, assignee_id FROM ticket WHERE number = :n")


def _group_id(connection: Connection, ref: str, within: frozenset[str] | None) -> str:
    """The group a request names (id or name); a token restricted to groups (``within``) may
    not put a ticket into another one."""
    found = connection.execute(_GROUP, {"r": ref}).first()
    if found is None:
        raise ApiError(422, "invalid", f"no group {ref!r}", field="group")
    if within is not None and found[0] not in within:
        raise ApiError(403, "forbidden", f"this token is restricted to other groups than {ref!r}", field="group")
    return str(found[0])


def _agent_id(connection: Connection, ref: str) -> str:
    found = connection.execute(_AGENT, {"r": ref}).first()
    if found is None:
        raise ApiError(422, "invalid", f"no agent {ref!r}", field="assignee")
    return str(found[0])


def _visible_ticket(
    connection: Connection, actor: Actor, number: int, field: str = "number", *, lock: bool = True
) -> str:
    """The id of ticket ``number`` if the actor may see it (locked for this write); else a 404,
    the same whether it does not exist or belongs to a group the token does not see."""
    found = connection.execute(_TICKET_BY_NUMBER, {"n": number}).first()
    if found is None or not sees_ticket(actor, found[1], found[2]):
        raise ApiError(404, "not_found", f"no ticket #{number}", field=field)
    if lock:
        lock_ticket(connection, str(found[0]))
    return str(found[0])


# --- answers -----------------------------------------------------------------------------------


def _ticket_answer(
    connection: Connection, actor: Actor, ticket_id: str, status: int, *, view: dict[str, Any] | None = None
) -> Answer:
    """The ticket as the answer of a write (``view``: already known, else read)."""
    if view is None:
        view = ticket_view(connection, ticket_id, messages=False) or {"id": ticket_id}
    if not sees_ticket(actor, view.get("group_id"), view.get("assignee_id")):
        # created into (or moved to) a group the token does not see: only what it already knows
        view = {"id": ticket_id, "number": view.get("number"), "version": view.get("version")}
    headers = {"ETag": etag(int(view["version"] or 0)), "Location": f"/v1/tickets/{view.get('number')}"}
    return Answer(status, view, headers)


def _message_answer(connection: Connection, actor: Actor, done: list[Applied]) -> Answer:
    result = done[-1].result
    message = message_view(connection, str(result["message_id"])) or {"id": result["message_id"]}
    ticket = ticket_view(connection, str(result["ticket_id"]), messages=False) or {}
    body: dict[str, Any] = {
        "message": message,
        "ticket": {key: ticket.get(key) for key in ("id", "number", "status", "version")},
    }
    if result.get("follow_up"):
        body["follow_up"] = True  # the ticket was closed: the reply opened a follow-up
    return Answer(201, body, {"ETag": etag(int(ticket.get("version") or 0))})


def _respond(answer: Answer) -> ORJSONResponse:
    return ORJSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


def _restriction(request: Request) -> frozenset[str] | None:
    """The groups a restricted token keeps to (None: not restricted)."""
    groups: frozenset[str] | None = request.state.token.group_ids
    return groups


def _writer(request: Request, actor: Actor) -> Writer:
    return Writer(
        actor=actor,
        token_id=str(request.state.token_id),
        token_name=token_name(request),
        restriction=_restriction(request),
    )


def _write(
    state: State,
    request: Request,
    actor: Actor,
    plan: Plan,
    respond: Respond,
    *,
    key: str | None,
    fingerprint: str,
) -> ORJSONResponse:
    """One REST write: the steps ``plan`` names, run as the request's token under its
    idempotency key, answered by ``respond`` (or the stored answer of a replay)."""
    writer = _writer(request, actor)
    return _respond(run_write(state, writer, plan, respond, key=idempotency.checked_key(key), fingerprint=fingerprint))


def _print(request: Request, body: BaseModel, **headers: str | None) -> str:
    """The request's fingerprint: method, path, the body as parsed, and the headers that change
    what it does (``If-Match``)."""
    parsed: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    if any(value is not None for value in headers.values()):
        parsed = {"body": parsed, "headers": headers}
    return idempotency.fingerprint(request.method, request.url.path, parsed)


# --- endpoints ---------------------------------------------------------------------------------


@router.post("/tickets", status_code=201, responses=with_links(ERRORS, 201, links.TICKET_CREATED, "The ticket."))
def create_ticket(
    ticket: TicketIn, request: Request, actor: Writes, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """Open a ticket (``ticket.create``) for a customer by id or email; answers the ticket with
    its ``ETag`` and ``Location``."""
    within = _restriction(request)
    if within is not None and ticket.group is None:
        raise ApiError(403, "forbidden", "this token is restricted to groups: name the ticket's group", field="group")

    def plan(connection: Connection) -> list[Step]:
        requester: dict[str, Any] = {"name": ticket.requester.name}
        if isinstance(ticket.requester, CustomerRef):
            requester["customer_id"] = ticket.requester.customer_id
        else:
            requester.update(kind="email", value=ticket.requester.email)
        args: dict[str, Any] = {
            "subject": ticket.subject,
            "body": ticket.body,
            "requester": requester,
            "channel": ticket.channel.value,
            "author": "agent" if ticket.public else "customer",
            "public": ticket.public,
            "status": ticket.status.value if ticket.status else None,
            "priority": ticket.priority.value,
            "type": ticket.type.value,
            "group_id": _group_id(connection, ticket.group, within) if ticket.group else None,
            "assignee_id": _agent_id(connection, ticket.assignee) if ticket.assignee else None,
            "tags": ticket.tags,
            "fields": ticket.fields,
        }
        return [Step("ticket.create", args)]

    def respond(connection: Connection, done: list[Applied], last_seq: int) -> Answer:
        ticket_id = str(done[0].result["ticket_id"])
        view = created_view(done, last_seq, ticket_id)
        return _ticket_answer(connection, actor, ticket_id, 201, view=view)

    return _write(state, request, actor, plan, respond, key=key, fingerprint=_print(request, ticket))


@router.post(
    "/tickets/{number}/replies", status_code=201, responses=with_links(ERRORS, 201, links.MESSAGE_ADDED, "The reply.")
)
def reply(
    number: TicketNumber, reply: ReplyIn, request: Request, actor: Writes, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """A public reply to the requester (``ticket.reply``), sent through the ticket's channel."""

    def plan(connection: Connection) -> list[Step]:
        args: dict[str, Any] = {"ticket_id": _visible_ticket(connection, actor, number), "body": reply.body}
        if reply.status is not None:
            args["status"] = reply.status.value
        return [Step("ticket.reply", args)]

    return _write(
        state,
        request,
        actor,
        plan,
        lambda connection, done, _last_seq: _message_answer(connection, actor, done),
        key=key,
        fingerprint=_print(request, reply),
    )


@router.post(
    "/tickets/{number}/notes", status_code=201, responses=with_links(ERRORS, 201, links.MESSAGE_ADDED, "The note.")
)
def note(
    number: TicketNumber, note: MessageIn, request: Request, actor: Writes, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """An internal note (``ticket.note``): the requester never sees it."""

    def plan(connection: Connection) -> list[Step]:
        return [Step("ticket.note", {"ticket_id": _visible_ticket(connection, actor, number), "body": note.body})]

    return _write(
        state,
        request,
        actor,
        plan,
        lambda connection, done, _last_seq: _message_answer(connection, actor, done),
        key=key,
        fingerprint=_print(request, note),
    )


@router.patch("/tickets/{number}", responses=with_links(ERRORS, 200, links.TICKET_CREATED, "The ticket."))
def change_ticket(
    number: TicketNumber,
    patch: TicketPatch,
    request: Request,
    actor: Writes,
    state: State,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> ORJSONResponse:
    """Change a ticket's fields and tags in one all-or-nothing write (one mutation per field:
    ``ticket.set_status``, ``ticket.assign``, ``ticket.tag`` …); with ``If-Match`` only if the
    ticket is still the version read."""
    expected = parse_if_match(if_match) if if_match is not None else None
    given = patch.model_fields_set
    within = _restriction(request)
    found: list[str] = []

    def plan(connection: Connection) -> list[Step]:
        ticket_id = _visible_ticket(connection, actor, number)
        found[:] = [ticket_id]  # run again after a deadlock: this run's ticket, not a list of them
        check_if_match(connection, ticket_id, number, expected)
        steps: list[Step] = []
        if patch.subject is not None:
            steps.append(Step("ticket.set_subject", {"ticket_id": ticket_id, "subject": patch.subject}))
        if patch.priority is not None:
            steps.append(Step("ticket.set_priority", {"ticket_id": ticket_id, "priority": patch.priority.value}))
        if patch.type is not None:
            steps.append(Step("ticket.set_type", {"ticket_id": ticket_id, "type": patch.type.value}))
        if "group" in given or "assignee" in given:
            assign: dict[str, Any] = {"ticket_id": ticket_id}
            if "group" in given:
                if patch.group is None and within is not None:
                    raise ApiError(403, "forbidden", "this token is restricted to groups: name one", field="group")
                assign["group_id"] = _group_id(connection, patch.group, within) if patch.group else None
            if "assignee" in given:
                assign["assignee_id"] = _agent_id(connection, patch.assignee) if patch.assignee else None
            steps.append(Step("ticket.assign", assign))
        if patch.tags_add:
            steps.append(Step("ticket.tag", {"ticket_id": ticket_id, "tags": patch.tags_add}))
        if patch.tags_remove:
            steps.append(Step("ticket.untag", {"ticket_id": ticket_id, "tags": patch.tags_remove}))
        for name, value in patch.fields.items():
            text_value = None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            steps.append(Step("ticket.set_field", {"ticket_id": ticket_id, "field": name, "value": text_value}))
        if patch.status is not None:  # last: a solve after the fields it may need
            steps.append(Step("ticket.set_status", {"ticket_id": ticket_id, "status": patch.status.value}))
        return steps  # none: the ticket as it is (a PATCH that changes nothing changes nothing)

    def respond(connection: Connection, done: list[Applied], _last_seq: int) -> Answer:
        return _ticket_answer(connection, actor, found[0], 200)

    fingerprint = _print(request, patch, if_match=if_match)
    return _write(state, request, actor, plan, respond, key=key, fingerprint=fingerprint)


class MergeIn(Strict):
    """Merge this ticket into ticket ``into``. Tickets of two different requesters merge only
    with ``different_requesters: true`` (the source's customer then writes in a ticket that
    answers someone else, so it is never implied); without it such a merge is a 422 naming it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"into": 1042, "comment": "Same outage, reported twice."}]},
    )

    into: int = Field(ge=1, le=protocol.MAX_TICKET_NUMBER, description="The number of the ticket kept.")
    comment: str | None = Field(default=None, max_length=10_000, pattern=_NO_NUL)
    different_requesters: bool = False


@router.post("/tickets/{number}/merge", responses=with_links(ERRORS, 200, links.TICKET_CREATED, "The ticket kept."))
def merge_ticket(
    number: TicketNumber, merge: MergeIn, request: Request, actor: Writes, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """Merge a ticket into another (``ticket.merge``): its messages move to ``into``, it closes
    and points there. Both must be tickets this token may see; answers the ticket kept."""
    found: list[str] = []

    def plan(connection: Connection) -> list[Step]:
        if merge.into == number:
            raise ApiError(422, "invalid", "a ticket cannot be merged into itself", field="into")
        source = _visible_ticket(connection, actor, number, lock=False)
        target = _visible_ticket(connection, actor, merge.into, field="into", lock=False)
        for ticket_id in sorted((source, target)):  # one order: two opposite merges never deadlock
            lock_ticket(connection, ticket_id)
        found[:] = [target]
        args: dict[str, Any] = {
            "source_id": source,
            "target_id": target,
            "comment": merge.comment,
            "different_requesters": merge.different_requesters,
        }
        return [Step("ticket.merge", args)]

    def respond(connection: Connection, done: list[Applied], _last_seq: int) -> Answer:
        return _ticket_answer(connection, actor, found[0], 200)

    return _write(state, request, actor, plan, respond, key=key, fingerprint=_print(request, merge))
