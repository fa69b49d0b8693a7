"""The help center's own bookkeeping on the server: never in the change log, a pull or a bootstrap.

The articles themselves, their ``public`` flag, section and vote counts live on ``kb_article``
(shared, written by named mutations). What stays here is what only the server needs and what
must not travel to every agent's replica: how often pages were viewed and searched (a counter
per day, kind and article, so a busy help center adds no change-log rows), which anonymous
browser voted how on which article (so a vote can be changed but not counted twice), the
articles opened from the web form's suggestions that become deflections when no request follows,
and the portal's sign-in links and sessions (their secrets kept as hashes or HMACs only).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from supportdesk.store.times import utcnow

#: What ``help_activity`` counts (the ``kind`` column).
ACTIVITY_KINDS = (
    "search",  # a search in the help center (a submitted or typed query)
    "search_empty",  # … that found nothing: what the help center lacks
    "view",  # an article page shown
    "form_ticket",  # a request filed through the web form
    "bot_answer",  # the answer bot offered an article
    "bot_solved",  # … and the customer said it solved the request
    "bot_declined",  # … or that it did not
)


class HelpActivity(SQLModel, table=True):
    """One counter of the help center: how often ``kind`` happened on ``day`` (UTC), for one
    article (``article_id``) or for none (``""``)."""

    __tablename__ = "help_activity"
    __table_args__ = (Index("ix_help_activity_kind_article", "kind", "article_id", "count"),)

    day: str = Field(primary_key=True, max_length=10)
    kind: str = Field(primary_key=True, max_length=24)
    article_id: str = Field(primary_key=True, default="", max_length=36)
    count: int = 0


class HelpVote(SQLModel, table=True):
    """The latest "Was this helpful?" answer of one browser on one article.

    ``voter`` is a keyed hash of the browser's anonymous cookie, never the cookie itself.
    """

    __tablename__ = "help_vote"

    article_id: str = Field(primary_key=True, max_length=36)
    voter: str = Field(primary_key=True, max_length=64)
    helpful: bool = True
    at: datetime = Field(default_factory=utcnow)


class HelpLogin(SQLModel, table=True):
    """A sign-in link mailed to a customer for the portal: single use, 30 minutes.

    The link carries ``id`` and an HMAC of it; an unknown address gets no row and no mail, and
    the same page as a known one.
    """

    __tablename__ = "help_login"
    __table_args__ = (Index("ix_help_login_expires", "expires_at"),)

    id: str = Field(primary_key=True, max_length=36)
    customer_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None


class HelpSession(SQLModel, table=True):
    """A customer signed in to the portal; the cookie's token is stored only as its SHA-256."""

    __tablename__ = "help_session"
    __table_args__ = (Index("ix_help_session_customer", "customer_id"),)

    token_hash: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(default_factory=utcnow)


class HelpDeflection(SQLModel, table=True):
    """An article opened from the suggestions of one web-form page.

    Submitting that form removes its rows; a row older than the deflection window is a request
    the help center answered (counted by :func:`supportdesk.server.help.activity.figures`).
    """

    __tablename__ = "help_deflection"
    __table_args__ = (Index("ix_help_deflection_opened", "opened_at"),)

    form_id: str = Field(primary_key=True, max_length=36)
    article_id: str = Field(primary_key=True, max_length=36)
    opened_at: datetime = Field(default_factory=utcnow)


class HelpDay(SQLModel, table=True):
    """One day's help-center figures, as every agent's replica sees them (a *shared* table).

    ``help_activity`` and ``help_deflection`` stay on the server; the server's tally worker
    (``server/help/tally.py``) sums them per day and writes the sums with ``help.tally`` through
    the one write path when they changed, so ``supportdesk report`` and the console's dashboard
    read them from the local store like every other figure (offline too). ``id`` is the UTC day
    (``YYYY-MM-DD``). No customer data: counts only.
    """

    __tablename__ = "help_day"

    id: str = Field(primary_key=True, max_length=10)
    searches: int = 0
    searches_empty: int = 0
    views: int = 0
    deflections: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
