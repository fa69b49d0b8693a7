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

``ticket.flag_duplicate`` is triage's other arrival step: a new ticket that repeats an open one
of the same requester gets an internal note "possible duplicate of #N" whose ``meta`` carries
the merge suggestion (``assist.merge_hints`` reads it back for ``tickets show`` and the REST
API).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from supportdesk.domain.errors import InvalidTransition, NotFound, ValidationFailed
from supportdesk.domain.mutations.common import label, load_ticket, system_message
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


#: Customers' tickets that can still be merged into (a solved ticket is answered: a new one is new).
OPEN_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})
#: The note's ids come from the ticket's, so however many machines flag the same ticket — an
#: agent's offline ``--triage`` and the server's worker — there is one note (and a replay of
#: the mutation finds it written).
_DUPLICATE_NOTES = uuid.UUID("0f6c1d52-5a3e-4b8e-9d0a-6b7a1c2e3f40")


def duplicate_note_id(ticket_id: str) -> str:
    """The id of the one "possible duplicate" note a ticket can have."""
    return str(uuid.uuid5(_DUPLICATE_NOTES, ticket_id))


class FlagDuplicate(Args):
    """``ticket_id`` probably repeats ``duplicate_of``, an open ticket of the same requester."""

    ticket_id: str = Field(max_length=64)
    duplicate_of: str = Field(max_length=64)
    score: float = Field(ge=0, le=2)


@mutation("ticket.flag_duplicate", FlagDuplicate, roles=ALL_ROLES)
def flag_duplicate(tx: Tx, args: FlagDuplicate) -> dict[str, Any]:
    """Add the internal note "possible duplicate of #N" that carries the merge suggestion.

    Once per ticket: a ticket already flagged (by this machine, another one or the server) is
    left as it is, so a replay changes nothing. The pair is checked here, whoever sends it — a
    client cannot point a ticket at another requester's, at a ticket of a group the new ticket's
    readers may not see, or at an erased customer's.
    """
    if args.ticket_id == args.duplicate_of:
        raise ValidationFailed("a ticket cannot be a duplicate of itself", field="duplicate_of")
    ticket = load_ticket(tx, args.ticket_id)
    note_id = duplicate_note_id(ticket["id"])
    if tx.row("message", note_id) is not None:
        return {"ticket_id": ticket["id"], "flagged": False, "note_id": note_id}
    target = load_ticket(tx, args.duplicate_of, field="duplicate_of")
    for which, row in (("ticket_id", ticket), ("duplicate_of", target)):
        if row["merged_into_id"] or row["status"] not in OPEN_STATUSES:
            raise InvalidTransition(f"{label(row)} is not open", field=which)
    if target["requester_id"] != ticket["requester_id"]:
        raise ValidationFailed("the tickets have different requesters", field="duplicate_of")
    requester = tx.row("customer", ticket["requester_id"])
    if requester is None or requester.get("erased_at") is not None:
        raise ValidationFailed("the requester was erased", field="ticket_id")
    if target["group_id"] is not None and target["group_id"] != ticket["group_id"]:
        # whoever reads this ticket might not see that one: not even its number is shown
        raise NotFound(f"no ticket with id {args.duplicate_of}", field="duplicate_of")
    if target["created_at"] > ticket["created_at"]:
        raise ValidationFailed("a ticket repeats an older one, not a newer one", field="duplicate_of")
    number = target.get("number")
    named = f"#{number}" if number else f"ticket {target['id']}"
    mine = ticket.get("number") or ticket["id"]
    body = (
        f"Possible duplicate of {named}: the same requester, and the same matter in other words "
        f"(score {args.score:.2f}). If it is, merge it: supportdesk tickets merge {mine} {number or target['id']}"
    )
    system_message(
        tx,
        ticket,
        note_id,
        body,
        public=False,
        meta={"duplicate_of": {"ticket_id": target["id"], "number": number, "score": round(args.score, DECIMALS)}},
    )
    return {"ticket_id": ticket["id"], "flagged": True, "note_id": note_id, "duplicate_of": target["id"]}
