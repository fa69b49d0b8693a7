"""``supportdesk views …``: the saved queries of the queue (personal, or shared by an admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.options import LISTING, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(help="Saved views: named queries of the queue.", no_args_is_help=True)

LIST_FIELDS = ("name", "query", "sort", "shared", "count", "position", "id")


@app.command("list")
@command(LISTING)
def list_views(
    session: Session,
    out: Output,
    counts: Annotated[bool, typer.Option("--counts", help="Count the tickets in each view.")] = False,
) -> None:
    """List the views this agent sees: their own, then the shared ones.

    Example: supportdesk views list --counts
    """
    from supportdesk.store.reads import list_views, view_counts

    default = [f for f in LIST_FIELDS if (counts or f != "count") and (not out.table or f != "id")]
    chosen = out.columns(LIST_FIELDS, default=default)
    me = session.me()
    with session.workspace().reading() as connection:
        views = list_views(connection, me)
        # an agent's counts are of the tickets they may see, as their listings are (store.viewer)
        viewer = session.viewer() if counts or "count" in chosen else None
        numbers = view_counts(connection, views, me=me, viewer=viewer) if viewer is not None else {}
    out.records(({**view.__dict__, "count": numbers.get(view.id)} for view in views), chosen)


@app.command("create")
@command()
def create(
    session: Session,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The view's name.")],
    query: Annotated[
        str,
        typer.Option("--query", "-q", metavar="QUERY", help="The query language, e.g. 'status<solved tag:vip'."),
    ],
    sort: Annotated[str, typer.Option("--sort", metavar="ORDER", help="e.g. updated-desc, priority-desc.")] = (
        "updated-desc"
    ),
    shared: Annotated[bool, typer.Option("--shared", help="For the whole team (admins only).")] = False,
    position: Annotated[int, typer.Option("--position", metavar="N", help="Where it sits in the list.")] = 0,
) -> None:
    """Save a query as a view (a view of the same name with the same query is left as it is).

    Example: supportdesk views create 'VIP waiting' -q 'tag:vip status:open,pending' --sort priority-desc
    """
    from supportdesk.cli.errors import fail
    from supportdesk.cli.writes import apply_one
    from supportdesk.store.lookups import find_view

    with session.workspace().reading() as connection:
        existing = find_view(connection, name, session.me())
    if existing is not None and existing["owner_id"] == (None if shared else session.me()):
        if existing["query"] == query and existing["sort"] == sort:
            typer.echo(f"view {name} already exists")
            return
        fail(f"a view called {name} already exists with another query: delete it first")
    outcome = apply_one(
        session, "view.create", {"name": name, "query": query, "sort": sort, "shared": shared, "position": position}
    )
    typer.echo(outcome.result["view_id"])


@app.command("delete")
@command()
def delete(
    session: Session, view: Annotated[str, typer.Argument(metavar="VIEW", help="The view's name or id.")]
) -> None:
    """Delete a saved view.

    Example: supportdesk views delete 'VIP waiting'
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.cli.writes import apply_one
    from supportdesk.store.lookups import find_view

    with session.workspace().reading() as connection:
        found = find_view(connection, view, session.me())
    if found is None:
        fail(f"no view {view}", NOT_FOUND)
    apply_one(session, "view.delete", {"id": found["id"]})
    typer.echo(f"deleted view {found['name']}")
