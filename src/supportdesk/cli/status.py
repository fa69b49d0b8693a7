"""``supportdesk status``: which workspace, which server, how far sync has got, what is pending,
and what the server asks its admins to act on (the notices the last sync brought)."""

from __future__ import annotations

from typing import Any

import typer

from supportdesk.cli.options import DOCUMENT, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command


@command(DOCUMENT)
def status(session: Session, out: Output) -> None:
    """Show the workspace, the server it follows (or local), the sync cursor, pending changes and
    the server's notices for admins (a disabled webhook endpoint), as of the last sync.

    Example: supportdesk status --json
    """
    from supportdesk.cli.output import cell
    from supportdesk.store.exports import export_time
    from supportdesk.store.schema import HEAD_REVISION

    workspace = session.workspace()
    with workspace.reading() as connection:
        sync = dict(connection.execute("SELECT * FROM sync_state WHERE id = 1").fetchone())
        outbox = connection.execute(
            "SELECT count(*) FROM outbox WHERE id > ?", (sync["last_acked_mutation_id"],)
        ).fetchone()[0]
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()[0]
        me = session.me()
        agent = connection.execute("SELECT name, email FROM agent WHERE id = ?", (me,)).fetchone() if me else None
    local = sync["server_url"] is None
    from supportdesk.sync.round_lock import running

    syncing = None if local else running(workspace)
    from supportdesk.sync.notices import stored

    notices = [] if local else stored(workspace)
    document: dict[str, Any] = {
        "workspace": str(workspace.root),
        "schema": revision,
        "schema_current": revision == HEAD_REVISION,
        "me": {"name": agent[0], "email": agent[1]} if agent else None,
        "tickets": tickets,
        "server": sync["server_url"] or "local",
        "profile": sync["profile"],
        "client_id": sync["client_id"],
        "cursor": sync["cursor"],
        "pending": None if local else outbox,
        "last_pull_at": export_time(sync["last_pull_at"]),
        "last_push_at": export_time(sync["last_push_at"]),
        "last_error": sync["last_error"],
        "syncing_now": syncing,
        "attachment_cache": _cache(session, workspace),
        "notices": notices,
    }
    if out.json:
        out.document(document)
        return
    shown = {k: cell(v) if v is not None else "—" for k, v in document.items() if k != "me"}
    who = f"{cell(agent[0])} <{cell(agent[1])}>" if agent else "nobody (supportdesk config set me EMAIL)"
    server = "local (follows no server; its own ticket numbers)" if local else shown["server"]
    if not local and document["profile"]:
        server += f" (profile {shown['profile']})"
    lines = [
        f"workspace   {shown['workspace']}",
        f"acting as   {who}",
        f"tickets     {tickets:,}",
        f"server      {server}",
    ]
    if not local:
        lines += [
            f"cursor      {shown['cursor']}",
            f"pending     {outbox:,} change{'s' if outbox != 1 else ''} to push",
            f"last pull   {shown['last_pull_at']}",
            f"last push   {shown['last_push_at']}",
        ]
        if syncing:
            lines.append(f"syncing now {cell(syncing)}")
    cache = document["attachment_cache"]
    lines.append(
        f"files       {_mb(cache['bytes'])} in {cache['files']:,} file{'s' if cache['files'] != 1 else ''}"
        f" (cache cap {_mb(cache['cap'])})"
    )
    lines.append(f"last error  {shown['last_error']}")
    for notice in notices:
        lines.append(f"notice      {cell(notice.get('message', ''))}")
    typer.echo("\n".join(lines))


def _cache(session: Session, workspace: Any) -> dict[str, int]:
    """The attachment files this workspace holds (attached here, or fetched and cached)."""
    from supportdesk.sync.blob_cache import cache_cap, usage

    found = usage(workspace, cache_cap(session.settings.section("attachments")))
    return {"bytes": found.bytes, "files": found.files, "cap": found.cap}


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"
