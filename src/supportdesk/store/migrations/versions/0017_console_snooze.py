"""Snooze and the change history's source (the console's helper, issue 17).

Snooze (``tickets snooze``, the console's ``Z``): until when a ticket is out of the views, and
who snoozed it. The audit's ``source``: which client made a change (``tickets history``).

``snoozed_until`` is empty unless the ticket is snoozed; the agent's worklists (queries that keep
to unsolved statuses) leave it out until then, ``is:snoozed`` finds it. ``snoozed_by_id`` is who
snoozed it: their console brings it back on top when the time comes. An index on
``snoozed_until`` keeps ``is:snoozed`` and the console's look for woken tickets to the few
snoozed rows.

Revision ID: 0017_console_snooze
Revises: 0016_api_integrations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017_console_snooze"
down_revision: str | None = "0016_api_integrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ALTER TABLE … ADD COLUMN on both engines: no copy of a million-row table
    op.add_column("ticket", sa.Column("snoozed_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column("ticket", sa.Column("snoozed_by_id", sa.String(length=36), nullable=True))
    op.create_index("ix_ticket_snoozed_until", "ticket", ["snoozed_until"])
    # where a change was made (console, cli, cli-bulk, console-bulk …): the change history says it
    op.add_column("audit_event", sa.Column("source", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_event", "source")
    op.drop_index("ix_ticket_snoozed_until", table_name="ticket")
    op.drop_column("ticket", "snoozed_by_id")
    op.drop_column("ticket", "snoozed_until")
