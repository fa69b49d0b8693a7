"""API tokens: random, shown once, stored only as a SHA-256 hash, optionally with an expiry,
scopes, a group restriction and a rate limit of their own (see :mod:`supportdesk.server.scopes`).

Tokens carry 256 random bits, so a fast hash is enough (nothing to brute-force); the lookup is
one indexed equality on the hash. A token works while it is not revoked, not past its
``expires_at`` and its agent is active; :func:`check_token` says which of these failed, so a
refusal can tell an agent that their token expired rather than that it is unknown.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text

from supportdesk.domain.context import Actor
from supportdesk.store.enums import Role
from supportdesk.store.ids import uuid7
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

PREFIX = "sdt_"
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([hdwy])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "y": timedelta(days=365)}


class TokenError(ValueError):
    """A token option the admin gave cannot be used; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def parse_expiry(text: str, *, now: datetime | None = None) -> datetime:
    """``--expires``: a lifetime (``12h``, ``90d``, ``8w``, ``1y``) from now, or a date or instant
    (``2027-01-01``: the start of that day, UTC). It must lie in the future."""
    now = now or utcnow()
    match = _DURATION.match(text)
    if match:
        amount = int(match.group(1))
        if amount == 0:
            raise TokenError(f"--expires {text!r}: a lifetime must be longer than zero")
        return now + amount * _UNITS[match.group(2).lower()]
    try:
        instant = (
            datetime.combine(date.fromisoformat(text.strip()), datetime.min.time(), UTC)
            if len(text.strip()) == 10
            else datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        )
    except ValueError:
        raise TokenError(
            f"--expires {text!r}: give a lifetime such as 90d, 12h, 8w or 1y, or a date such as 2027-01-01"
        ) from None
    instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    if instant <= now:
        raise TokenError(f"--expires {text!r} is not in the future")
    return instant.astimezone(UTC)


def create_token(
    connection: Connection,
    agent_id: str,
    name: str = "",
    *,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    group_ids: list[str] | None = None,
    rate_per_minute: int | None = None,
) -> tuple[str, str]:
    """Make a token for an agent; returns ``(token id, token)`` — the token is never stored.

    ``scopes`` None makes a full token (everything the agent may do, sync included)."""
    from sqlalchemy import insert

    from supportdesk.domain.tx import table

    token = new_token()
    token_id = uuid7()
    connection.execute(
        insert(table("api_token")).values(
            id=token_id,
            agent_id=agent_id,
            name=name[:120],
            token_hash=hash_token(token),
            created_at=utcnow(),
            expires_at=expires_at,
            scopes=scopes,
            group_ids=group_ids,
            rate_per_minute=rate_per_minute,
        )
    )
    return token_id, token


def revoke(connection: Connection, *, token_id: str | None = None, agent_id: str | None = None) -> int:
    """Revoke one token (by its whole id: no pattern, no prefix) or every token of an agent;
    returns how many live tokens stopped working."""
    params: dict[str, object] = {"now": utcnow()}
    if token_id:
        condition = "id = :token_id"
        params["token_id"] = token_id
    elif agent_id:
        condition = "agent_id = :agent_id"
        params["agent_id"] = agent_id
    else:
        return 0
    result = connection.execute(
        text(f"UPDATE api_token SET revoked_at = :now WHERE revoked_at IS NULL AND {condition}"), params
    )
    count = int(result.rowcount or 0)
    if count:
        # every server process forgets its cached checks when this commits (server/token_cache.py)
        from supportdesk.server.notify import notify_tokens_changed

        notify_tokens_changed(connection)
    return count


@dataclass(frozen=True)
class TokenCheck:
    """What a token is worth now: the agent it acts for, or the reason it does not work
    (``unknown``, ``revoked``, ``expired``, ``inactive``)."""

    token_id: str | None
    actor: Actor | None = None
    problem: str | None = None
    expires_at: datetime | None = None
    #: The token's name (shown in the audit), scopes (None: a full token), group restriction
    #: (None: none) and requests a minute (None: the server's rate).
    name: str = ""
    scopes: frozenset[str] | None = None
    group_ids: frozenset[str] | None = None
    rate_per_minute: int | None = None

    def refusal(self) -> str:
        """One sentence for a refused token."""
        if self.problem == "expired" and self.expires_at is not None:
            return f"the token expired at {self.expires_at:%Y-%m-%d %H:%M} UTC: ask an admin for a new one"
        return "the token is unknown or revoked"


