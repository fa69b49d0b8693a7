"""``supportdesk tickets update | assign | tag | untag | close | reopen``: changes to one ticket or
ten thousand, through the bulk runner (dry run, confirmation, reruns that skip what is done)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from supportdesk.cli.options import CsvOpt, DryRunOpt, JsonlOpt, JsonOpt, NoHeadersOpt, PlainOpt, YesOpt
from supportdesk.cli.state import STATE
from supportdesk.store.ticket_fields import BY_SET_KEY

if TYPE_CHECKING:
    from supportdesk.domain.bulk import BulkChange, MacroChoice


#: The --set keys of the ticket field table, for the option's help.
_SET_KEYS = ", ".join(BY_SET_KEY)

TicketsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Ticket numbers (1042 or #1042) or ids; '-' reads them from stdin.", show_default=False),
]
QueryOpt = Annotated[
    str | None, typer.Option("--query", "-q", help="Choose the tickets with a query instead.", show_default=False)
]


def _complete_set(incomplete: str) -> Iterator[str]:
    for key, spec in BY_SET_KEY.items():
        for value in spec.settable_choices or (("me", "none") if spec.kind == "agent" else ("none",)):
            candidate = f"{key}={value}"
            if candidate.startswith(incomplete):
                yield candidate


def _complete_macro(ctx: typer.Context, incomplete: str) -> Iterator[str]:
    """Active macro names (completion parses the command line without running the root callback,
    so the --workspace given there is read from the root context)."""
    from supportdesk.store.lookups import all_macros

    STATE.workspace_flag = STATE.workspace_flag or ctx.find_root().params.get("workspace")
    try:
        with STATE.workspace().reading() as connection:
            names = [m["name"] for m in all_macros(connection) if m["active"]]
    except Exception:  # completion never fails loudly
        return
    yield from (name for name in names if name.lower().startswith(incomplete.lower()))


def agent_ref(value: str) -> str | None:
    """``me``, ``none`` or an agent's email, name or id → the agent id (None for none)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_agent

    if value.strip().lower() == "none":
        return None
    if value.strip().lower() == "me":
        me = STATE.me()
        if not me:
            fail("this workspace acts as nobody yet: run 'supportdesk config set me EMAIL'")
        return str(me)
    with STATE.workspace().reading() as connection:
        agent = find_agent(connection, value)
    if agent is None:
        fail(f"no agent {value}", NOT_FOUND)
    return str(agent["id"])


def group_ref(value: str) -> str | None:
    """``none`` or a group's name, address or id → the group id (None for none)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_group

    if value.strip().lower() == "none":
        return None
    with STATE.workspace().reading() as connection:
        group = find_group(connection, value)
    if group is None:
        fail(f"no group {value}", NOT_FOUND)
    return str(group["id"])


def macro_choice(ref: str) -> MacroChoice:
    """The macro called ``ref`` with its group and assignee actions resolved."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.domain.bulk import MacroChoice
    from supportdesk.store.lookups import find_macro

    with STATE.workspace().reading() as connection:
        macro = find_macro(connection, ref)
    if macro is None:
        fail(f"no macro {ref}", NOT_FOUND)
    if not macro["active"]:
        fail(f"macro {macro['name']} is inactive")
    choice = MacroChoice(
        id=macro["id"], name=macro["name"], has_comment=bool(macro["body"].strip()), actions=macro["actions"]
    )
    for action in macro["actions"]:
        if action["field"] == "group":
            choice.group_id = group_ref(str(action.get("value") or "none"))
        elif action["field"] == "assignee":
            choice.assignee_id = agent_ref(str(action.get("value") or "none"))
    return choice


def _enum_value(name: str, value: str) -> str:
    """A value of the field ``name`` as stored (``hold`` is ``on_hold``); a bad one is a usage error."""
    from supportdesk.cli.errors import fail
    from supportdesk.store.ticket_fields import FieldValueError, field

    wanted = "on_hold" if name == "status" and value.strip().lower() == "hold" else value
    try:
        return str(field(name).clean(wanted))
    except FieldValueError as error:
        fail(str(error))


