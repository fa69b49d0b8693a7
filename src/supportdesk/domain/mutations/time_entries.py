"""Mutations of the manual time log: an agent logs, corrects or deletes time spent on a ticket.

Beside the handle time the console measures (:mod:`.handle_time`), agents log work done away
from the screen: a call, research, a visit. Everyone who may see a ticket may log time on it;
an entry is corrected or deleted by its agent or an admin. The ticket's history records each
(``time.logged``, ``time.corrected``, ``time.deleted``); none of them starts a rule pass or
moves the ticket's ``updated`` time — logging time is not a change of the ticket.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.mutations.common import load_ticket
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.domain.time_log import MAX_SECONDS, MIN_SECONDS, check_seconds
from supportdesk.domain.tx import Tx
from supportdesk.store.ids import uuid7

NOTE_CAP = 500


class LogTime(Args):
    ticket_id: str = Field(max_length=36)
    seconds: int = Field(ge=MIN_SECONDS, le=MAX_SECONDS)
    note: str = Field(default="", max_length=4000)
    entry_id: str = Field(default_factory=uuid7, max_length=36)


class CorrectTime(Args):
    entry_id: str = Field(max_length=36)
    seconds: int | None = Field(default=None, ge=MIN_SECONDS, le=MAX_SECONDS)
    note: str | None = Field(default=None, max_length=4000)


class DeleteTime(Args):
    entry_id: str = Field(max_length=36)


def _agent(tx: Tx) -> str:
    agent_id = tx.context.actor.id
    if agent_id is None:
        raise ValidationFailed("logged time is an agent's: the system has none", field="seconds")
    return agent_id


def _entry(tx: Tx, entry_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entry and its ticket, when the actor may see the ticket and change the entry."""
    entry = tx.row("time_entry", entry_id)
    if entry is None:
        raise NotFound(f"no time entry {entry_id}", field="entry_id")
    try:
        ticket = load_ticket(tx, entry["ticket_id"], field="entry_id")
    except NotFound:
        raise NotFound(f"no time entry {entry_id}", field="entry_id") from None
    actor = tx.context.actor
    if entry["agent_id"] != actor.id and not (actor.is_admin or actor.is_system):
        raise PermissionDenied("only the agent who logged time (or an admin) may change it")
    return entry, ticket


@mutation("ticket.log_time", LogTime, roles=ALL_ROLES)
def log_time(tx: Tx, args: LogTime) -> dict[str, Any]:
    """Log time spent on a ticket (whole minutes, up to a working day an entry)."""
    ticket = load_ticket(tx, args.ticket_id)
    agent_id = _agent(tx)
    seconds = check_seconds(args.seconds, field="seconds")
    note = sanitize_line(args.note, cap=NOTE_CAP)
    tx.insert(
        "time_entry",
        {
            "id": args.entry_id,
            "ticket_id": ticket["id"],
            "agent_id": agent_id,
            "seconds": seconds,
            "note": note,
            "at": tx.now,
            "updated_at": tx.now,
        },
    )
    tx.audit("ticket", ticket["id"], "time.logged", None, {"entry_id": args.entry_id, "seconds": seconds, "note": note})
    return {"ticket_id": ticket["id"], "entry_id": args.entry_id, "seconds": seconds}


@mutation("time.correct", CorrectTime, roles=ALL_ROLES)
def correct_time(tx: Tx, args: CorrectTime) -> dict[str, Any]:
    """Correct a time entry's minutes or note (its agent, or an admin)."""
    entry, ticket = _entry(tx, args.entry_id)
    changes: dict[str, Any] = {}
    if args.seconds is not None:
        changes["seconds"] = check_seconds(args.seconds, field="seconds")
    if args.note is not None:
        changes["note"] = sanitize_line(args.note, cap=NOTE_CAP)
    if not changes:
        raise ValidationFailed("say what to correct: the time, the note or both", field="seconds")
    before = {k: entry[k] for k in changes}
    changed = tx.update("time_entry", entry["id"], changes, current=dict(entry))
    if changed:
        tx.audit("ticket", ticket["id"], "time.corrected", {"entry_id": entry["id"], **before}, {
            "entry_id": entry["id"], **changed})  # fmt: skip
    return {"ticket_id": ticket["id"], "entry_id": entry["id"], "changed": sorted(changed)}


@mutation("time.delete", DeleteTime, roles=ALL_ROLES)
def delete_time(tx: Tx, args: DeleteTime) -> dict[str, Any]:
    """Delete a time entry (its agent, or an admin)."""
    entry, ticket = _entry(tx, args.entry_id)
    tx.delete("time_entry", entry["id"])
    tx.audit("ticket", ticket["id"], "time.deleted", {"entry_id": entry["id"], "seconds": entry["seconds"]}, None)
    return {"ticket_id": ticket["id"], "entry_id": entry["id"], "seconds": entry["seconds"]}
