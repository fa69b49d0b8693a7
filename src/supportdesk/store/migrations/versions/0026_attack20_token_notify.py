"""PostgreSQL's ``token_version`` trigger function also NOTIFYs the server processes (issue 20).

A process with ``--token-cache`` forgot its token checks only when our own code sent the
``tokens`` event (``server token revoke``, ``agent.update``): a revocation, a narrowed scope or
a deactivation typed into ``psql`` was trusted from the cache for up to ``--token-cache``
seconds. The trigger that bumps ``token_version`` on every such change now sends the event too,
with the change's commit. SQLite has nothing to change (its processes read the number).
Downgrading puts back the function that only bumps the number.

Revision ID: 0026_attack20_token_notify
Revises: 0025_rest20d_token_version
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from supportdesk.store import token_version

revision: str = "0026_attack20_token_notify"
down_revision: str | None = "0025_rest20d_token_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP_ONLY = (
    "CREATE OR REPLACE FUNCTION token_version_bump() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
    "UPDATE token_version SET value = value + 1 WHERE id = 1; RETURN NULL; END $body$"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(token_version.pg_function_statement()))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(_BUMP_ONLY))
