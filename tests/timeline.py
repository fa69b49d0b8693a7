"""Run real mutations at chosen instants, as the authority does, to build exact timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from supportdesk.domain.catalog import get
from supportdesk.domain.context import SYSTEM, Actor, MutationContext
from supportdesk.domain.write import run_one, validate_args
from supportdesk.store.workspace import Workspace


def at(workspace: Workspace, when: datetime, name: str, args: dict[str, Any], actor: Actor = SYSTEM) -> dict[str, Any]:
    """Apply one mutation at ``when`` in its own transaction (authority, like the server)."""
    spec = get(name)
    with workspace.engine.connect() as connection, connection.begin():
        context = MutationContext(actor=actor, now=when, authority=True, mode="server", mutation_ref=f"test:{name}")
        result, _tx = run_one(connection, spec, validate_args(spec, args), context)
    return result
