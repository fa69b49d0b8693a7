"""SLA calendars and policies, per-ticket timings, routing rules, handle time and surveys.

Every existing ticket gets an empty ``ticket_timing`` row, so sorting the queue by time to
breach (which walks that table's index) still lists every ticket; ``supportdesk sla rebuild``
then fills clocks and report facts from the audit trail.

Revision ID: 0005_sla
Revises: 0004_sync
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005_sla"
down_revision: str | None = "0004_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the covering indexes' columns (a migration never follows later model edits).
DIMENSIONS = ("channel", "group_id", "assignee_id")
REPORT_CREATED = (
    "created_at",
    *DIMENSIONS,
    "first_reply_s",
    "sla_met",
    "sla_missed",
    "first_reply_due",
    "next_reply_due",
    "resolution_due",
    "next_reply_total_s",
    "next_reply_count",
)
REPORT_SOLVED = ("solved_at", *DIMENSIONS, "resolution_s", "replies", "reopens")
_ID = sqlmodel.sql.sqltypes.AutoString(length=36)
_TIME = sqlmodel.sql.sqltypes.UTCDateTime()
#: ``ticket_timing.due_at`` when no clock runs (a frozen copy of store.sla.NO_DEADLINE).
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "sla_calendar",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sla_policy",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("group_id", _ID, nullable=True),
        sa.Column("calendar_id", _ID, nullable=True),
        sa.Column("first_reply_minutes", sa.Integer(), nullable=True),
        sa.Column("next_reply_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["sla_calendar.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ticket_timing",
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("solved_at", _TIME, nullable=True),
        sa.Column("done_at", _TIME, nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("group_id", _ID, nullable=True),
        sa.Column("assignee_id", _ID, nullable=True),
        sa.Column("policy_id", _ID, nullable=True),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("breach_at", _TIME, nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("first_reply_due", _TIME, nullable=True),
        sa.Column("next_reply_due", _TIME, nullable=True),
        sa.Column("resolution_due", _TIME, nullable=True),
        sa.Column("sla_met", sa.Integer(), nullable=False),
        sa.Column("sla_missed", sa.Integer(), nullable=False),
        sa.Column("first_reply_s", sa.Integer(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("next_reply_total_s", sa.Integer(), nullable=False),
        sa.Column("next_reply_count", sa.Integer(), nullable=False),
        sa.Column("resolution_s", sa.Integer(), nullable=True),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("handle_s", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("clocks", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_ticket_timing_due", "ticket_timing", ["due_at", "ticket_id"], unique=False)
    op.create_index("ix_ticket_timing_breach", "ticket_timing", ["breach_at"], unique=False)
    op.create_index("ix_ticket_timing_created", "ticket_timing", list(REPORT_CREATED), unique=False)
    op.create_index("ix_ticket_timing_solved", "ticket_timing", list(REPORT_SOLVED), unique=False)
    op.create_index("ix_ticket_timing_done", "ticket_timing", ["done_at", *DIMENSIONS], unique=False)
    op.create_index("ix_ticket_timing_ticket", "ticket_timing", ["ticket_id", *DIMENSIONS], unique=False)
    op.create_table(
        "trigger_rule",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "assignment_cursor",
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("agent_id", _ID, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("group_id"),
    )
    op.create_table(
        "handle_time",
        sa.Column("id", _ID, nullable=False),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("agent_id", _ID, nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handle_time_at", "handle_time", ["at", "agent_id", "ticket_id", "seconds"], unique=False)
    op.create_index("ix_handle_time_ticket", "handle_time", ["ticket_id"], unique=False)
    op.create_table(
        "survey",
        sa.Column("id", _ID, nullable=False),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.Column("answered_at", _TIME, nullable=True),
        sa.Column("csat", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ces", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("message_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_answered", "survey", ["answered_at"], unique=False)
    op.create_index("ix_survey_ticket", "survey", ["ticket_id"], unique=False)
    # Values are bound, not written as SQLite literals: PostgreSQL wants a boolean for ``paused``
    # and a time with its zone for ``due_at`` (UTCDateTime binds each engine's own form).
    op.execute(
        sa.text(
            "INSERT INTO ticket_timing (ticket_id, created_at, solved_at, done_at, channel, group_id, assignee_id, "
            "history, clocks, due_at, paused, sla_met, sla_missed, replies, next_reply_total_s, next_reply_count, "
            "reopens, handle_s) "
            "SELECT id, created_at, CASE WHEN status IN ('solved', 'closed') THEN solved_at END, "
            "CASE WHEN status IN ('solved', 'closed') THEN coalesce(solved_at, updated_at) END, channel, group_id, "
            "assignee_id, :empty, :empty, :no_deadline, :paused, 0, 0, 0, 0, 0, 0, 0 FROM ticket"
        ).bindparams(
            sa.bindparam("empty", [], type_=sa.JSON()),
            sa.bindparam("no_deadline", NO_DEADLINE, type_=_TIME),
            sa.bindparam("paused", False, type_=sa.Boolean()),
        )
    )
    if op.get_bind().dialect.name == "sqlite":
        # Without statistics SQLite may build a Bloom filter over every ticket before the first
        # page of "sort by time to breach"; with them it walks ix_ticket_timing_due and stops.
        op.execute("ANALYZE ticket_timing")


def downgrade() -> None:
    for index, table in (
        ("ix_ticket_timing_ticket", "ticket_timing"),
        ("ix_ticket_timing_done", "ticket_timing"),
        ("ix_ticket_timing_solved", "ticket_timing"),
        ("ix_ticket_timing_created", "ticket_timing"),
        ("ix_survey_ticket", "survey"),
        ("ix_survey_answered", "survey"),
        ("ix_handle_time_ticket", "handle_time"),
        ("ix_handle_time_at", "handle_time"),
        ("ix_ticket_timing_breach", "ticket_timing"),
        ("ix_ticket_timing_due", "ticket_timing"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("survey", "handle_time", "assignment_cursor", "trigger_rule", "ticket_timing", "sla_policy"):
        op.drop_table(table)
    op.drop_table("sla_calendar")
