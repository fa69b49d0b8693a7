"""``supportdesk macros …``: list, show (and preview on a ticket), apply, create, edit, and keep
macros as YAML files.

A macro file is one YAML document per macro::

    name: "Refund: first answer"
    description: Acknowledge a refund request
    public: true
    active: true
    actions:
      status: pending
      add_tags: [refund]
    body: |
      Hi {{ ticket.requester.first_name }}, …

Importing creates the macros that are new and updates the ones that differ (matched by ``id``,
then by name); an import run twice changes nothing the second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from supportdesk.cli.options import (
    DOCUMENT,
    LISTING,
    BodyFileOpt,
    BodyOpt,
    DryRunOpt,
    Output,
    QueryOpt,
    TicketsArg,
    YesOpt,
)
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(help="Canned responses: list, preview, apply, and keep them as YAML files.", no_args_is_help=True)

LIST_FIELDS = ("name", "description", "actions", "public", "active", "id")
ACTION_FIELDS = ("status", "priority", "type", "group", "assignee", "add_tags", "remove_tags")
MacroArg = Annotated[str, typer.Argument(metavar="MACRO", help="The macro's name or id.")]
ActionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--action",
        "-a",
        metavar="FIELD=VALUE",
        help="field=value: status, priority, type, group, assignee, add_tags, remove_tags.",
        show_default=False,
    ),
]


def _actions_text(actions: list[dict[str, Any]]) -> str:
    parts = []
    for action in actions:
        value = action.get("value")
        parts.append(f"{action['field']}={','.join(value) if isinstance(value, list) else value}")
    return " ".join(parts)


@app.command("list")
@command(LISTING)
def list_macros(
    session: Session,
    out: Output,
    all_: Annotated[bool, typer.Option("--all", help="Inactive macros too.")] = False,
) -> None:
    """List the macros by name.

    Example: supportdesk macros list --plain --fields name,actions
    """
    from supportdesk.cli.formats import Format
    from supportdesk.store.lookups import all_macros

    chosen = out.columns(LIST_FIELDS, table=("name", "description", "actions", "public"))
    with session.workspace().reading() as connection:
        macros = [m for m in all_macros(connection) if all_ or m["active"]]
    if out.format in (Format.TABLE, Format.PLAIN, Format.CSV):
        for macro in macros:
            macro["actions"] = _actions_text(macro["actions"])
    out.records(macros, chosen)


def macro_document(macro: dict[str, Any]) -> dict[str, Any]:
    """A macro as the YAML document people edit."""
    actions: dict[str, Any] | list[dict[str, Any]]
    fields = [a["field"] for a in macro["actions"]]
    if len(set(fields)) == len(fields):
        actions = {a["field"]: a.get("value") for a in macro["actions"]}
    else:
        actions = [{a["field"]: a.get("value")} for a in macro["actions"]]
    return {
        "id": macro["id"],
        "name": macro["name"],
        "description": macro["description"],
        "public": macro["public"],
        "active": macro["active"],
        "actions": actions,
        "body": macro["body"],
    }


@app.command("show")
@command(DOCUMENT)
def show(
    session: Session,
    out: Output,
    macro: MacroArg,
    ticket: Annotated[
        str | None,
        typer.Option(
            "--ticket",
            "-t",
            metavar="TICKET",
            help="Preview the macro on this ticket: changes and comment.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show a macro as YAML, or what it would do to a ticket (nothing is changed).

    Example: supportdesk macros show 'Refund: first answer' --ticket 1042
    """
    from supportdesk.cli import refs
    from supportdesk.cli.documents import dump_yaml

    found = refs.macro(session, macro)
    if ticket is None:
        document = macro_document(found)
        if out.json:
            out.document(document)
        else:
            typer.echo(dump_yaml(document), nl=False)
        return
    preview = macro_preview(session, found, ticket)
    if out.json:
        out.document(preview)
        return
    from supportdesk.cli.output import safe

    shown = safe(preview)
    lines = [f"{shown['macro']} on {shown['ticket']}:"]
    lines += [f"  {c['field']}: {c['before'] or '—'} → {c['after'] or '—'}" for c in shown["changes"]]
    lines += [f"  tag added: {t}" for t in shown["tags_added"]] + [f"  tag removed: {t}" for t in shown["tags_removed"]]
    if shown["comment"]:
        lines += ["", f"── {'public reply' if shown['public'] else 'internal note'}", shown["comment"]]
    typer.echo("\n".join(lines))


