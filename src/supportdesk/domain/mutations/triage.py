"""``ticket.triage``: what the assist engine read in a ticket, written as its fields.

Triage (``supportdesk.assist``) guesses a ticket's language, sentiment and intent, each with a
confidence; this mutation stores the guesses in the fields of the ticket field table that name a
``confidence`` column (``store.ticket_fields.TRIAGED``). It runs on arrival — on the server after
``ticket.create`` / ``ticket.receive``, and provisionally on an agent's machine for a ticket it
opened — and the rules loop runs after it, so a routing rule can match ``sentiment`` or
``intent`` as it would any field.

A person's value wins: an agent changes these fields with ``ticket.set_field``, which clears the
confidence, and triage leaves a value without a confidence alone. Those corrections are what
``assist.corrections_from_audit`` learns intents from (the audit of ``ticket.set_field`` on
``intent``), never triage's own writes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.mutations.common import load_ticket
from supportdesk.domain.registry import ALL_ROLES, Args, mutation
from supportdesk.domain.tx import Tx
from supportdesk.store import ticket_fields
from supportdesk.store.enums import Status

#: Confidences are stored to this many decimals (enough to sort by, and audits stay short).
DECIMALS = 3


class Triage(Args):
    """Triage's guesses; a field left out (None) is not changed."""

    ticket_id: str
    language: str | None = Field(default=None, max_length=35)
    language_confidence: float | None = Field(default=None, ge=0, le=1)
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    sentiment_score: float | None = Field(default=None, ge=-1, le=1)
    sentiment_confidence: float | None = Field(default=None, ge=0, le=1)
    intent: str | None = Field(default=None, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    intent_confidence: float | None = Field(default=None, ge=0, le=1)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


@mutation("ticket.triage", Triage, roles=ALL_ROLES)
def triage(tx: Tx, args: Triage) -> dict[str, Any]:
    """Store triage's language, sentiment and intent of a ticket, with their confidences,
    leaving any value a person set alone."""
    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        return {"ticket_id": ticket["id"], "changed": [], "kept": []}
    changes: dict[str, Any] = {}
    kept: list[str] = []
    for field in ticket_fields.TRIAGED:
        assert field.confidence is not None
        value = getattr(args, field.name)
        if value is None:
            continue
        if ticket.get(field.store_column) is not None and ticket.get(field.confidence) is None:
            kept.append(field.name)  # a person's value
            continue
        try:
            cleaned = field.clean(value)
        except ticket_fields.FieldValueError as error:
            raise ValidationFailed(str(error), field=field.name) from None
        changes[field.store_column] = cleaned
        changes[field.confidence] = _rounded(getattr(args, field.confidence))
        if field.name == "sentiment":
            changes["sentiment_score"] = _rounded(args.sentiment_score)
    # triage is not activity on the ticket: the queue's "updated" stays where a person left it
    changed = tx.update("ticket", ticket["id"], changes, current=ticket, touch=False) if changes else {}
    return {"ticket_id": ticket["id"], "changed": sorted(changed), "kept": kept}
