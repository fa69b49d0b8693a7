"""``supportdesk tickets update | assign | tag | untag | close | reopen``: changes to one ticket or
ten thousand, through the bulk runner (dry run, confirmation, reruns that skip what is done)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from supportdesk.cli.options import LISTING, DryRunOpt, Output, QueryOpt, TicketArg, TicketsArg, YesOpt
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command, session_of
from supportdesk.store.ticket_fields import BY_SET_KEY

if TYPE_CHECKING:
    from supportdesk.domain.bulk import BulkChange, MacroChoice

#: The --set keys of the ticket field table, for the option's help.
_SET_KEYS = ", ".join(BY_SET_KEY)


def _complete_set(incomplete: str) -> Iterator[str]:
    for key, spec in BY_SET_KEY.items():
        for value in spec.settable_choices or (("me", "none") if spec.kind == "agent" else ("none",)):
            candidate = f"{key}={value}"
            if candidate.startswith(incomplete):
                yield candidate


def complete_macro(ctx: typer.Context, incomplete: str) -> Iterator[str]:
    """Active macro names (completion parses the command line without running the root callback,
    so the --workspace given there is read from the root context)."""
    from supportdesk.store.lookups import all_macros

    session = session_of(ctx)
    session.workspace_flag = session.workspace_flag or ctx.find_root().params.get("workspace")
    try:
        with session.workspace().reading() as connection:
            names = [m["name"] for m in all_macros(connection) if m["active"]]
    except Exception:  # completion never fails loudly
        return
    yield from (name for name in names if name.lower().startswith(incomplete.lower()))


def macro_choice(session: Session, ref: str) -> MacroChoice:
    """The macro called ``ref`` with its group and assignee actions resolved."""
    from supportdesk.cli import refs
    from supportdesk.cli.errors import fail
    from supportdesk.domain.bulk import MacroChoice

    macro = refs.macro(session, ref)
    if not macro["active"]:
        fail(f"macro {macro['name']} is inactive")
    choice = MacroChoice(
        id=macro["id"], name=macro["name"], has_comment=bool(macro["body"].strip()), actions=macro["actions"]
    )
    for action in macro["actions"]:
        if action["field"] == "group":
            choice.group_id = refs.group_id(session, str(action.get("value") or "none"))
        elif action["field"] == "assignee":
            choice.assignee_id = refs.agent_id(session, str(action.get("value") or "none"))
    return choice


def build_change(
    session: Session,
    sets: list[str],
    add_tags: list[str],
    remove_tags: list[str],
    assign: str | None,
    group: str | None,
    macro: str | None,
) -> BulkChange:
    """A :class:`BulkChange` from the command-line flags, every name resolved and checked.

    ``--set`` takes the keys of the ticket field table (``store.ticket_fields``): choices are
    checked against the field's values, agents and groups resolved by name, address or id.
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import fail
    from supportdesk.domain.bulk import BulkChange
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.tags import normalize_tags
    from supportdesk.store.ticket_fields import FieldValueError

    change = BulkChange()
    for item in sets:
        name, sep, value = item.partition("=")
        spec = BY_SET_KEY.get(name.strip().lower())
        if not sep or spec is None:
            fail(f"--set takes field=value with a field among {', '.join(BY_SET_KEY)}, not {item!r}")
        if spec.kind == "agent":
            assign = value
        elif spec.kind == "group":
            group = value
        elif spec.kind == "choice":
            change.fields[spec.name] = refs.enum_value(spec.name, value)
        else:
            try:
                change.fields[spec.name] = spec.clean(value)
            except FieldValueError as error:
                fail(str(error))
    if assign is not None:
        change.fields["assignee"] = refs.agent_id(session, assign)
    if group is not None:
        change.fields["group"] = refs.group_id(session, group)
    try:
        change.add_tags = normalize_tags(add_tags)
        change.remove_tags = normalize_tags(remove_tags)
    except DomainError as error:
        fail(error.message)
    if macro is not None:
        change.macro = macro_choice(session, macro)
    return change


