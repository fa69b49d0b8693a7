"""The help center's counters, votes and deflections: the server's own bookkeeping.

These rows never reach an agent's replica (see :mod:`supportdesk.store.models_help`); the vote
*counts* do, through ``article.vote`` on the write path. Each function is one short write
transaction with an ``ON CONFLICT`` upsert, which SQLite and PostgreSQL both speak, so two
server processes counting the same page at once both count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.server.db import ServerDatabase


def count(database: ServerDatabase, kind: str, article_id: str = "") -> None:
    """Add one to today's ``kind`` counter (of ``article_id``)."""
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO help_activity (day, kind, article_id, count) VALUES (:day, :kind, :article, 1) "
                "ON CONFLICT (day, kind, article_id) DO UPDATE SET count = help_activity.count + 1"
            ),
            {"day": utcnow().date().isoformat(), "kind": kind, "article": article_id},
        )


def record_vote(database: ServerDatabase, article_id: str, voter: str, helpful: bool) -> bool | None:
    """Keep ``voter``'s latest answer on an article; returns the answer it replaces (None: first).

    Two votes of one browser at once: the second insert fails on the key and is retried as an
    update, so the pair counts once.
    """
    for _attempt in range(3):
        try:
            with database.engine.begin() as connection:
                lock = " FOR UPDATE" if database.is_postgres else ""
                row = connection.execute(
                    text(f"SELECT helpful FROM help_vote WHERE article_id = :a AND voter = :v{lock}"),
                    {"a": article_id, "v": voter},
                ).first()
                params = {"a": article_id, "v": voter, "h": helpful, "at": utcnow()}
                if row is None:
                    connection.execute(
                        text("INSERT INTO help_vote (article_id, voter, helpful, at) VALUES (:a, :v, :h, :at)"), params
                    )
                    return None
                connection.execute(
                    text("UPDATE help_vote SET helpful = :h, at = :at WHERE article_id = :a AND voter = :v"), params
                )
                return bool(row[0])
        except IntegrityError:
            continue
    raise RuntimeError("a vote kept conflicting with another")


def opened_from_form(database: ServerDatabase, form_id: str, article_id: str) -> None:
    """An article opened from the suggestions of web-form page ``form_id``."""
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO help_deflection (form_id, article_id, opened_at) VALUES (:f, :a, :at) "
                "ON CONFLICT (form_id, article_id) DO NOTHING"
            ),
            {"f": form_id, "a": article_id, "at": utcnow()},
        )


def form_submitted(connection: Connection, form_id: str) -> None:
    """The form was sent after all: what it suggested did not answer, so no deflection."""
    connection.execute(text("DELETE FROM help_deflection WHERE form_id = :f"), {"f": form_id})


@dataclass(frozen=True)
class Figures:
    """The help center's self-service figures over a period (see ``GET /v1/help/figures``)."""

    days: int
    searches: int
    searches_empty: int
    views: int
    helpful: int
    not_helpful: int
    deflections: int
    form_tickets: int
    bot_answers: int
    bot_resolutions: int
    bot_declined: int


def figures(database: ServerDatabase, *, days: int, deflection_minutes: int) -> Figures:
    """Counts of the last ``days`` days (today included); votes are all-time, from the articles."""
    now = utcnow()
    since = (now.date() - timedelta(days=days - 1)).isoformat()
    with database.read_engine.connect() as connection:
        counted: dict[str, int] = dict(
            connection.execute(
                text("SELECT kind, sum(count) FROM help_activity WHERE day >= :since GROUP BY kind"), {"since": since}
            ).all()
        )
        votes = connection.execute(
            text(
                "SELECT coalesce(sum(helpful_votes), 0), coalesce(sum(unhelpful_votes), 0) FROM kb_article "
                "WHERE public = :yes"
            ),
            {"yes": True},
        ).one()
        deflections = connection.execute(
            text(
                "SELECT count(DISTINCT form_id) FROM help_deflection WHERE opened_at < :settled AND opened_at >= :since"
            ),
            {"settled": now - timedelta(minutes=deflection_minutes), "since": now - timedelta(days=days)},
        ).scalar()
    return Figures(
        days=days,
        searches=int(counted.get("search", 0)),
        searches_empty=int(counted.get("search_empty", 0)),
        views=int(counted.get("view", 0)),
        helpful=int(votes[0]),
        not_helpful=int(votes[1]),
        deflections=int(deflections or 0),
        form_tickets=int(counted.get("form_ticket", 0)),
        bot_answers=int(counted.get("bot_answer", 0)),
        bot_resolutions=int(counted.get("bot_solved", 0)),
        bot_declined=int(counted.get("bot_declined", 0)),
    )
