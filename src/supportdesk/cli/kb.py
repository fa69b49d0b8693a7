"""``supportdesk kb …``: search and show knowledge-base articles, and keep them as Markdown files.

An article file is Markdown with YAML front matter; the body after the closing ``---`` is the
article, byte for byte::

    ---
    slug: reset-your-password
    title: Reset your password
    tags: [account, login]
    locale: en
    public: true        # shown in the help center (/help)
    section: Account    # its section there
    ---
    Open **Settings → Security** and …
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, DryRunOpt, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(help="The knowledge base: search, show, and keep articles as Markdown.", no_args_is_help=True)

SEARCH_FIELDS = ("slug", "title", "snippet", "tags", "locale", "id")


@app.command("search")
@command(LISTING)
def search(
    session: Session,
    out: Output,
    text: Annotated[
        list[str] | None,
        typer.Argument(metavar="[WORD]…", help="Words to look for (all must appear).", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", min=1, max=500, help="At most N articles (1–500).")
    ] = 20,
) -> None:
    """Search the articles, best match first (all of them, newest first, without words).

    Example: supportdesk kb search refund card --plain --fields slug,title
    """
    from supportdesk.store.reads import search_articles

    chosen = out.columns(SEARCH_FIELDS, table=("slug", "title", "tags"))
    with session.workspace().reading() as connection:
        hits = search_articles(connection, " ".join(text or []), limit=limit)
    out.records(({**hit.__dict__, "tags": [t for t in hit.tags.split(",") if t]} for hit in hits), chosen)


def _article(session: Session, ref: str) -> dict[str, Any]:
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_article

    with session.workspace().reading() as connection:
        article = find_article(connection, ref)
    if article is None:
        fail(f"no article {ref}", NOT_FOUND)
    return article


def article_fields(article: dict[str, Any]) -> dict[str, Any]:
    """The front matter of an article file."""
    return {
        "id": article["id"],
        "slug": article["slug"],
        "title": article["title"],
        "tags": [t for t in article["tags"].split(",") if t],
        "locale": article["locale"],
        "public": bool(article["public"]),
        "section": article["section"],
    }


@app.command("show")
@command(DOCUMENT)
def show(
    session: Session,
    out: Output,
    article: Annotated[str, typer.Argument(metavar="ARTICLE", help="The article's slug or id.")],
) -> None:
    """Show an article as Markdown with its front matter.

    Example: supportdesk kb show reset-your-password
    """
    from supportdesk.cli.documents import join_front_matter
    from supportdesk.store.exports import export_time

    found = _article(session, article)
    if out.json:
        out.document(
            {
                **article_fields(found),
                "body": found["body"],
                "created_at": export_time(found["created_at"]),
                "updated_at": export_time(found["updated_at"]),
            }
        )
        return
    typer.echo(join_front_matter(article_fields(found), found["body"]), nl=not found["body"].endswith("\n"))


@app.command("export")
@command()
def export(
    session: Session,
    folder: Annotated[str, typer.Argument(metavar="FOLDER", help="Where to write one <slug>.md per article.")],
) -> None:
    """Write every article as a Markdown file with front matter.

    Example: supportdesk kb export kb/
    """
    from supportdesk.cli.documents import file_name, join_front_matter
    from supportdesk.store.lookups import all_articles

    path = Path(folder).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    with session.workspace().reading() as connection:
        articles = all_articles(connection)
    for article in articles:
        (path / f"{file_name(article['slug'])}.md").write_text(
            join_front_matter(article_fields(article), article["body"]), encoding="utf-8"
        )
    typer.echo(f"exported {len(articles)} articles to {path}")


def _publish(session: Session, ref: str, public: bool, section: str | None) -> None:
    from supportdesk.cli.writes import apply_one

    found = _article(session, ref)
    outcome = apply_one(session, "article.publish", {"article_id": found["id"], "public": public, "section": section})
    where = "shown in the help center" if public else "taken down from the help center"
    if not outcome.result["changed"]:
        where = "already " + ("in the help center" if public else "not in the help center")
    typer.echo(f"{found['slug']}: {where}")


@app.command("publish")
@command()
def publish(
    session: Session,
    article: Annotated[str, typer.Argument(metavar="ARTICLE", help="The article's slug or id.")],
    section: Annotated[
        str | None,
        typer.Option("--section", "-s", help="The help center's section to list it under ('' for none)."),
    ] = None,
) -> None:
    """Show an article to customers in the help center (/help on the team server).

    Example: supportdesk kb publish reset-your-password --section Account
    """
    _publish(session, article, True, section)


@app.command("unpublish")
@command()
def unpublish(
    session: Session,
    article: Annotated[str, typer.Argument(metavar="ARTICLE", help="The article's slug or id.")],
) -> None:
    """Take an article out of the help center (agents still find it in the KB).

    Example: supportdesk kb unpublish reset-your-password
    """
    _publish(session, article, False, None)


def _tags(value: Any) -> list[str]:
    """Tags as the store keeps them, so an unchanged file compares equal."""
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.tags import normalize_tags

    if value is None:
        return []
    tags = [t for t in value.split(",")] if isinstance(value, str) else [str(t) for t in value]
    try:
        return normalize_tags(tags)
    except DomainError:
        return tags  # the mutation will say which one is wrong


@app.command("import")
@command()
def import_articles(
    session: Session,
    paths: Annotated[list[str], typer.Argument(metavar="PATH…", help="Markdown files, or folders of them.")],
    dry_run: DryRunOpt = False,
) -> None:
    """Create or update articles from Markdown files (matched by id, then slug); unchanged ones
    are left alone.

    Example: supportdesk kb import kb/
    """
    from supportdesk.cli.documents import file_name, files_under, split_front_matter
    from supportdesk.cli.errors import fail
    from supportdesk.cli.writes import apply_and_report
    from supportdesk.store.lookups import find_article

    mutations: list[tuple[str, dict[str, Any]]] = []
    unchanged = 0
    with session.workspace().reading() as connection:
        for path in files_under(paths, (".md", ".markdown")):
            fields, body = split_front_matter(path.read_text(encoding="utf-8"), str(path))
            title = str(fields.get("title") or "").strip()
            if not title:
                fail(f"{path}: an article needs a title in its front matter")
            slug = str(fields.get("slug") or file_name(path.stem))
            existing = find_article(connection, str(fields["id"])) if fields.get("id") else None
            existing = existing or find_article(connection, slug)
            wanted: dict[str, Any] = {"title": title, "body": body, "tags": _tags(fields.get("tags"))}
            if fields.get("locale"):
                wanted["locale"] = str(fields["locale"])
            if "public" in fields:
                if not isinstance(fields["public"], bool):
                    fail(f"{path}: public must be true or false")
                wanted["public"] = fields["public"]
            if "section" in fields:
                wanted["section"] = str(fields["section"] or "")
            if existing is None:
                args = {**wanted, "slug": slug}
                if fields.get("id"):
                    args["article_id"] = str(fields["id"])
                mutations.append(("article.create", args))
                continue
            current = {**article_fields(existing), "body": existing["body"]}
            current["tags"] = _tags(current["tags"])
            different = {k: v for k, v in wanted.items() if current[k] != v}
            if different:
                mutations.append(("article.update", {"article_id": existing["id"], **different}))
            else:
                unchanged += 1
    apply_and_report(session, mutations, unchanged, dry_run=dry_run, what="title")
