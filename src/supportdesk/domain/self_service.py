"""Self-service figures: what the help center and the answer bot did for customers.

Read from the local store, like every figure of ``supportdesk report``:

- from the tickets this replica holds (so an agent sees the figures of the groups they may
  see, an admin the whole team's): requests filed through the help center's web form
  (``fields.help_center = form``), requests the answer bot answered (``fields.answer_bot``
  set), those it resolved (the customer said yes: ``solved``) and those handed to the queue
  (``declined``) — each by the ticket's creation in the period;
- from the help center's daily rows (``help_day``, written by the server's tally worker and
  pulled by every replica): searches, searches that found nothing, article views and
  deflections in the period — the public site's figures, the same for every agent;
- from the public articles: helpful and unhelpful votes (running totals; votes carry no date).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from supportdesk.store.times import to_db

#: The figures in the order reports show them.
FIELDS = (
    "searches",
    "searches_empty",
    "article_views",
    "helpful_votes",
    "unhelpful_votes",
    "deflections",
    "form_tickets",
    "bot_answers",
    "bot_resolutions",
    "bot_handed_over",
    "bot_resolution_pct",
)


@dataclass(frozen=True)
class SelfService:
    searches: int
    searches_empty: int
    article_views: int
    helpful_votes: int
    unhelpful_votes: int
    deflections: int
    form_tickets: int
    bot_answers: int
    bot_resolutions: int
    bot_handed_over: int

    @property
    def bot_resolution_pct(self) -> float | None:
        """Share of the bot's answers the customer said solved their request."""
        return round(100.0 * self.bot_resolutions / self.bot_answers, 1) if self.bot_answers else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bot_resolution_pct": self.bot_resolution_pct}


def self_service(connection: sqlite3.Connection, *, since: datetime, until: datetime) -> SelfService:
    """The self-service figures of [since, until) (see the module docstring)."""
    period = {"since": to_db(since), "until": to_db(until)}
    form, answered, solved, declined = connection.execute(
        "SELECT sum(json_extract(fields, '$.help_center') = 'form'), "
        "sum(json_extract(fields, '$.answer_bot') IS NOT NULL), "
        "sum(json_extract(fields, '$.answer_bot') = 'solved'), "
        "sum(json_extract(fields, '$.answer_bot') = 'declined') "
        "FROM ticket WHERE created_at >= :since AND created_at < :until",
        period,
    ).fetchone()
    days = {"first": since.date().isoformat(), "last": until.date().isoformat()}
    searches, empty, views, deflections = connection.execute(
        "SELECT sum(searches), sum(searches_empty), sum(views), sum(deflections) FROM help_day "
        "WHERE id >= :first AND id <= :last",
        days,
    ).fetchone()
    helpful, unhelpful = connection.execute(
        "SELECT sum(helpful_votes), sum(unhelpful_votes) FROM kb_article WHERE public"
    ).fetchone()
    return SelfService(
        searches=int(searches or 0),
        searches_empty=int(empty or 0),
        article_views=int(views or 0),
        helpful_votes=int(helpful or 0),
        unhelpful_votes=int(unhelpful or 0),
        deflections=int(deflections or 0),
        form_tickets=int(form or 0),
        bot_answers=int(answered or 0),
        bot_resolutions=int(solved or 0),
        bot_handed_over=int(declined or 0),
    )