def run_bulk(
    session: Session,
    refs: list[str] | None,
    query: str | None,
    change: BulkChange,
    *,
    dry_run: bool,
    yes: bool,
    out: Output | None = None,
) -> None:
    """Run ``change`` over the tickets chosen, printing in the format asked for."""
    from supportdesk.cli.bulk import Selection, run_change

    run_change(session, Selection(list(refs or []), query), change, dry_run=dry_run, yes=yes, out=out or Output())


@command(LISTING)
def update(
    session: Session,
    out: Output,
    tickets: TicketsArg = None,
    query: QueryOpt = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help=f"field=value for {_SET_KEYS} (repeatable).",
            autocompletion=_complete_set,
            show_default=False,
        ),
    ] = None,
    add_tag: Annotated[
        list[str] | None,
        typer.Option("--add-tag", metavar="TAG", help="Add a tag (repeatable).", show_default=False),
    ] = None,
    remove_tag: Annotated[
        list[str] | None,
        typer.Option("--remove-tag", metavar="TAG", help="Remove a tag (repeatable).", show_default=False),
    ] = None,
    assign: Annotated[
        str | None,
        typer.Option("--assign", metavar="AGENT", help="An agent's email or name, me, or none.", show_default=False),
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", metavar="GROUP", help="A group's name, or none.", show_default=False)
    ] = None,
    macro: Annotated[
        str | None,
        typer.Option(
            "--macro", metavar="MACRO", help="Apply a macro by name.", autocompletion=complete_macro, show_default=False
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Change many tickets at once; tickets already as asked are left alone.

    More than 50 tickets asks first (pass --yes in scripts). Refused tickets are listed on
    stderr and the rest still change (exit 1).

    Example: supportdesk tickets update --query 'tag:refund status:pending' --set status=solved --add-tag done
    """
    change = build_change(session, sets or [], add_tag or [], remove_tag or [], assign, group, macro)
    run_bulk(session, tickets, query, change, dry_run=dry_run, yes=yes, out=out)


@command()
def assign(
    session: Session,
    ticket: TicketArg,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="An agent's email or name, me, or none.")],
    group: Annotated[
        str | None, typer.Option("--group", metavar="GROUP", help="Move it to this group too.", show_default=False)
    ] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Assign a ticket to an agent (and optionally a group).

    Example: supportdesk tickets assign 1042 me --group "Tier 2"
    """
    change = build_change(session, [], [], [], agent, group, None)
    run_bulk(session, [ticket], None, change, dry_run=dry_run, yes=True)


@command()
def tag(
    session: Session,
    ticket: TicketArg,
    tags: Annotated[list[str], typer.Argument(metavar="TAG…", help="Tags to add.")],
    dry_run: DryRunOpt = False,
) -> None:
    """Add tags to a ticket.

    Example: supportdesk tickets tag 1042 refund vip
    """
    change = build_change(session, [], tags, [], None, None, None)
    run_bulk(session, [ticket], None, change, dry_run=dry_run, yes=True)


@command()
def untag(
    session: Session,
    ticket: TicketArg,
    tags: Annotated[list[str], typer.Argument(metavar="TAG…", help="Tags to remove.")],
    dry_run: DryRunOpt = False,
) -> None:
    """Remove tags from a ticket.

    Example: supportdesk tickets untag 1042 refund
    """
    change = build_change(session, [], [], tags, None, None, None)
    run_bulk(session, [ticket], None, change, dry_run=dry_run, yes=True)


@command()
def close(
    session: Session,
    tickets: TicketsArg = None,
    final: Annotated[
        bool, typer.Option("--final", help="Close for good (status closed) instead of marking solved.")
    ] = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Mark tickets solved (a customer's reply reopens them); --final closes them for good.

    Example: supportdesk tickets close 1042 1043
    """
    change = build_change(session, [f"status={'closed' if final else 'solved'}"], [], [], None, None, None)
    run_bulk(session, tickets, None, change, dry_run=dry_run, yes=yes)


@command()
def reopen(
    session: Session,
    tickets: TicketsArg = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Reopen solved or pending tickets (a closed ticket stays closed: reply to open a follow-up).

    Example: supportdesk tickets reopen 1042
    """
    change = build_change(session, ["status=open"], [], [], None, None, None)
    run_bulk(session, tickets, None, change, dry_run=dry_run, yes=yes)
