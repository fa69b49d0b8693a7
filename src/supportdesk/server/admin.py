"""Administration of a server database (``supportdesk server …``), run beside or without the server.

Groups and agents are shared data, so they are made by mutations (as the system) and reach every
client through the change log; tokens are server-only rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import NotFound
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from supportdesk.server.tokens import create_token, revoke


def add_group(database: ServerDatabase, name: str, email: str | None = None) -> str:
    result, _ = apply_as(database, SYSTEM, "group.create", {"name": name, "email": email})
    return str(result["group_id"])


def _find(database: ServerDatabase, table: str, what: str, ref: str) -> str:
    """The id of the row whose id, address or name (any case) is ``ref``."""
    with database.engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT id FROM {table} WHERE id = :r OR email = lower(:r) OR lower(name) = lower(:r)"), {"r": ref}
        ).first()
    if row is None:
        raise NotFound(f"no {what} {ref}", field=what)
    return str(row[0])


def group_id(database: ServerDatabase, ref: str) -> str:
    return _find(database, "groups", "group", ref)


def agent_id(database: ServerDatabase, ref: str) -> str:
    return _find(database, "agent", "agent", ref)


def add_agent(database: ServerDatabase, name: str, email: str, role: str, groups: list[str]) -> str:
    group_ids = [group_id(database, ref) for ref in groups]
    result, _ = apply_as(
        database, SYSTEM, "agent.create", {"name": name, "email": email, "role": role, "group_ids": group_ids}
    )
    return str(result["agent_id"])


def update_agent(
    database: ServerDatabase,
    agent_ref: str,
    *,
    role: str | None = None,
    groups: list[str] | None = None,
    active: bool | None = None,
) -> list[str]:
    """Change an agent's role, their whole set of groups, or whether they may sign in; returns
    the fields that changed. Their replicas follow at the next sync (see ``visibility_scope``)."""
    agent = agent_id(database, agent_ref)
    args: dict[str, object] = {"agent_id": agent}
    if role is not None:
        args["role"] = role
    if groups is not None:
        args["group_ids"] = [group_id(database, ref) for ref in groups]
    if active is not None:
        args["active"] = active
    # every running server process forgets its cached token checks when this commits
    # (server/apply.py NOTIFYs after every agent.update, whoever runs it)
    result, _ = apply_as(database, SYSTEM, "agent.update", args)
    return [str(name) for name in result["changed"]]


def new_token(
    database: ServerDatabase,
    agent_ref: str,
    name: str = "",
    *,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    groups: list[str] | None = None,
    rate_per_minute: int | None = None,
) -> tuple[str, str]:
    """``(token id, token)`` for an agent; the token is shown once and stored only hashed.
    ``expires_at`` (see :func:`supportdesk.server.tokens.parse_expiry`) ends it by itself;
    ``scopes`` (None: a full token), ``groups`` (names or ids) and ``rate_per_minute`` limit it
    (:mod:`supportdesk.server.scopes`); a combination that could not work is a ``ScopeError``."""
    from supportdesk.server.scopes import check_combination
    from supportdesk.store.enums import Role

    agent = agent_id(database, agent_ref)
    group_ids = [group_id(database, ref) for ref in groups] if groups is not None else None
    with database.engine.connect() as connection, connection.begin():
        role = connection.execute(text("SELECT role FROM agent WHERE id = :a"), {"a": agent}).scalar_one()
        check_combination(scopes, group_ids, Role(role))
        return create_token(
            connection,
            agent,
            name,
            expires_at=expires_at,
            scopes=scopes,
            group_ids=group_ids,
            rate_per_minute=rate_per_minute,
        )


def revoke_tokens(database: ServerDatabase, *, token_id: str | None = None, agent_ref: str | None = None) -> int:
    """Revoke the token whose id is exactly ``token_id``, or every token of an agent."""
    agent = agent_id(database, agent_ref) if agent_ref else None
    with database.engine.connect() as connection, connection.begin():
        return revoke(connection, token_id=token_id, agent_id=agent)


def list_tokens(database: ServerDatabase) -> list[dict[str, object]]:
    """Every token (never the token itself) with its agent, use, expiry and revocation."""
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    tokens, agents = table("api_token"), table("agent")
    query = (
        select(
            tokens.c.id,
            agents.c.email,
            tokens.c.name,
            tokens.c.created_at,
            tokens.c.last_used_at,
            tokens.c.expires_at,
            tokens.c.revoked_at,
            tokens.c.scopes,
            tokens.c.group_ids,
            tokens.c.rate_per_minute,
        )
        .join_from(tokens, agents, agents.c.id == tokens.c.agent_id)
        .order_by(tokens.c.created_at, tokens.c.id)
    )
    with database.engine.connect() as connection:
        rows = connection.execute(query).all()
    names = (
        "id",
        "agent",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "scopes",
        "group_ids",
        "rate_per_minute",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]
