"""``supportdesk rules …``: routing rules, kept as YAML by admins.

``export`` writes every rule as YAML, ``import`` creates or replaces rules by name (each change a
``rule.create`` / ``rule.update`` mutation), so a team can keep its rules in a file under version
control. The rule language is described in :mod:`supportdesk.domain.triggers`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, DryRunOpt, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(help="List, show, import, export and delete routing rules (YAML).", no_args_is_help=True)

RULE_KEYS = ("name", "description", "position", "active", "when", "conditions", "actions")
LIST_FIELDS = ("position", "name", "active", "when", "conditions", "actions", "description", "id")
RuleArg = Annotated[str, typer.Argument(metavar="RULE", help="The rule's name (or id).")]


def _rules(session: Session) -> list[dict[str, Any]]:
    from supportdesk.store.routing import routing_rules

    with session.workspace().reading() as connection:
        return routing_rules(connection)


def _find(session: Session, name: str) -> dict[str, Any]:
    from supportdesk.cli.errors import NOT_FOUND, fail

    for rule in _rules(session):
        if rule["name"].lower() == name.strip().lower() or rule["id"] == name.strip():
            return rule
    fail(f"no rule called {name}", NOT_FOUND)


@app.command("list")
@command(LISTING)
def list_rules(session: Session, out: Output) -> None:
    """List the routing rules in the order they run (--json: each rule whole, as stored).

    Example: supportdesk rules list --plain
    """
    from supportdesk.store.routing import summary

    rules = _rules(session)
    if out.json and not out.fields:
        out.document(rules)
        return
    chosen = out.columns(LIST_FIELDS, default=LIST_FIELDS[:6])
    records = [
        {
            **rule,
            "when": ",".join(rule["when"]),
            "conditions": summary(rule["conditions"]) or "(always)",
            "actions": summary(rule["actions"]),
        }
        for rule in rules
    ]
    out.records(records, chosen)


@app.command("show")
@command(DOCUMENT)
def show(session: Session, out: Output, name: RuleArg) -> None:
    """Show one rule as YAML (--json: as JSON).

    Example: supportdesk rules show "Refunds go to Billing"
    """
    from supportdesk.cli import yamlio

    rule = {k: v for k, v in _find(session, name).items() if k != "id"}
    if out.json:
        out.document(rule)
        return
    yamlio.write(yamlio.dump(rule), None)


@app.command("export")
@command()
def export(
    session: Session,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to this file instead of stdout.", show_default=False
        ),
    ] = None,
) -> None:
    """Write every rule as one YAML document (the input of ``rules import``).

    Example: supportdesk rules export -o rules.yaml
    """
    from supportdesk.cli import yamlio

    rules = [{k: v for k, v in rule.items() if k != "id"} for rule in _rules(session)]
    yamlio.write(yamlio.dump({"rules": rules}), output)


@app.command("import")
@command()
def import_rules(
    session: Session,
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="A YAML file ('-' for stdin): a list of rules or {rules: [...]}.")
    ],
    dry_run: DryRunOpt = False,
) -> None:
    """Create the rules of a YAML file, replacing rules of the same name.

    Example: supportdesk rules import rules.yaml
    """
    from supportdesk.cli import yamlio
    from supportdesk.cli.errors import PARTIAL, exit_code_for, fail, print_error
    from supportdesk.domain.write import apply_many

    data = yamlio.load(path)
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        fail(f"{path}: expected a list of rules (each a mapping with name, when, conditions, actions)")
    existing = {rule["name"].lower(): rule["id"] for rule in _rules(session)}
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in data:
        definition = {k: v for k, v in item.items() if k != "id"}
        rule_id = existing.get(str(definition.get("name", "")).strip().lower())
        if rule_id:
            batch.append(("rule.update", {"rule_id": rule_id, "definition": definition}))
        else:
            batch.append(("rule.create", {"definition": definition}))
    outcomes = apply_many(session.workspace(), batch, actor=session.actor(), dry_run=dry_run)
    errors = []
    for (name, args), outcome in zip(batch, outcomes, strict=True):
        if outcome.error is not None:
            errors.append(outcome.error)
            print_error(str(outcome.error))
            continue
        verb = "created" if name == "rule.create" else "updated"
        typer.echo(f"{'would be ' if dry_run else ''}{verb}: {args['definition'].get('name', '?')}")
    if errors:
        raise typer.Exit(PARTIAL if len(errors) < len(batch) else exit_code_for(errors[0]))


@app.command("delete")
@command()
def delete(session: Session, name: RuleArg) -> None:
    """Delete a rule.

    Example: supportdesk rules delete "Acknowledge web forms"
    """
    from supportdesk.cli.writes import apply_one

    rule = _find(session, name)
    apply_one(session, "rule.delete", {"id": rule["id"]})
    typer.echo(f"deleted: {rule['name']}")
