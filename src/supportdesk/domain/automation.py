"""What runs after a person's or a channel's mutation, inside its transaction, on the authority.

On the authority only (the server, or a workspace that follows no server), and only for a
mutation a person or a channel made — not a replay, not a rule's own action:

1. the routing rules run, as one loop over the tickets the mutation created or changed and the
   active rules in ``position`` order (:func:`run_rules`);
2. every ticket solved in this transaction — by the mutation or by a rule — gets a satisfaction
   survey (:func:`supportdesk.domain.feedback.issue_surveys`).

A synced client never runs them — the server does, and its effects come back with the next
pull — so they never happen twice.

**A loop, not recursion.** Each action of a rule is planned by
:func:`supportdesk.domain.triggers.action_mutation` as an ordinary mutation and run here with
:func:`supportdesk.domain.execute.run_mutator`, marked ``automated``. That function runs the
mutator and its SLA bookkeeping and nothing more, so a rule's action never reaches this module
again: rules cannot trigger rules, by construction rather than by a flag checked deep in a call
chain. Each rule fires at most once per ticket per pass and sees what the rules before it did.
A rule whose actions fail is rolled back alone (a savepoint) and audited as ``rule.failed``; the
change that started the pass stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from supportdesk.domain.errors import DomainError

if TYPE_CHECKING:
    from supportdesk.domain.tx import Tx


def after_mutation(tx: Tx) -> None:
    """Rules, then surveys, for the mutation ``tx`` ran (when this is the place to run them)."""
    context = tx.context
    if not context.authority or context.mode == "replay" or context.automated:
        return
    from supportdesk.domain.feedback import issue_surveys

    solved = solved_tickets(tx)
    solved |= run_rules(tx)
    issue_surveys(tx, solved)


def solved_tickets(tx: Tx) -> set[str]:
    return {r.entity_id for r in tx.audited if r.entity == "ticket" and r.field == "status" and r.after == "solved"}


def run_rules(tx: Tx) -> set[str]:
    """One pass of the active rules over the tickets this mutation created or changed.

    Returns the tickets the rules solved (so they get a survey too).
    """
    from supportdesk.domain.timing import deferred_drop_since, deferred_mark
    from supportdesk.domain.triggers import TicketFacts, active_rules, changed_tickets, matches
    from supportdesk.domain.tx import audit_drop_since, audit_mark
    from supportdesk.store.enums import Status

    changed = changed_tickets(tx)
    if not changed:
        return set()
    rules = active_rules(tx)
    solved: set[str] = set()
    for ticket_id, event in changed.items():
        facts: TicketFacts | None = None  # read again only after a rule changed the ticket
        for rule in rules:
            if event not in rule["events"]:
                continue
            if facts is None:
                # the mutator's row while only it wrote the ticket; read again after a rule fired
                ticket = tx.held_ticket(ticket_id) or tx.row("ticket", ticket_id)
                if ticket is None or ticket["status"] == Status.CLOSED:
                    break
                facts = TicketFacts(tx, ticket)
            if not matches(facts, rule["conditions"]):
                continue
            facts = None
            before, touched = len(tx.audited), len(tx.touched)
            noted, held = deferred_mark(tx.connection), audit_mark(tx.connection)
            savepoint = tx.connection.begin_nested()
            try:
                for action in rule["actions"]:
                    _run_action(tx, ticket_id, action, rule)
            except DomainError as error:
                savepoint.rollback()
                del tx.audited[before:]
                del tx.touched[touched:]
                deferred_drop_since(tx.connection, noted)  # the clocks its actions moved, too
                audit_drop_since(tx.connection, held)  # and the audit events a push held back
                tx.audit("ticket", ticket_id, "rule.failed", None, {"rule": rule["name"], "error": error.message})
                continue
            savepoint.commit()
            solved |= {r.entity_id for r in tx.audited[before:] if r.field == "status" and r.after == "solved"}
            tx.audit("ticket", ticket_id, "rule.fired", None, rule["name"])
    return solved


def _run_action(tx: Tx, ticket_id: str, action: Mapping[str, Any], rule: Mapping[str, Any]) -> None:
    """Plan one action as a mutation of the system and run it in this transaction, automated."""
    from supportdesk.domain.catalog import get
    from supportdesk.domain.context import SYSTEM, MutationContext
    from supportdesk.domain.execute import run_mutator
    from supportdesk.domain.registry import validate_args
    from supportdesk.domain.triggers import action_mutation

    name, args = action_mutation(tx, ticket_id, action, rule["id"])
    spec = get(name)
    context = MutationContext(
        actor=SYSTEM,
        now=tx.now,
        authority=True,
        mode=tx.context.mode,
        mutation_ref=f"{tx.context.mutation_ref}/rule:{rule['id']}",
        automated=True,
        source="rule",
    )
    _result, child = run_mutator(tx.connection, spec, validate_args(spec, args), context)
    tx.touched.extend(child.touched)
    tx.audited.extend(r for r in child.audited if r.field == "status")