def _select() -> Any:
    """Token and agent columns through the typed tables, so times read back as datetimes."""
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    tokens, agents = table("api_token"), table("agent")
    return select(
        tokens.c.id,
        tokens.c.revoked_at,
        tokens.c.expires_at,
        agents.c.id,
        agents.c.name,
        agents.c.email,
        agents.c.role,
        agents.c.active,
        tokens.c.name,
        tokens.c.scopes,
        tokens.c.group_ids,
        tokens.c.rate_per_minute,
    ).join_from(tokens, agents, agents.c.id == tokens.c.agent_id)


def _check(row: Any, groups: dict[str, frozenset[str]], now: datetime) -> TokenCheck:
    token_id, revoked_at, expires_at, agent_id, name, email, role, active = row[:8]
    token_name, scopes, group_ids, rate = row[8:12]
    expires = expires_at if expires_at is None or expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
    if revoked_at is not None:
        return TokenCheck(token_id, problem="revoked")
    if expires is not None and expires <= now:
        return TokenCheck(token_id, problem="expired", expires_at=expires)
    if not active:
        return TokenCheck(token_id, problem="inactive")
    actor = Actor(id=agent_id, name=name, email=email, role=Role(role), group_ids=groups.get(agent_id, frozenset()))
    return TokenCheck(
        token_id,
        actor=actor,
        expires_at=expires,
        name=token_name or "",
        scopes=frozenset(scopes) if isinstance(scopes, list) else None,
        group_ids=frozenset(group_ids) if isinstance(group_ids, list) else None,
        rate_per_minute=rate,
    )


def _groups(connection: Connection, agent_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    query = text("SELECT agent_id, group_id FROM agent_group WHERE agent_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    found: dict[str, set[str]] = {}
    for agent_id, group_id in connection.execute(query, {"ids": ids}):
        found.setdefault(agent_id, set()).add(group_id)
    return {agent_id: frozenset(groups) for agent_id, groups in found.items()}


def check_token(connection: Connection, token: str) -> TokenCheck:
    """What the bearer token ``token`` is worth now (every request asks: its two statements are
    built once)."""
    by_hash, groups_of = _check_statements()
    row = connection.execute(by_hash, {"token_hash": hash_token(token)}).first()
    if row is None:
        return TokenCheck(None, problem="unknown")
    groups = frozenset(group for (group,) in connection.execute(groups_of, {"agent": row[3]}))
    return _check(row, {row[3]: groups} if groups else {}, utcnow())


@functools.cache
def _check_statements() -> tuple[Any, Any]:
    from supportdesk.domain.tx import table

    by_hash = _select().where(table("api_token").c.token_hash == bindparam("token_hash"))
    return by_hash, text("SELECT group_id FROM agent_group WHERE agent_id = :agent")


def check_tokens(connection: Connection, token_ids: Iterable[str]) -> dict[str, TokenCheck]:
    """What each token (by id) is worth now, in one query: the open event streams are re-checked
    with it every few seconds."""
    ids = sorted(set(token_ids))
    if not ids:
        return {}
    from supportdesk.domain.tx import table

    rows = connection.execute(_select().where(table("api_token").c.id.in_(ids))).all()
    groups = _groups(connection, [row[3] for row in rows])
    now = utcnow()
    checks = {token_id: TokenCheck(token_id, problem="unknown") for token_id in ids}
    for row in rows:
        checks[row[0]] = _check(row, groups, now)
    return checks


def load_actor(connection: Connection, agent_id: str) -> Actor | None:
    row = connection.execute(text("SELECT id, name, email, role FROM agent WHERE id = :id"), {"id": agent_id}).first()
    if row is None:
        return None
    groups = frozenset(
        r[0] for r in connection.execute(text("SELECT group_id FROM agent_group WHERE agent_id = :a"), {"a": row[0]})
    )
    return Actor(id=row[0], name=row[1], email=row[2], role=Role(row[3]), group_ids=groups)
