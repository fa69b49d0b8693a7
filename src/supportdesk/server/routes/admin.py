"""Administration over HTTP, for admins' tokens only: the sync clients, and revoking tokens.

Everything else an admin does (groups, agents, new tokens) is ``supportdesk server …`` on the
server's database (:mod:`supportdesk.server.admin`).
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import text

from supportdesk.server.auth import Caller, require_admin
from supportdesk.server.errors import ApiError
from supportdesk.server.reads import snapshot
from supportdesk.server.retry import retried
from supportdesk.server.state import State
from supportdesk.store.times import to_db

router = APIRouter(prefix="/v1/admin", tags=["admin"])

IdParam = Annotated[str | None, Query(max_length=36, pattern=r"^[^\x00]*$")]


def _time_text(value: Any) -> str | None:
    if value is None:
        return None
    return to_db(value) if isinstance(value, datetime) else str(value)


@router.get("/clients")
def clients(actor: Caller, state: State) -> dict[str, Any]:
    """Every sync client with its agent and last applied mutation (admins only)."""
    require_admin(actor)
    with snapshot(state.database) as connection:
        found = connection.execute(
            text(
                "SELECT c.client_id, a.email, c.last_mutation_id, c.updated_at FROM sync_client c "
                "JOIN agent a ON a.id = c.agent_id ORDER BY c.updated_at DESC LIMIT 1000"
            )
        ).all()
    return {
        "clients": [
            {"client_id": r[0], "agent": r[1], "last_mutation_id": r[2], "updated_at": _time_text(r[3])} for r in found
        ]
    }


@router.post("/tokens/revoke")
def revoke_tokens(actor: Caller, state: State, agent_id: IdParam = None, token_id: IdParam = None) -> dict[str, Any]:
    """Revoke one token (its whole id) or every token of an agent (admins only)."""
    from supportdesk.server.tokens import revoke

    require_admin(actor)
    if not agent_id and not token_id:
        raise ApiError(422, "invalid", "name agent_id or token_id", field="agent_id")

    def write() -> int:
        with state.database.engine.connect() as connection, connection.begin():
            return revoke(connection, token_id=token_id, agent_id=agent_id)

    count = retried(write, what="revoking tokens")
    if count:
        state.events.tokens_changed()  # refused here from the next request on
    return {"revoked": count}
