"""``supportdesk tickets attachments | attachment`` and the ``--attach`` option of replies and notes.

A file attached from the command line is copied into the workspace at once and named by its
hash in the change, so attaching works offline; the next sync uploads it before it pushes the
change (:mod:`supportdesk.sync.blob_cache`). ``attachment … --save`` fetches a file the first
time (when the workspace follows a server) and keeps it in the workspace's cache, so it opens
offline later. A name is never a path: files are saved under their cleaned name, never over
another file, and what the bytes are (the sniffed type) is shown beside what the sender said.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from supportdesk.cli.options import LISTING, Output, TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

AttachOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--attach",
        "-a",
        metavar="FILE",
        help="Attach a file (repeatable); it goes up with the next sync.",
        show_default=False,
    ),
]

FIELDS = ("filename", "size", "content_type", "sniffed_type", "warning", "cached", "from", "created_at", "sha256")
TABLE_FIELDS = ("filename", "size", "sniffed_type", "warning", "cached", "from", "created_at")


def staged(session: Session, files: list[Path] | None) -> list[dict[str, Any]]:
    """The ``attachments`` of a change for ``--attach`` files (empty without any)."""
    if not files:
        return []
    from supportdesk.cli.errors import fail
    from supportdesk.store.blobs import AttachmentLimits
    from supportdesk.sync.blob_cache import AttachError, stage

    limits = AttachmentLimits.from_section(session.settings.section("attachments"))
    try:
        return stage(session.workspace(), [path.expanduser() for path in files], limits)
    except AttachError as error:
        fail(str(error))
    raise AssertionError("unreachable")


@contextmanager
def kept_only_if_written(session: Session, files: list[dict[str, Any]]) -> Iterator[None]:
    """Staged files go again when the change naming them is refused before it is written."""
    try:
        yield
    except BaseException:
        if files:
            from supportdesk.sync.blob_cache import unstage

            unstage(session.workspace(), files)
        raise


def _rows(session: Session, ticket_id: str) -> list[dict[str, Any]]:
    from supportdesk.store.file_types import mismatch
    from supportdesk.sync.blob_cache import store_of, ticket_attachments

    workspace = session.workspace()
    store = store_of(workspace)
    with workspace.reading() as connection:
        rows = ticket_attachments(connection, ticket_id)
    for row in rows:
        row["warning"] = mismatch(row["content_type"], row["sniffed_type"], row["filename"]) or ""
        row["cached"] = store.has(row["sha256"])
        row["from"] = "customer" if row.pop("author") == "customer" else ("agent" if row.pop("public") else "note")
        row.pop("public", None)
        row.pop("message_id", None)
    return rows


@command(LISTING)
def attachments(session: Session, out: Output, ticket: TicketArg) -> None:
    """List a ticket's files: name, size, what the bytes are, a warning when that is not what the
    sender said, and whether this workspace holds a copy.

    Example: supportdesk tickets attachments 1042
    """
    from supportdesk.cli import refs

    ticket_id = refs.visible_ticket_id(session, ticket)
    out.records(iter(_rows(session, ticket_id)), out.columns(FIELDS, table=TABLE_FIELDS))


@command()
def attachment(
    session: Session,
    ticket: TicketArg,
    which: Annotated[str, typer.Argument(metavar="NAME|HASH", help="A file's name, or its hash (or a prefix of it).")],
    save: Annotated[
        Path, typer.Option("--save", metavar="DIR", help="The folder to save the file in.", show_default=False)
    ],
) -> None:
    """Save one of a ticket's files to a folder (fetched from the server the first time).

    The file keeps its cleaned name and never replaces a file already there ('name (2).pdf').
    Nothing is opened or run.

    Example: supportdesk tickets attachment 1042 invoice.pdf --save ~/Downloads
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.sync.blob_cache import AttachError, cache_cap, fetch, save_copy

    ticket_id = refs.visible_ticket_id(session, ticket)
    rows = _rows(session, ticket_id)
    wanted = which.strip()
    matches = [r for r in rows if r["filename"] == wanted] or (
        [r for r in rows if r["sha256"].startswith(wanted.lower())] if len(wanted) >= 6 else []
    )
    if not matches:
        fail(f"{refs.ticket_label(session, ticket_id)} has no file {wanted!r} (see: tickets attachments)", NOT_FOUND)
    if len({r["sha256"] for r in matches}) > 1:
        fail(f"{len(matches)} files are called {wanted!r}: name one by its hash")
    chosen = matches[0]
    workspace = session.workspace()
    follows = workspace_follows_server(session)
    try:
        path = fetch(
            workspace,
            chosen["sha256"],
            cap=cache_cap(session.settings.section("attachments")),
            client=_client_factory(session) if follows else None,
        )
        target = save_copy(path, save.expanduser(), chosen["filename"])
    except AttachError as error:
        fail(str(error))
    if chosen["warning"]:
        typer.echo(f"warning: {chosen['warning']}", err=True)
    typer.echo(str(target))


def workspace_follows_server(session: Session) -> bool:
    with session.workspace().reading() as connection:
        row = connection.execute("SELECT server_url FROM sync_state WHERE id = 1").fetchone()
    return bool(row and row[0])


def _client_factory(session: Session) -> Any:
    from supportdesk.sync.attach import open_client

    def factory() -> Any:
        return open_client(session.workspace(), session.profile_flag, timeout=60)

    return factory
