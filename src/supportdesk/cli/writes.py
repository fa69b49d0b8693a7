"""Applying mutations from the command line: one at a time, or a list with a short report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from supportdesk.cli.session import Session
    from supportdesk.domain.write import Outcome


def apply_one(session: Session, name: str, args: dict[str, Any]) -> Outcome:
    """Apply one mutation as this workspace's agent; its warnings go to stderr, a refusal is the
    command's error (exit code by kind)."""
    from supportdesk.cli.errors import print_warning
    from supportdesk.domain.write import apply

    outcome = apply(session.workspace(), name, args, actor=session.actor(), source="cli")
    for warning in outcome.warnings:
        print_warning(warning)
    return outcome


def apply_and_report(
    session: Session,
    mutations: list[tuple[str, dict[str, Any]]],
    unchanged: int,
    *,
    dry_run: bool,
    what: str = "name",
) -> list[Outcome]:
    """Apply an import's creates and updates in one transaction, list the refused ones on stderr,
    and say what happened; exits 1 when any was refused (the others are applied)."""
    from supportdesk.cli.errors import PARTIAL, print_error
    from supportdesk.domain.write import apply_many

    outcomes = (
        apply_many(session.workspace(), mutations, actor=session.actor(), dry_run=dry_run, source="cli")
        if mutations
        else []
    )
    created = sum(1 for o in outcomes if o.ok and o.name.endswith(".create"))
    updated = sum(1 for o in outcomes if o.ok and o.name.endswith(".update"))
    for outcome in outcomes:
        if outcome.error is not None:
            print_error(f"{outcome.args.get(what) or outcome.name}: {outcome.error.message}")
    would = "would be " if dry_run else ""
    typer.echo(f"{would}created {created}, {would}updated {updated}, unchanged {unchanged}")
    if any(not o.ok for o in outcomes):
        raise typer.Exit(PARTIAL)
    return outcomes
