"""Running one mutator on an open transaction, and nothing after it.

:func:`run_mutator` is the step every write shares — a person's change, a channel's, and each
action of a routing rule: check the actor's role, run the mutator on a :class:`Tx`, erase again
any text it wrote to an erased customer's ticket
(:func:`supportdesk.domain.mutations.privacy.keep_erased`), then keep each touched ticket's SLA
clocks and report facts current (the console's countdown reads them). All of it happens
everywhere: the client, the server, a replay. What runs *after* a person's or a channel's
mutation on the authority (the routing rules, the surveys) is :mod:`supportdesk.domain.automation`'s
loop, which calls back into this function for each action — never into the write path — so no
call chain ever leads from a rule back to a rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supportdesk.domain.rules import check_role

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.domain.context import MutationContext
    from supportdesk.domain.registry import Args, MutationSpec
    from supportdesk.domain.tx import Tx


def run_mutator(
    connection: Connection,
    spec: MutationSpec,
    parsed: Args,
    context: MutationContext,
) -> tuple[dict[str, Any], Tx]:
    """The mutator's result and its :class:`Tx` (what it touched and audited)."""
    from supportdesk.domain import timing
    from supportdesk.domain.mutations.privacy import keep_erased
    from supportdesk.domain.tx import Tx

    check_role(context.actor, spec.roles, spec.name)
    tx = Tx(connection, context, spec.name)
    result = spec.run(tx, parsed) or {}
    touched = len(tx.touched)
    keep_erased(tx)
    if len(tx.touched) != touched:  # it scrubbed rows behind the Tx: read them again
        tx.drop_held()
    timing.refresh_from_tx(tx)
    return result, tx
