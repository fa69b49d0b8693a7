"""What a macro would do to a ticket, worked out by the same code that applies it.

The console's macro panel shows this before the agent presses enter. The plan is computed on
a transaction that is always rolled back, so nothing is written, no audit event and no outbox
entry appear; the rendered comment is exactly what ``macro.apply`` would post.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportdesk.domain.context import Actor, MutationContext

if TYPE_CHECKING:
    from supportdesk.domain.mutations.library import MacroPlan
    from supportdesk.store.workspace import Workspace


def preview_macro(workspace: Workspace, actor: Actor, macro_id: str, ticket_id: str) -> MacroPlan:
    """The macro's field changes and rendered comment for this ticket; raises a DomainError."""
    from supportdesk.domain.mutations.common import load_ticket
    from supportdesk.domain.mutations.library import plan_macro
    from supportdesk.domain.tx import Tx

    with workspace.engine.connect() as connection:
        transaction = connection.begin()
        try:
            tx = Tx(connection, MutationContext(actor=actor, mode="local", mutation_ref="preview"), "macro.preview")
            ticket = load_ticket(tx, ticket_id)
            macro = tx.require("macro", macro_id, field="macro_id")
            return plan_macro(tx, macro, ticket)
        finally:
            transaction.rollback()
