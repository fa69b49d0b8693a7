"""Mutations of handle time: the minutes an agent spent focused on a ticket."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.mutations.common import load_ticket
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.tx import Tx
from supportdesk.store.ids import uuid7


class RecordHandleTime(Args):
    ticket_id: str
    seconds: int = Field(ge=1, le=86_400)
    record_id: str = Field(default_factory=uuid7)


@mutation("ticket.record_handle_time", RecordHandleTime, roles=ALL_ROLES)
def record_handle_time(tx: Tx, args: RecordHandleTime) -> dict[str, Any]:
    """Record time the agent spent focused on a ticket (the console measures it)."""
    ticket = load_ticket(tx, args.ticket_id)
    agent_id = tx.context.actor.id
    if agent_id is None:
        raise ValidationFailed("handle time is an agent's: the system has none", field="seconds")
    tx.insert(
        "handle_time",
        {"id": args.record_id, "ticket_id": ticket["id"], "agent_id": agent_id, "seconds": args.seconds, "at": tx.now},
    )
    tx.audit("agent", agent_id, "handle_time", None, {"ticket_id": ticket["id"], "seconds": args.seconds})
    row = tx.row("ticket_timing", ticket["id"])
    if row is not None:
        tx.write_quietly("ticket_timing", ticket["id"], {"handle_s": row["handle_s"] + args.seconds})
    return {"ticket_id": ticket["id"], "record_id": args.record_id}