def macro_preview(session: Session, macro: dict[str, Any], ticket_ref: str) -> dict[str, Any]:
    """What applying ``macro`` to the ticket would do, worked out by the domain's own planner
    (:func:`supportdesk.domain.preview.preview_macro`, on a read-only snapshot: no write lock)."""
    from supportdesk.cli import refs
    from supportdesk.domain.preview import preview_macro

    ticket_id = refs.ticket_id(session, ticket_ref)
    plan = preview_macro(session.workspace(), session.actor(), macro["id"], ticket_id)
    return {
        "macro": macro["name"],
        "ticket": refs.ticket_label(session, ticket_id),
        "changes": [{"field": name, "before": before, "after": after} for name, before, after in plan.changes],
        "tags_added": plan.tags_added,
        "tags_removed": plan.tags_removed,
        "public": plan.public,
        "comment": plan.body,
    }


@app.command("apply")
@command(LISTING)
def apply(
    session: Session,
    out: Output,
    macro: MacroArg,
    tickets: TicketsArg = None,
    query: QueryOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Apply a macro to tickets (a ticket that already has the macro's comment is skipped).

    Example: supportdesk macros apply 'Refund: first answer' 1042 1043 --dry-run
    """
    from supportdesk.cli.ticket_bulk import build_change, run_bulk

    change = build_change(session, [], [], [], None, None, macro)
    run_bulk(session, tickets, query, change, dry_run=dry_run, yes=yes, out=out)


def _parse_actions(items: list[str]) -> list[dict[str, Any]]:
    from supportdesk.cli.errors import fail

    actions: list[dict[str, Any]] = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or name not in ACTION_FIELDS:
            fail(f"--action takes field=value with a field among {', '.join(ACTION_FIELDS)}, not {item!r}")
        actions.append({"field": name, "value": value.split(",") if name.endswith("_tags") else value})
    return actions


def _document_actions(value: Any, source: str) -> list[dict[str, Any]]:
    """Actions as written in a file: a mapping, or a list of one-key mappings."""
    from supportdesk.cli.errors import fail

    if value is None:
        return []
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(a, dict) and len(a) == 1 for a in value):
        pairs = [next(iter(a.items())) for a in value]
    else:
        fail(f"{source}: actions must be a mapping such as 'status: pending'")
    return [{"field": str(k), "value": v} for k, v in pairs]


@app.command("create")
@command()
def create(
    session: Session,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The macro's name.")],
    description: Annotated[str, typer.Option("--description", metavar="TEXT", help="What it is for.")] = "",
    actions: ActionOpt = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    internal: Annotated[bool, typer.Option("--internal", help="Its comment is an internal note.")] = False,
) -> None:
    """Add a macro: field changes and/or a comment template (Jinja2, checked now).

    Example: supportdesk macros create --name 'Chase up' -a status=pending -b 'Hi {{ ticket.requester.first_name }}!'
    """
    from supportdesk.cli.options import read_text
    from supportdesk.cli.writes import apply_one

    text = body if body is not None else (read_text(body_file) if body_file else "")
    outcome = apply_one(
        session,
        "macro.create",
        {
            "name": name,
            "description": description,
            "actions": _parse_actions(actions or []),
            "body": text,
            "public": not internal,
        },
    )
    typer.echo(outcome.result["macro_id"])


@app.command("edit")
@command()
def edit(
    session: Session,
    macro: MacroArg,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME", help="Rename it.", show_default=False)] = None,
    description: Annotated[
        str | None, typer.Option("--description", metavar="TEXT", help="What it is for.", show_default=False)
    ] = None,
    actions: ActionOpt = None,
    clear_actions: Annotated[bool, typer.Option("--clear-actions", help="Remove every action.")] = False,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    public: Annotated[
        bool | None,
        typer.Option("--public/--internal", help="Comment as public reply or internal note.", show_default=False),
    ] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", show_default=False)] = None,
) -> None:
    """Change a macro with flags, or in $EDITOR as YAML when no flag is given.

    Example: supportdesk macros edit 'Chase up' --inactive
    """
    from supportdesk.cli import refs
    from supportdesk.cli.options import read_text

    found = refs.macro(session, macro)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    if actions is not None or clear_actions:
        changes["actions"] = _parse_actions(actions or [])
    if body is not None or body_file is not None:
        changes["body"] = body if body is not None else read_text(str(body_file))
    if public is not None:
        changes["public"] = public
    if active is not None:
        changes["active"] = active
    if not changes:
        changes = _edit_in_editor(session, found)
    _update(session, found, changes)


def _edit_in_editor(session: Session, macro: dict[str, Any]) -> dict[str, Any]:
    import os
    import shlex
    import subprocess
    import tempfile

    from supportdesk.cli.documents import dump_yaml, load_yaml_documents
    from supportdesk.cli.errors import fail

    editor = session.settings.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        fail("nothing to change: give --name, --action, --body … (or set $EDITOR to edit the YAML)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{macro['id']}.yaml"
        path.write_text(dump_yaml(macro_document(macro)), encoding="utf-8")
        if subprocess.run([*shlex.split(editor), str(path)], check=False).returncode != 0:
            fail("the editor failed: nothing was changed")
        documents = load_yaml_documents(path.read_text(encoding="utf-8"), str(path))
    if len(documents) != 1:
        fail("the edited file must hold exactly one macro")
    return _changes_from_document(documents[0], "the edited macro")


def _changes_from_document(document: dict[str, Any], source: str) -> dict[str, Any]:
    from supportdesk.cli.errors import fail

    known = {"id", "name", "description", "public", "active", "actions", "body"}
    unknown = sorted(set(document) - known)
    if unknown:
        fail(f"{source}: unknown field {unknown[0]!r} (macros have {', '.join(sorted(known))})")
    changes: dict[str, Any] = {
        k: document[k] for k in ("name", "description", "public", "active", "body") if k in document
    }
    if "actions" in document:
        changes["actions"] = _document_actions(document["actions"], source)
    for key in ("name", "description", "body"):
        if key in changes and not isinstance(changes[key], str):
            changes[key] = "" if changes[key] is None else str(changes[key])
    return changes


def _differences(macro: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Only the fields that differ from the macro as it is (actions compared as stored)."""
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.macros import MacroAction, stored_actions

    different: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "actions":
            try:
                same = stored_actions([MacroAction.model_validate(a) for a in value]) == macro[key]
            except (DomainError, ValueError):
                same = False  # let the mutation say what is wrong with them
            if not same:
                different[key] = value
        elif value != macro[key]:
            different[key] = value
    return different


def _update(session: Session, macro: dict[str, Any], changes: dict[str, Any]) -> bool:
    from supportdesk.cli.writes import apply_one

    different = _differences(macro, changes)
    if not different:
        typer.echo(f"{macro['name']}: nothing to change")
        return False
    apply_one(session, "macro.update", {"macro_id": macro["id"], **different})
    typer.echo(f"updated {different.get('name', macro['name'])}")
    return True


@app.command("import")
@command()
def import_macros(
    session: Session,
    paths: Annotated[list[str], typer.Argument(metavar="PATH…", help="YAML files, or folders of them.")],
    dry_run: DryRunOpt = False,
) -> None:
    """Create or update macros from YAML files (matched by id, then name); unchanged ones are left alone.

    Example: supportdesk macros import macros/
    """
    from supportdesk.cli.documents import files_under, load_yaml_documents
    from supportdesk.cli.errors import fail
    from supportdesk.cli.writes import apply_and_report
    from supportdesk.store.lookups import find_macro

    mutations: list[tuple[str, dict[str, Any]]] = []
    unchanged = 0
    with session.workspace().reading() as connection:
        for path in files_under(paths, (".yaml", ".yml")):
            for document in load_yaml_documents(path.read_text(encoding="utf-8"), str(path)):
                changes = _changes_from_document(document, str(path))
                if not changes.get("name"):
                    fail(f"{path}: a macro needs a name")
                existing = find_macro(connection, str(document.get("id") or "")) if document.get("id") else None
                existing = existing or find_macro(connection, changes["name"])
                if existing is None:
                    args = {**changes}
                    if document.get("id"):
                        args["macro_id"] = str(document["id"])
                    mutations.append(("macro.create", args))
                    continue
                different = _differences(existing, changes)
                if different:
                    mutations.append(("macro.update", {"macro_id": existing["id"], **different}))
                else:
                    unchanged += 1
    apply_and_report(session, mutations, unchanged, dry_run=dry_run)


@app.command("export")
@command()
def export(
    session: Session,
    target: Annotated[
        str, typer.Argument(metavar="[TARGET]", help="A folder (one file per macro), a .yaml file, or - for stdout.")
    ] = "-",
) -> None:
    """Write every macro, active or not, as YAML (one document per macro).

    Example: supportdesk macros export macros/
    """
    from supportdesk.cli.documents import dump_yaml, file_name
    from supportdesk.store.lookups import all_macros

    with session.workspace().reading() as connection:
        macros = all_macros(connection)
    documents = [dump_yaml(macro_document(m)) for m in macros]
    if target == "-":
        typer.echo("---\n".join(documents), nl=False)
        return
    path = Path(target).expanduser()
    if path.suffix.lower() in (".yaml", ".yml"):
        path.write_text("---\n".join(documents), encoding="utf-8")
    else:
        path.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        for macro, text in zip(macros, documents, strict=True):
            name = file_name(macro["name"])
            while name in used:
                name += "-" + macro["id"][-4:]
            used.add(name)
            (path / f"{name}.yaml").write_text(text, encoding="utf-8")
    typer.echo(f"exported {len(macros)} macros to {path}", err=True)
