"""Time-based automations: rules the clock runs (Zendesk's automations, Zammad's schedulers).

An automation is a routing rule with ``when: [scheduled]`` whose conditions hold a query of
the query language with a condition on time::

    name: Remind pending customers
    when: [scheduled]
    conditions:
      query: status:pending updated>3d -tag:reminded
    actions:
      - auto_reply: Hi {{ ticket.requester.first_name }}, is there anything else we can do?
      - add_tags: [reminded]

A run of one automation (the named mutation ``automation.run``, on the authority: the team
server every few minutes, or a workspace that follows no server) is one transaction:

1. **Forget** the firings of tickets that no longer match the query: they left the condition,
   and may fire again once they are back in it (a reply to a reminded pending ticket, then three
   more quiet days, reminds again). A ticket that leaves and returns between two runs is not
   seen to have left.
2. **Fire** on each ticket that matches the query (and the rule's other conditions), is not
   closed, and has no firing of this automation yet: oldest change first, at most ``limit`` a
   run (the rest wait for the next). The firing row is written first, in the ticket's own
   savepoint, so two server processes running the same automation at once never fire twice
   (the second waits on the row's key and skips the ticket); a replayed ``automation.run`` finds
   every firing recorded and does nothing.

Each action runs as an ordinary mutation of the system, marked ``automated`` with the rule's id
in its reference, exactly as a trigger's actions do (:mod:`supportdesk.domain.automation`): the
change history names the automation, and no automation's change starts a trigger pass, so a
chain of rules can never loop. Actions that fail roll back alone and are audited as
``rule.failed``; the firing stays, so a broken action is tried once, not every few minutes.
Tickets an automation solves get a satisfaction survey, as any solved ticket does.

"Now" is the transaction's clock (``store.times.utcnow``), so tests freeze and advance it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supportdesk.domain.errors import DomainError, ValidationFailed

if TYPE_CHECKING:
    from supportdesk.domain.tx import Tx

#: Tickets one run of one automation fires on at most (the rest wait for the next run).
RUN_LIMIT = 200


@dataclass
class Run:
    """What one run of one automation did (the result of ``automation.run``)."""

    rule_id: str
    name: str
    fired: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    forgotten: int = 0
    deferred: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "fired": self.fired,
            "failed": self.failed,
            "forgotten": self.forgotten,
            "deferred": self.deferred,
        }


def is_automation(rule: dict[str, Any]) -> bool:
    from supportdesk.domain.triggers import SCHEDULED

    return SCHEDULED in (rule.get("events") or rule.get("when") or [])


def rule_query(rule: dict[str, Any]) -> str:
    from supportdesk.domain.triggers import QUERY

    queries = (rule["conditions"].get("all") or {}).get(QUERY) or []
    if len(queries) != 1:
        raise ValidationFailed(f"automation {rule['name']} has no query", field="conditions")
    return str(queries[0])


def run(tx: Tx, rule: dict[str, Any], *, limit: int = RUN_LIMIT) -> Run:
    """One run of ``rule`` in ``tx`` (see the module docstring)."""
    from sqlalchemy import text

    from supportdesk.domain.triggers import query_sql

    outcome = Run(rule_id=rule["id"], name=rule["name"])
    if not tx.context.authority:
        # a synced workspace: the server runs it (this mutation travels there) and its effects
        # come back with the next pull — running here too would fire twice
        outcome.deferred = True
        return outcome
    if not rule["active"]:
        return outcome
    where, params = query_sql(tx.connection, rule_query(rule), tx.now)
    params = {**params, "a_rule": rule["id"]}
    forgotten = tx.connection.execute(
        text(
            "DELETE FROM automation_firing WHERE rule_id = :a_rule AND ticket_id NOT IN "
            f"(SELECT t.id FROM ticket t WHERE {where})"
        ),
        params,
    )
    outcome.forgotten = int(forgotten.rowcount or 0)
    candidates = tx.connection.execute(
        text(
            f"SELECT t.id FROM ticket t WHERE ({where}) AND t.status <> 'closed' AND NOT EXISTS "
            "(SELECT 1 FROM automation_firing f WHERE f.rule_id = :a_rule AND f.ticket_id = t.id) "
            f"ORDER BY t.updated_at, t.id LIMIT {int(limit)}"
        ),
        params,
    ).all()
    solved: set[str] = set()
    for (ticket_id,) in candidates:
        solved |= _fire(tx, rule, str(ticket_id), outcome)
    if solved:
        from supportdesk.domain.feedback import issue_surveys

        issue_surveys(tx, solved)
    return outcome


def _fire(tx: Tx, rule: dict[str, Any], ticket_id: str, outcome: Run) -> set[str]:
    """Fire ``rule`` on one ticket; returns the tickets its actions solved."""
    from sqlalchemy.exc import IntegrityError

    from supportdesk.domain.triggers import TicketFacts, matches

    ticket = tx.row("ticket", ticket_id)
    if ticket is None:
        return set()
    others = {k: {c: v for c, v in (rule["conditions"].get(k) or {}).items() if c != "query"} for k in ("all", "any")}
    if not matches(TicketFacts(tx, ticket), others):
        return set()
    marker = tx.connection.begin_nested()
    try:
        tx.insert("automation_firing", {"rule_id": rule["id"], "ticket_id": ticket_id, "fired_at": tx.now})
    except IntegrityError:
        marker.rollback()  # fired meanwhile by another server process
        return set()
    marker.commit()
    label = {"ticket_id": ticket_id, "number": ticket.get("number")}
    touched = len(tx.touched)
    savepoint = tx.connection.begin_nested()
    statuses: list[Any] = []
    try:
        for action in rule["actions"]:
            statuses.extend(_act(tx, ticket_id, action, rule))
    except DomainError as error:
        savepoint.rollback()
        del tx.touched[touched:]
        _audit(tx, rule, ticket_id, "rule.failed", {"rule": rule["name"], "error": error.message})
        outcome.failed.append({**label, "error": error.message})
        return set()
    savepoint.commit()
    _audit(tx, rule, ticket_id, "automation.fired", rule["name"])
    outcome.fired.append(label)
    return {r.entity_id for r in statuses if r.field == "status" and r.after == "solved"}


def _child_context(tx: Tx, rule: dict[str, Any]) -> Any:
    from supportdesk.domain.context import SYSTEM, MutationContext

    return MutationContext(
        actor=SYSTEM,
        now=tx.now,
        authority=True,
        mode=tx.context.mode,
        mutation_ref=f"{tx.context.mutation_ref}/rule:{rule['id']}",
        automated=True,
        source="rule",
    )


def _act(tx: Tx, ticket_id: str, action: dict[str, Any], rule: dict[str, Any]) -> list[Any]:
    """Run one action as a mutation of the system, automated: it starts no rule pass."""
    from supportdesk.domain.catalog import get
    from supportdesk.domain.execute import run_mutator
    from supportdesk.domain.registry import validate_args
    from supportdesk.domain.triggers import action_mutation

    name, args = action_mutation(tx, ticket_id, action, rule["id"])
    # the catalog, not the registry: a process loads only the mutators it runs, so the action's
    # own (ticket.auto_reply, ticket.set_status …) may not be loaded yet
    spec = get(name)
    _result, child = run_mutator(tx.connection, spec, validate_args(spec, args), _child_context(tx, rule))
    tx.touched.extend(child.touched)
    return list(child.audited)


def _audit(tx: Tx, rule: dict[str, Any], ticket_id: str, field_name: str, after: Any) -> None:
    """The firing in the ticket's history, in the automation's name (its reference and source)."""
    from supportdesk.domain.tx import Tx as Transaction

    Transaction(tx.connection, _child_context(tx, rule), tx.mutation).audit(
        "ticket", ticket_id, field_name, None, after
    )