def build_change(
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
            change.fields[spec.name] = _enum_value(spec.name, value)
        else:
            try:
                change.fields[spec.name] = spec.clean(value)
            except FieldValueError as error:
                fail(str(error))
    if assign is not None:
        change.fields["assignee"] = agent_ref(assign)
    if group is not None:
        change.fields["group"] = group_ref(group)
    try:
        change.add_tags = normalize_tags(add_tags)
        change.remove_tags = normalize_tags(remove_tags)
    except DomainError as error:
        fail(error.message)
    if macro is not None:
        change.macro = macro_choice(macro)
    return change


def run_bulk(
    refs: list[str] | None,
    query: str | None,
    change: BulkChange,
    *,
    dry_run: bool,
    yes: bool,
    json_: bool = False,
    jsonl: bool = False,
    csv_: bool = False,
    plain: bool = False,
    no_headers: bool = False,
) -> None:
    """Run ``change`` over the tickets chosen, printing in the format asked for."""
    from supportdesk.cli.bulk import Selection, run_change
    from supportdesk.cli.output import choose_format

    fmt = choose_format(json_=json_, jsonl=jsonl, csv_=csv_, plain=plain)
    run_change(Selection(list(refs or []), query), change, dry_run=dry_run, yes=yes, fmt=fmt, headers=not no_headers)


def update(
    tickets: TicketsArg = None,
    query: QueryOpt = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help=f"field=value for {_SET_KEYS} (repeatable).",
            autocompletion=_complete_set,
            show_default=False,
        ),
    ] = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag (repeatable).")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option("--remove-tag", help="Remove a tag (repeatable).")] = None,
    assign: Annotated[str | None, typer.Option("--assign", help="An agent's email or name, me, or none.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="A group's name, or none.")] = None,
    macro: Annotated[
        str | None, typer.Option("--macro", help="Apply a macro by name.", autocompletion=_complete_macro)
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_: JsonOpt = False,
    jsonl: JsonlOpt = False,
    csv_: CsvOpt = False,
    plain: PlainOpt = False,
    no_headers: NoHeadersOpt = False,
) -> None:
    """Change many tickets at once; tickets already as asked are left alone.

    More than 50 tickets asks first (pass --yes in scripts). Refused tickets are listed on
    stderr and the rest still change (exit 1).

    Example: supportdesk tickets update --query 'tag:refund status:pending' --set status=solved --add-tag done
    """
    change = build_change(sets or [], add_tag or [], remove_tag or [], assign, group, macro)
    run_bulk(
        tickets,
        query,
        change,
        dry_run=dry_run,
        yes=yes,
        json_=json_,
        jsonl=jsonl,
        csv_=csv_,
        plain=plain,
        no_headers=no_headers,
    )


def assign(
    ticket: Annotated[str, typer.Argument(help="Ticket number or id.")],
    agent: Annotated[str, typer.Argument(help="An agent's email or name, me, or none.")],
    group: Annotated[str | None, typer.Option("--group", help="Move it to this group too.")] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Assign a ticket to an agent (and optionally a group).

    Example: supportdesk tickets assign 1042 me --group "Tier 2"
    """
    run_bulk([ticket], None, build_change([], [], [], agent, group, None), dry_run=dry_run, yes=True)


def tag(
    ticket: Annotated[str, typer.Argument(help="Ticket number or id.")],
    tags: Annotated[list[str], typer.Argument(help="Tags to add.")],
    dry_run: DryRunOpt = False,
) -> None:
    """Add tags to a ticket.

    Example: supportdesk tickets tag 1042 refund vip
    """
    run_bulk([ticket], None, build_change([], tags, [], None, None, None), dry_run=dry_run, yes=True)


def untag(
    ticket: Annotated[str, typer.Argument(help="Ticket number or id.")],
    tags: Annotated[list[str], typer.Argument(help="Tags to remove.")],
    dry_run: DryRunOpt = False,
) -> None:
    """Remove tags from a ticket.

    Example: supportdesk tickets untag 1042 refund
    """
    run_bulk([ticket], None, build_change([], [], tags, None, None, None), dry_run=dry_run, yes=True)


def close(
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
    status = "closed" if final else "solved"
    run_bulk(tickets, None, build_change([f"status={status}"], [], [], None, None, None), dry_run=dry_run, yes=yes)


def reopen(
    tickets: TicketsArg = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Reopen solved or pending tickets (a closed ticket stays closed: reply to open a follow-up).

    Example: supportdesk tickets reopen 1042
    """
    run_bulk(tickets, None, build_change(["status=open"], [], [], None, None, None), dry_run=dry_run, yes=yes)
