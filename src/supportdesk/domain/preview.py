"""What a macro would do to a ticket, worked out by the same code that applies it.

The console's macro panel and ``supportdesk macros show MACRO --ticket N`` show this before the
agent applies it. The plan is computed on a read-only snapshot (no write lock is taken, so
other writers go on meanwhile, and nothing can be written); the rendered comment is exactly what
``macro.apply`` would post.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supportdesk.domain.context import Actor, MutationContext

if TYPE_CHECKING:
    from supportdesk.domain.macros import MacroPlan
    from supportdesk.store.workspace import Workspace


def preview_macro(workspace: Workspace, actor: Actor, macro_id: str, ticket_id: str) -> MacroPlan:
    """The macro's field changes and rendered comment for this ticket; raises a DomainError."""
    from supportdesk.domain.macros import plan_macro, render_comment
    from supportdesk.domain.mutations.common import label, load_ticket
    from supportdesk.domain.snapshot import read_snapshot
    from supportdesk.domain.tx import Tx

    with read_snapshot(workspace) as connection:
        tx = Tx(connection, MutationContext(actor=actor, mode="local", mutation_ref="preview"), "macro.preview")
        ticket = load_ticket(tx, ticket_id)
        macro = tx.require("macro", macro_id, field="macro_id")
        plan = plan_macro(tx, macro, ticket)
        plan.body = render_comment(tx, macro, ticket)
        plan.ticket_label = label(ticket)
        return plan


def preview_document(plan: MacroPlan, macro_name: str) -> dict[str, Any]:
    """The preview as plain data (``macros show --ticket``, ``--json``)."""
    return {
        "macro": macro_name,
        "ticket": plan.ticket_label,
        "changes": [{"field": name, "before": before, "after": after} for name, before, after in plan.changes],
        "tags_added": plan.tags_added,
        "tags_removed": plan.tags_removed,
        "public": plan.public,
        "comment": plan.body,
    }
