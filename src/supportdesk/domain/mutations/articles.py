"""Mutations of knowledge-base articles."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from supportdesk.domain.errors import Conflict, ValidationFailed
from supportdesk.domain.mutations.common import DeleteById, normalize_tags
from supportdesk.domain.registry import Args, mutation
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.tx import Tx
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
    changed = tx.update("kb_article", article["id"], changes, current=article)
    return {"article_id": article["id"], "changed": sorted(changed)}


@mutation("article.delete", DeleteById)
def delete_article(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a knowledge-base article."""
    tx.require("kb_article", args.id, field="id")
    tx.delete("kb_article", args.id, audit_entity=("kb_article", args.id))
    return {"article_id": args.id}
