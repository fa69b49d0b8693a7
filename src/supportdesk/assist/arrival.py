"""Triage of a ticket opened on this machine: provisional, until the server's arrives.

An agent who opens a ticket (``tickets create``, the console) gets its language, sentiment and
intent at once, offline too: :func:`triage_new` runs the workspace's triager over the ticket
and writes ``ticket.triage`` through the one write path, so the change is audited, goes out
with the next sync and is replaced by the server's own triage when that arrives. Values a
person set are never overwritten (the mutation keeps them).

The workspace's triager learns intents from its tagged tickets and from agents' corrections
(``ticket.set_field`` on ``intent``, read from the audit): :func:`workspace_triager`.

A triaged ticket that repeats an open one of the same requester also gets the note "possible
duplicate of #N" with a merge suggestion (:func:`flag_duplicates`), as on the server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from supportdesk.assist.intents import corrections_from_audit
from supportdesk.assist.triage import Triager, triager

if TYPE_CHECKING:
    from supportdesk.domain.context import Actor
    from supportdesk.store.workspace import Workspace

#: The mutation whose audit rows on ``intent`` are agents' corrections.
CORRECTION = "ticket.set_field"
#: The mutation that adds the "possible duplicate of #N" note (once per ticket).
FLAG = "ticket.flag_duplicate"


def corrections(connection: sqlite3.Connection) -> dict[str, str]:
    """Intents agents set by hand, ``{ticket_id: intent}`` (the newest correction wins)."""
    return corrections_from_audit(connection, mutation=CORRECTION, field="intent")


def workspace_triager(connection: sqlite3.Connection) -> Triager:
    """A triager that learned from this workspace's tagged tickets and corrections."""
    return triager(connection, corrections=corrections(connection))


def triage_args(chosen: Triager, connection: sqlite3.Connection, ticket_id: str) -> dict[str, Any] | None:
    """The arguments of ``ticket.triage`` for a stored ticket; None if it is gone or says nothing."""
    result = chosen.triage_ticket(connection, ticket_id)
    if result is None:
        return None
    return {"ticket_id": ticket_id, **result.fields()}


def triage_new(
    workspace: Workspace, ticket_ids: Sequence[str], *, actor: Actor | None = None, chosen: Triager | None = None
) -> list[dict[str, Any]]:
    """Triage these tickets of ``workspace`` and write the results; returns what was written."""
    from supportdesk.domain.write import apply_many

    with workspace.reading() as connection:
        model = chosen or workspace_triager(connection)
        planned = [args for args in (triage_args(model, connection, t) for t in ticket_ids) if args is not None]
    if not planned:
        return []
    outcomes = apply_many(workspace, [("ticket.triage", args) for args in planned], actor=actor)
    written = [args for args, outcome in zip(planned, outcomes, strict=True) if outcome.error is None]
    flag_duplicates(workspace, [str(args["ticket_id"]) for args in written], actor=actor)
    return written


def flag_duplicates(
    workspace: Workspace, ticket_ids: Sequence[str], *, actor: Actor | None = None
) -> list[dict[str, Any]]:
    """Flag each of these tickets that repeats an open one of its requester (the best match):
    ``ticket.flag_duplicate`` adds the "possible duplicate" note once. Returns the flags written."""
    from supportdesk.assist.duplicates import find
    from supportdesk.domain.write import apply_many

    with workspace.reading() as connection:
        planned = []
        for ticket_id in ticket_ids:
            found = find(connection, ticket_id, limit=1)
            if found:
                planned.append({"ticket_id": ticket_id, "duplicate_of": found[0].ticket_id, "score": found[0].score})
    if not planned:
        return []
    outcomes = apply_many(workspace, [(FLAG, args) for args in planned], actor=actor)
    return [
        args
        for args, outcome in zip(planned, outcomes, strict=True)
        if outcome.error is None and outcome.result.get("flagged")
    ]
