"""The sync protocol's messages (see DESIGN.md, "Sync protocol") and its limits.

Request models forbid unknown fields, so a client cannot slip a server-owned field into a
request; a mutation's own ``args`` are checked against the mutation's argument model on the
server, which forbids unknown fields too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Bumped when the wire format changes incompatibly; the server refuses other versions (409).
SCHEMA_VERSION = 1

MAX_BATCH = 500
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_PAGE = 5000
DEFAULT_PAGE = 1000
MAX_ROW_KEYS = 2000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MutationIn(Strict):
    id: int = Field(ge=1, description="The client's consecutive mutation id.")
    name: str = Field(max_length=60)
    args: dict[str, Any]


class PushRequest(Strict):
    client_id: str = Field(min_length=8, max_length=36)
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


class RowKey(Strict):
    table: str = Field(max_length=40)
    key: list[Any] = Field(min_length=1, max_length=2)


class RowsRequest(Strict):
    keys: list[RowKey] = Field(max_length=MAX_ROW_KEYS)


class RowState(BaseModel):
    table: str
    key: list[Any]
    row: dict[str, Any] | None


class RowsResponse(BaseModel):
    rows: list[RowState]


class PresenceIn(Strict):
    ticket_id: str = Field(min_length=1, max_length=36)
    state: Literal["viewing", "typing", "left"]
