"""Change many tickets at once: choose them, plan, confirm, apply in chunks, report.

Tickets are chosen by a query, by numbers or ids on the command line, or by numbers piped on
stdin (``-``), so ``tickets list … --plain --fields number | tickets update - …`` works. The plan
leaves out tickets already as asked (a rerun writes nothing new). Mutations are applied with
:func:`supportdesk.domain.write.apply_many` in chunks: each chunk is one transaction, so other
processes get the workspace between chunks and an interrupted run keeps what it finished. A
refused ticket is listed on stderr and the rest still change (exit 1).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from supportdesk.cli.options import Output
    from supportdesk.cli.session import Session
    from supportdesk.domain.bulk import BulkChange
    from supportdesk.domain.write import Outcome
    from supportdesk.store.selection import TicketState

#: Above this many tickets a change asks first (or needs --yes).
CONFIRM_OVER = 50
#: Mutations per transaction.
CHUNK = 500
_HEADER_WORDS = frozenset({"number", "id", "ticket", "#"})

DRY_RUN_FIELDS = ("ticket", "mutation", "field", "before", "after")
RESULT_FIELDS = ("ticket", "id", "outcome", "mutations", "error")


@dataclass
class Selection:
    """Which tickets: a query, or references (``1042``, ``#1042``, an id; ``-`` reads stdin)."""

    refs: list[str] = field(default_factory=list)
    query: str | None = None

    def check(self) -> None:
        from supportdesk.cli.errors import fail

        if self.query is not None and self.refs:
            fail("choose tickets with --query or by number, not both")
        if self.query is None and not self.refs:
            fail("choose tickets: give numbers, '-' to read them from stdin, or --query")

    def resolve(self, session: Session) -> tuple[list[str], list[str]]:
        """The ids chosen (each once, in order) and the references that matched nothing. Only
        tickets the workspace's agent may see are chosen (``store.viewer``): a standalone
        workspace holds every group's, and another group's ticket is "no ticket N", as in reads."""
        from supportdesk.store.reads import resolve_ticket, seen_by
        from supportdesk.store.viewer import ticket_visible

        self.check()
        viewer = session.viewer()
        with session.workspace().reading() as connection:
            if self.query is not None:
                from supportdesk.store.query import compile_query
                from supportdesk.store.selection import id_pages

                compiled = seen_by(compile_query(self.query, me=session.me()), viewer)
                return [ticket_id for page in id_pages(connection, compiled) for ticket_id in page], []
            from supportdesk.store.selection import ids_by_number

            refs = self._expanded()
            numbers = [int(ref.lstrip("#")) for ref in refs if _is_number(ref)]
            by_number = ids_by_number(connection, numbers)
            ids: dict[str, None] = {}
            missing: list[str] = []
            for ref in refs:
                ticket_id = by_number.get(int(ref.lstrip("#"))) if _is_number(ref) else resolve_ticket(connection, ref)
                if ticket_id is not None and not viewer.sees_all and not ticket_visible(connection, viewer, ticket_id):
                    ticket_id = None
                if ticket_id is None:
                    missing.append(ref)
                else:
                    ids[ticket_id] = None
            return list(ids), missing

    def _expanded(self) -> list[str]:
        refs: list[str] = []
        for ref in self.refs:
            refs.extend(stdin_refs() if ref == "-" else [ref])
        return refs


def _is_number(ref: str) -> bool:
    digits = ref[1:] if ref.startswith("#") else ref
    return digits.isdigit() and digits.isascii() and len(digits) <= 12


def stdin_refs() -> list[str]:
    """Ticket references piped in: the first column of tab-separated lines (a header line such as
    ``number`` is skipped), or every word of lines without tabs."""
    refs: list[str] = []
    for line in sys.stdin:
        text = line.strip("\r\n")
        words = [text.split("\t", 1)[0].strip()] if "\t" in text else text.replace(",", " ").split()
        refs.extend(word for word in words if word and word.lower() not in _HEADER_WORDS)
    return refs


@dataclass
class Planned:
    state: TicketState
    mutations: list[tuple[str, dict[str, Any]]]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [o.error.message for o in self.outcomes if o.error is not None]

    @property
    def outcome(self) -> str:
        """changed, partly changed (some of its mutations refused) or refused."""
        if not self.errors:
            return "changed"
        return "refused" if len(self.errors) == len(self.outcomes) else "partly changed"


def plan(session: Session, ticket_ids: list[str], change: BulkChange) -> tuple[list[Planned], int]:
    """The tickets that need mutations, and how many are already as asked."""
    from supportdesk.store.selection import macro_applied, ticket_states

    planned: list[Planned] = []
    unchanged = 0
    with session.workspace().reading() as connection:
        for start in range(0, len(ticket_ids), CHUNK):
            chunk = ticket_ids[start : start + CHUNK]
            states = ticket_states(connection, chunk)
            marked: set[str] = set()
            if change.macro is not None and change.macro.has_comment:
                marked = macro_applied(connection, chunk, change.macro.id)
            for ticket_id in chunk:
                state = states.get(ticket_id)
                if state is None:
                    continue
                mutations = change.plan(state, macro_applied=ticket_id in marked)
                if mutations:
                    planned.append(Planned(state, mutations))
                else:
                    unchanged += 1
    return planned, unchanged


def apply_planned(session: Session, planned: list[Planned], *, dry_run: bool, label: str) -> None:
    """Run every planned mutation in chunks, filling in each ticket's outcomes."""
    from supportdesk.cli.progress import Progress
    from supportdesk.domain.write import apply_many

    workspace = session.workspace()
    actor = session.actor()
    batch: list[Planned] = []
    size = 0
    done = 0
    with Progress(label) as progress:

        def flush() -> None:
            nonlocal batch, size, done
            mutations = [m for item in batch for m in item.mutations]
            # a change to many tickets is a bulk run in their history; one ticket's is the CLI's
            source = "cli-bulk" if len(planned) > 1 else "cli"
            outcomes = apply_many(workspace, mutations, actor=actor, dry_run=dry_run, source=source)
            position = 0
            for item in batch:
                item.outcomes = outcomes[position : position + len(item.mutations)]
                position += len(item.mutations)
            done += len(batch)
            progress.update("tickets", done, len(planned))
            batch, size = [], 0

        for item in planned:
            batch.append(item)
            size += len(item.mutations)
            if size >= CHUNK:
                flush()
        if batch:
            flush()


def run_change(
    session: Session,
    selection: Selection,
    change: BulkChange,
    *,
    dry_run: bool,
    yes: bool,
    out: Output,
) -> None:
    """Select, plan, confirm, apply and report; exits 1 when some tickets were refused."""
    from supportdesk.cli.confirm import confirm
    from supportdesk.cli.errors import NOT_FOUND, PARTIAL, SERVER, fail, print_error

    if change.empty:
        fail("nothing to change: give --set, --add-tag, --remove-tag, --assign, --group or --macro")
    columns = out.columns(DRY_RUN_FIELDS if dry_run else RESULT_FIELDS)  # a bad --fields fails before any write
    ticket_ids, missing = selection.resolve(session)
    for ref in missing:
        print_error(f"no ticket {ref}")
    if not ticket_ids and missing:
        raise typer.Exit(NOT_FOUND)
    planned, unchanged = plan(session, ticket_ids, change)
    if planned and not dry_run and len(planned) > CONFIRM_OVER:
        confirm(f"Change {len(planned):,} tickets?", yes=yes)
    if planned:
        apply_planned(session, planned, dry_run=dry_run, label="checking" if dry_run else "changing")
    failed = _report(session, planned, unchanged, dry_run=dry_run, out=out, columns=columns)
    if failed and failed == len(planned) and _all_forbidden(planned):
        raise typer.Exit(SERVER)  # a role problem, not a problem of some tickets
    if failed or missing:
        raise typer.Exit(PARTIAL)


def _all_forbidden(planned: list[Planned]) -> bool:
    from supportdesk.domain.errors import PermissionDenied

    errors = [o.error for item in planned for o in item.outcomes if o.error is not None]
    return bool(errors) and all(isinstance(e, PermissionDenied) for e in errors)


def _report(
    session: Session, planned: list[Planned], unchanged: int, *, dry_run: bool, out: Output, columns: list[str]
) -> int:
    from supportdesk.cli.errors import print_error, print_warning

    failed = 0
    for item in planned:
        for outcome in item.outcomes:
            for warning in outcome.warnings:
                print_warning(f"{item.state.label}: {warning}")
        for error in item.errors:
            print_error(f"{item.state.label}: {error}")
        failed += bool(item.errors)
    changed = len(planned) - failed
    if dry_run:
        out.records(_dry_run_rows(session, planned), columns)
    elif not out.table:
        out.records(_result_rows(planned), columns)
    parts = [f"{'would change' if dry_run else 'changed'} {changed:,} ticket{'s' if changed != 1 else ''}"]
    if unchanged:
        parts.append(f"{unchanged:,} already as asked")
    if failed:
        parts.append(f"{failed:,} {'would be ' if dry_run else ''}refused")
    summary = ", ".join(parts)
    if out.table:
        typer.echo(summary)
    else:
        sys.stderr.write(summary + "\n")
    return failed


def _dry_run_rows(session: Session, planned: list[Planned]) -> list[dict[str, Any]]:
    """One row per field that would change; agents and groups by name rather than id."""
    with session.workspace().reading() as connection:
        names = {
            row[0]: row[1]
            for row in connection.execute("SELECT id, name FROM agent UNION ALL SELECT id, name FROM groups")
        }
    rows: list[dict[str, Any]] = []
    for item in planned:
        for outcome in item.outcomes:
            if outcome.error is not None:
                continue
            for change in outcome.changes:
                named = change["field"] in ("assignee_id", "group_id")
                rows.append(
                    {
                        "ticket": item.state.label,
                        "mutation": outcome.name,
                        "field": change["field"].removesuffix("_id") if named else change["field"],
                        "before": names.get(change["before"], change["before"]) if named else change["before"],
                        "after": names.get(change["after"], change["after"]) if named else change["after"],
                    }
                )
    return rows


def _result_rows(planned: list[Planned]) -> list[dict[str, Any]]:
    return [
        {
            "ticket": item.state.label,
            "id": item.state.id,
            "outcome": item.outcome,
            "mutations": [o.name for o in item.outcomes if o.ok],
            "error": item.errors[0] if item.errors else None,
        }
        for item in planned
    ]
