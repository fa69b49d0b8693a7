"""What runs after every mutator, inside its transaction.

0. Text written to an erased customer's ticket is erased too
   (:func:`supportdesk.domain.mutations.privacy.keep_erased`), everywhere.
1. Each ticket the mutation touched gets its history extended and its SLA clocks and report facts
   rewritten (:func:`supportdesk.domain.timing.refresh_from_tx`) — everywhere, including a
   client's optimistic write and its replay, because the console's countdown reads them.
2. On the authority only (the server, or a workspace that follows no server) and only for a
   mutation a person or a channel made: the routing rules run
   (:func:`supportdesk.domain.triggers.run_rules`), then every ticket solved in this transaction
   gets a satisfaction survey (:func:`supportdesk.domain.feedback.issue_surveys`). A synced
   client never runs them — the server does, and its effects come back with the next pull —
   so they never happen twice.

A rule's actions are mutations run with ``context.automated`` set: they come back through here
for step 1 only, so rules cannot trigger rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportdesk.domain.tx import Tx


def after_mutation(tx: Tx) -> None:
    from supportdesk.domain import timing
    from supportdesk.domain.mutations.privacy import keep_erased

    keep_erased(tx)
    timing.refresh_from_tx(tx)
    context = tx.context
    if not context.authority or context.mode == "replay" or context.automated:
        return
    from supportdesk.domain.feedback import issue_surveys
    from supportdesk.domain.triggers import run_rules

    solved = solved_tickets(tx)
    solved |= run_rules(tx)
    issue_surveys(tx, solved)


def solved_tickets(tx: Tx) -> set[str]:
    return {r.entity_id for r in tx.audited if r.entity == "ticket" and r.field == "status" and r.after == "solved"}
