"""What the help center reads: public articles by address, by section, and the most viewed.

Every query names ``public``: an internal article's address answers exactly like a missing one.
Lists are bounded (:data:`MAX_LIST`), never a whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

MAX_LIST = 200


@dataclass(frozen=True)
class PublicArticle:
    id: str
    slug: str
    title: str
    body: str
    section: str
    locale: str
    updated_at: datetime
    helpful_votes: int
    unhelpful_votes: int


@dataclass(frozen=True)
class Listed:
    slug: str
    title: str
    section: str


def article(connection: Connection, slug: str) -> PublicArticle | None:
    row = connection.execute(
        text(
            "SELECT id, slug, title, body, section, locale, updated_at, helpful_votes, unhelpful_votes "
            "FROM kb_article WHERE slug = :slug AND public = :yes"
        ),
        {"slug": slug, "yes": True},
    ).first()
    if row is None:
        return None
    values = list(row)
    if isinstance(values[6], str):  # SQLite hands raw SQL its text form
        values[6] = datetime.fromisoformat(values[6])
    return PublicArticle(*values)


def sections(connection: Connection) -> list[tuple[str, int]]:
    """The sections with public articles and how many each has ("" last: the unsectioned)."""
    rows = connection.execute(
        text("SELECT section, count(*) FROM kb_article WHERE public = :yes GROUP BY section ORDER BY section"),
        {"yes": True},
    ).all()
    named = [(r[0], int(r[1])) for r in rows if r[0]]
    return named + [(r[0], int(r[1])) for r in rows if not r[0]]


def in_section(connection: Connection, section: str) -> list[Listed]:
    rows = connection.execute(
        text(
            "SELECT slug, title, section FROM kb_article WHERE public = :yes AND section = :section "
            "ORDER BY title, slug LIMIT :limit"
        ),
        {"yes": True, "section": section, "limit": MAX_LIST},
    ).all()
    return [Listed(*r) for r in rows]


def most_viewed(connection: Connection, limit: int = 6) -> list[Listed]:
    """The public articles viewed most (all time), then the newest to fill the list."""
    rows = connection.execute(
        text(
            "SELECT a.slug, a.title, a.section FROM kb_article a "
            "JOIN (SELECT article_id, sum(count) AS views FROM help_activity WHERE kind = 'view' "
            "GROUP BY article_id) v ON v.article_id = a.id "
            "WHERE a.public = :yes ORDER BY v.views DESC, a.title LIMIT :limit"
        ),
        {"yes": True, "limit": limit},
    ).all()
    listed = [Listed(*r) for r in rows]
    if len(listed) < limit:
        seen = {item.slug for item in listed}
        newest = connection.execute(
            text(
                "SELECT slug, title, section FROM kb_article WHERE public = :yes "
                "ORDER BY updated_at DESC, slug LIMIT :limit"
            ),
            {"yes": True, "limit": limit},
        ).all()
        listed += [Listed(*r) for r in newest if r[0] not in seen][: limit - len(listed)]
    return listed
