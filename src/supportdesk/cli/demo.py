"""``supportdesk demo``: fill a workspace with the demo company's support history."""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command


@command()
def demo(
    session: Session,
    tickets: Annotated[
        int, typer.Option("--tickets", "-n", metavar="N", min=1, max=5_000_000, help="How many tickets (up to 5M).")
    ] = 10_000,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Random seed: the same seed gives the same workspace.")
    ] = 7,
    force: Annotated[bool, typer.Option("--force", help="Replace a workspace that already holds data.")] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="INSTANT",
            help="Build the history up to this ISO 8601 instant (default: 2026-11-25T12:00:00Z, "
            "whatever today is; the workspace's clock starts there).",
        ),
    ] = None,
) -> None:
    """Build a realistic demo workspace (deterministic for a given seed).

    Example: supportdesk --workspace /tmp/demo demo --tickets 1000000
    """
    import time

    from supportdesk.cli.errors import fail
    from supportdesk.cli.progress import Progress
    from supportdesk.demo.generator import build_demo
    from supportdesk.store.times import parse_instant
    from supportdesk.store.workspace import Workspace

    try:
        anchor = parse_instant(now) if now is not None else None
    except ValueError as error:
        fail(f"--now: {error}")
    root = session.settings.workspace
    workspace = Workspace.open(root, create=True)
    if not workspace.is_empty():
        if not force:
            fail(f"{root} already holds data: pass --force to replace it")
        workspace.close()
        for suffix in ("", "-wal", "-shm"):
            workspace.db_path.with_name(workspace.db_path.name + suffix).unlink(missing_ok=True)
        workspace = Workspace.open(root, create=True)
    started = time.perf_counter()
    with Progress("building demo") as progress:
        summary = build_demo(workspace, tickets=tickets, seed=seed, now=anchor, progress=progress.update)
    elapsed = time.perf_counter() - started
    typer.echo(
        f"Demo workspace ready at {root}: {summary.tickets:,} tickets, {summary.messages:,} "
        f"messages, {summary.customers:,} customers, {summary.agents} agents, {summary.macros} "
        f"macros, {summary.articles} articles in {elapsed:.1f}s."
    )
