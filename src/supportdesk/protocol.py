"""The sync protocol between a workspace and the team server: its messages, limits and errors.

Both sides import this one module — the server to validate what arrives and to describe it in
its OpenAPI schema, the sync client to build requests and read answers — so a field or a limit
is written once (see DESIGN.md, "Sync protocol"). It depends on pydantic only: neither side's
machinery comes with it.

Request models forbid unknown fields, so a client cannot slip a server-owned field into a
request; a mutation's own ``args`` are checked against the mutation's argument model on the
server, which forbids unknown fields too. Every number and key that reaches a SQL query is
bounded here, so a forged cursor or key is a 422 naming the field, never a database error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: Bumped when the wire format changes incompatibly; the server refuses other versions (409).
SCHEMA_VERSION = 1

MAX_BATCH = 500
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_PAGE = 5000
DEFAULT_PAGE = 1000
MAX_ROW_KEYS = 2000
#: The largest change-log seq and mutation id: a signed 64-bit integer, as both databases store it.
MAX_SEQ = 2**63 - 1
#: The largest ticket number: the column is a 32-bit integer on PostgreSQL.
MAX_TICKET_NUMBER = 2**31 - 1
#: Row keys are ids (36 characters) or tags (80); nothing longer is a key of a shared table.
MAX_KEY_CHARS = 120

#: One part of a row's primary key. Shared tables are keyed by text only (ids, tags); NUL is
#: refused because PostgreSQL cannot hold it in text.
KeyPart = Annotated[str, StringConstraints(max_length=MAX_KEY_CHARS, pattern=r"^[^\x00]*$")]
#: Ids a client names: a client id, a ticket id, a token id.
Ident = Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=r"^[^\x00]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong, in one sentence, and which field of the request caused it."""

    code: str = Field(description="A stable word: invalid, not_found, forbidden, rate_limited, …")
    message: str = Field(description="One sentence for a person.")
    field: str | None = Field(default=None, description="The request field at fault (dotted path).")


class ErrorBody(BaseModel):
    """Every refusal: 4xx (or 5xx) with this JSON body."""

    error: ErrorDetail


# --- push ------------------------------------------------------------------------------------


class MutationIn(Strict):
    id: int = Field(ge=1, le=MAX_SEQ, description="The client's consecutive mutation id.")
    name: str = Field(max_length=60)
    args: dict[str, Any]


class PushRequest(Strict):
    client_id: Annotated[str, StringConstraints(min_length=8, max_length=36, pattern=r"^[^\x00]*$")]
    schema_version: int
    mutations: list[MutationIn]


class MutationOutcome(BaseModel):
    """The server's answer for one mutation; replays return the stored one."""

    id: int
    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    seq: int = 0
    replayed: bool = False


class PushResponse(BaseModel):
    results: list[MutationOutcome]
    last_mutation_id: int


# --- pull ------------------------------------------------------------------------------------


class Change(BaseModel):
    """One change-log record as a client sees it.

    ``op`` is ``upsert`` (``data`` is the whole row), ``delete`` (``data.key``), ``hide`` (the
    ticket left what the caller may see: drop it and its messages), ``reveal`` (the ticket
    came into view: ``data.rows`` holds it with its tags, messages and requester) or ``erase``
    (a tombstone: the customer ``data.customer_id`` and their records ``data.records`` were
    erased; the replica forgets what it keeps of them beside the rows, see ``sync.erasure``).
    """

    seq: int
    entity: str
    op: Literal["upsert", "delete", "hide", "reveal", "erase"]
    data: dict[str, Any]


class PullResponse(BaseModel):
    changes: list[Change]
    cursor: int
    more: bool
    last_mutation_id: int
    scope: str | None = Field(
        default=None, description="A fingerprint of what the caller may see; None from servers that predate it."
    )


# --- rows ------------------------------------------------------------------------------------


class RowKey(Strict):
    table: str = Field(max_length=40)
    key: list[KeyPart] = Field(min_length=1, max_length=2)


class RowsRequest(Strict):
    keys: list[RowKey] = Field(max_length=MAX_ROW_KEYS)


class RowState(BaseModel):
    table: str
    key: list[Any]
    row: dict[str, Any] | None


class RowsResponse(BaseModel):
    rows: list[RowState]


# --- live events -----------------------------------------------------------------------------


class PresenceIn(Strict):
    ticket_id: Ident
    state: Literal["viewing", "typing", "left"]


#: The Server-Sent Events of ``GET /v1/events``: ``hello`` {seq, agent_id} on connect, ``poke``
#: {seq} after a write, ``presence`` {agent_id, agent_name, ticket_id, state, at}, and ``closed``
#: {reason, message} as the last event when the server ends the stream (reason ``token``: the
#: token was revoked or expired or the agent deactivated; ``scope``: the agent's groups or role
#: changed, so reconnect; ``shutdown``). Comment lines are keep-alives.
EVENT_NAMES = ("hello", "poke", "presence", "closed")
