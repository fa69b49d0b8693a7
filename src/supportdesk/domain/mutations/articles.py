"""Mutations of knowledge-base articles: write them, show them in the help center, count votes."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field
from sqlalchemy import case, update

from supportdesk.domain.errors import Conflict, NotFound, ValidationFailed
from supportdesk.domain.mutations.common import DeleteById, normalize_tags
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Touched, Tx, table
from supportdesk.store.ids import uuid7


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:120] or "article"


class CreateArticle(Args):
    article_id: str = Field(default_factory=uuid7)
    title: str
    body: str
    tags: list[str] = Field(default_factory=list, max_length=30)
    locale: str = "en"
    slug: str | None = None
    #: Shown in the help center at once (``kb import`` of a file whose front matter says so).
    public: bool = False
    section: str = Field(default="", max_length=120)


@mutation("article.create", CreateArticle)
def create_article(tx: Tx, args: CreateArticle) -> dict[str, Any]:
    """Publish a knowledge-base article."""
    title = sanitize_line(args.title, cap=300)
    if not title:
        raise ValidationFailed("the article needs a title", field="title")
    slug = _slug(args.slug or title)
    if tx.find("kb_article", slug=slug) is not None:
        raise Conflict(f"an article with the address {slug} already exists", field="slug")
    tx.insert(
        "kb_article",
        {
            "id": args.article_id,
            "slug": slug,
            "title": title,
            "body": sanitize_text(args.body),
            "tags": ",".join(normalize_tags(args.tags)),
            "locale": sanitize_line(args.locale, cap=20) or "en",
            "public": args.public,
            "section": sanitize_line(args.section, cap=120),
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("kb_article", args.article_id),
    )
    return {"article_id": args.article_id, "slug": slug}


class UpdateArticle(Args):
    article_id: str
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    locale: str | None = None
    public: bool | None = None
    section: str | None = Field(default=None, max_length=120)


@mutation("article.update", UpdateArticle)
def update_article(tx: Tx, args: UpdateArticle) -> dict[str, Any]:
    """Edit a knowledge-base article."""
    article = tx.require("kb_article", args.article_id, field="article_id")
    changes: dict[str, Any] = {}
    if args.title is not None:
        changes["title"] = sanitize_line(args.title, cap=300)
        if not changes["title"]:
            raise ValidationFailed("the article needs a title", field="title")
    if args.body is not None:
        changes["body"] = sanitize_text(args.body)
    if args.tags is not None:
        changes["tags"] = ",".join(normalize_tags(args.tags))
    if args.locale is not None:
        changes["locale"] = sanitize_line(args.locale, cap=20) or "en"
    if args.public is not None:
        changes["public"] = args.public
    if args.section is not None:
        changes["section"] = sanitize_line(args.section, cap=120)
    changed = tx.update("kb_article", article["id"], changes, current=article)
    return {"article_id": article["id"], "changed": sorted(changed)}


@mutation("article.delete", DeleteById)
def delete_article(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a knowledge-base article."""
    tx.require("kb_article", args.id, field="id")
    tx.delete("kb_article", args.id, audit_entity=("kb_article", args.id))
    return {"article_id": args.id}


class PublishArticle(Args):
    article_id: str
    #: True shows it in the help center (``/help``) to anybody; False takes it down.
    public: bool = True
    #: The help center's section; None keeps the current one, "" lists it under none.
    section: str | None = Field(default=None, max_length=120)


@mutation("article.publish", PublishArticle)
def publish_article(tx: Tx, args: PublishArticle) -> dict[str, Any]:
    """Show a knowledge-base article in the help center, or take it down."""
    article = tx.require("kb_article", args.article_id, field="article_id")
    changes: dict[str, Any] = {"public": args.public}
    if args.section is not None:
        changes["section"] = sanitize_line(args.section, cap=120)
    changed = tx.update("kb_article", article["id"], changes, current=article)
    return {"article_id": article["id"], "slug": article["slug"], "changed": sorted(changed)}


class VoteArticle(Args):
    article_id: str
    helpful: bool
    #: The same browser's earlier answer, which this one replaces (None: its first).
    replaces: bool | None = None


@mutation("article.vote", VoteArticle, roles=ADMINS)
def vote_article(tx: Tx, args: VoteArticle) -> dict[str, Any]:
    """Count a customer's "Was this helpful?" answer on a public article (the help center's).

    Only the server writes it (as the system), after it has checked that the article is public
    and which answer of the same browser this one replaces; the counts are incremented in SQL
    so two votes at once on PostgreSQL both count.
    """
    article = tx.require("kb_article", args.article_id, field="article_id")
    if not article["public"]:
        raise NotFound(f"no public article with id {args.article_id}", field="article_id")
    if args.replaces is not None and args.replaces == args.helpful:
        return {"article_id": article["id"], "changed": []}
    kb = table("kb_article")
    column = kb.c.helpful_votes if args.helpful else kb.c.unhelpful_votes
    values: dict[str, Any] = {column.name: column + 1}
    if args.replaces is not None:
        previous = kb.c.helpful_votes if args.replaces else kb.c.unhelpful_votes
        values[previous.name] = case((previous > 0, previous - 1), else_=0)
    tx.connection.execute(update(kb).where(kb.c.id == article["id"]).values(values))
    tx.touched.append(Touched("kb_article", (article["id"],), "update"))
    return {"article_id": article["id"], "changed": sorted(values)}
