"""The request's token lookup (one statement on PostgreSQL) answers what ``check_token`` answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from supportdesk.server import admin
from supportdesk.server.auth import _look_up
from supportdesk.server.db import ServerDatabase
from supportdesk.server.tokens import check_token, create_token, revoke
from supportdesk.store.times import utcnow

pytestmark = pytest.mark.integration


def test_every_kind_of_token_is_worth_the_same_either_way(database: ServerDatabase) -> None:
    groups = [admin.add_group(database, "Billing"), admin.add_group(database, "Tech")]
    in_groups = admin.add_agent(database, "Ada", "ada@example.com", "agent", groups)
    alone = admin.add_agent(database, "Lee", "lee@example.com", "admin", [])
    with database.engine.connect() as connection, connection.begin():
        tokens = {
            "groups": create_token(connection, in_groups, "full")[1],
            "no groups": create_token(connection, alone, "admin")[1],
            "restricted": create_token(
                connection,
                in_groups,
                "scoped",
                scopes=["tickets:read"],
                group_ids=[groups[0]],
                rate_per_minute=30,
                expires_at=utcnow() + timedelta(days=1),
            )[1],
        }
        expired_id, tokens["expired"] = create_token(connection, alone, "old", expires_at=utcnow() + timedelta(1))
        connection.execute(text("UPDATE api_token SET expires_at = created_at WHERE id = :id"), {"id": expired_id})
        revoked_id, tokens["revoked"] = create_token(connection, alone, "gone")
        revoke(connection, token_id=revoked_id)
    tokens["unknown"] = "sdt_" + "x" * 43
    with database.read_engine.connect() as connection:
        for kind, token in tokens.items():
            looked_up, checked = _look_up(connection, token), check_token(connection, token)
            assert looked_up == checked, kind
            if kind == "groups":
                assert looked_up.actor is not None and looked_up.actor.group_ids == frozenset(groups)
            if kind in ("expired", "revoked", "unknown"):
                assert looked_up.actor is None and looked_up.problem == kind
