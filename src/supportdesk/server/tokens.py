"""API tokens: random, shown once, stored only as a SHA-256 hash.

Tokens carry 256 random bits, so a fast hash is enough (nothing to brute-force); the lookup is
one indexed equality on the hash.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import text

from supportdesk.domain.context import Actor
from supportdesk.store.enums import Role
from supportdesk.store.ids import uuid7
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

PREFIX = "sdt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create_token(connection: Connection, agent_id: str, name: str = "") -> tuple[str, str]:
    """Make a token for an agent; returns ``(token id, token)`` — the token is never stored."""
    token = new_token()
    token_id = uuid7()
    connection.execute(
        text(
            "INSERT INTO api_token (id, agent_id, name, token_hash, created_at) "
            "VALUES (:id, :agent_id, :name, :hash, :now)"
        ),
        {"id": token_id, "agent_id": agent_id, "name": name[:120], "hash": hash_token(token), "now": utcnow()},
    )
    return token_id, token


def revoke(connection: Connection, *, token_id: str | None = None, agent_id: str | None = None) -> int:
    """Revoke one token (by id or id prefix) or every token of an agent; returns how many."""
    params: dict[str, object] = {"now": utcnow()}
    if token_id:
        condition = "id LIKE :prefix"
        params["prefix"] = token_id.replace("%", "").replace("_", "") + "%"
    elif agent_id:
        condition = "agent_id = :agent_id"
        params["agent_id"] = agent_id
    else:
        return 0
    result = connection.execute(
        text(f"UPDATE api_token SET revoked_at = :now WHERE revoked_at IS NULL AND {condition}"), params
    )
    return int(result.rowcount or 0)


def actor_for_token(connection: Connection, token: str) -> tuple[Actor, str] | None:
    """The active agent a live token belongs to (with their groups), and the token's id."""
    row = connection.execute(
        text(
            "SELECT t.id, a.id, a.name, a.email, a.role FROM api_token t JOIN agent a ON a.id = t.agent_id "
            "WHERE t.token_hash = :hash AND t.revoked_at IS NULL AND a.active"
        ),
        {"hash": hash_token(token)},
    ).first()
    if row is None:
        return None
    groups = frozenset(
        r[0] for r in connection.execute(text("SELECT group_id FROM agent_group WHERE agent_id = :a"), {"a": row[1]})
    )
    return Actor(id=row[1], name=row[2], email=row[3], role=Role(row[4]), group_ids=groups), row[0]


def load_actor(connection: Connection, agent_id: str) -> Actor | None:
    row = connection.execute(text("SELECT id, name, email, role FROM agent WHERE id = :id"), {"id": agent_id}).first()
    if row is None:
        return None
    groups = frozenset(
        r[0] for r in connection.execute(text("SELECT group_id FROM agent_group WHERE agent_id = :a"), {"a": row[0]})
    )
    return Actor(id=row[0], name=row[1], email=row[2], role=Role(row[3]), group_ids=groups)
