"""``supportdesk rules …``: routing rules, kept as YAML by admins.

``export`` writes every rule as YAML, ``import`` creates or replaces rules by name (each change a
``rule.create`` / ``rule.update`` mutation), so a team can keep its rules in a file under version
control. The rule language is described in :mod:`supportdesk.domain.triggers`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supportdesk.cli.options import CsvOpt, JsonOpt, PlainOpt
from supportdesk.cli.state import STATE

app = typer.Typer(help="List, show, import, export and delete routing rules (YAML).", no_args_is_help=True)

RULE_KEYS = ("name", "description", "position", "active", "when", "conditions", "actions")


def _rules() -> list[dict[str, Any]]:
    from supportdesk.store.routing import routing_rules

    with STATE.workspace().reading() as connection:
        return routing_rules(connection)


def _find(name: str) -> dict[str, Any]:
    from supportdesk.cli.errors import NOT_FOUND, fail

    for rule in _rules():
        if rule["name"].lower() == name.strip().lower() or rule["id"] == name.strip():
            return rule
    fail(f"no rule called {name}", NOT_FOUND)


@app.command("list")
def list_rules(
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    plain: PlainOpt = False,
) -> None:
    """List the routing rules in the order they run.

    Example: supportdesk rules list --plain
    """
    from supportdesk.cli.output import Format, choose_format, emit_document, emit_records
    from supportdesk.store.routing import summary

    fmt = choose_format(json_=json_, csv_=csv_, plain=plain)
    rules = _rules()
    if fmt == Format.JSON:
        emit_document(rules)
        return
    records = [
        {
            **rule,
            "when": ",".join(rule["when"]),
            "conditions": summary(rule["conditions"]) or "(always)",
            "actions": summary(rule["actions"]),
        }
        for rule in rules
    ]
    emit_records(records, ["position", "name", "active", "when", "conditions", "actions"], fmt)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The rule's name (or id).")],
    json_: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
) -> None:
    """Show one rule as YAML.

    Example: supportdesk rules show "Refunds go to Billing"
    """
    from supportdesk.cli import yamlio
    from supportdesk.cli.output import emit_document

    rule = {k: v for k, v in _find(name).items() if k != "id"}
    if json_:
        emit_document(rule)
        return
    yamlio.write(yamlio.dump(rule), None)


@app.command("export")
def export(
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Write every rule as one YAML document (the input of ``rules import``).

    Example: supportdesk rules export -o rules.yaml
    """
    from supportdesk.cli import yamlio

    rules = [{k: v for k, v in rule.items() if k != "id"} for rule in _rules()]
    yamlio.write(yamlio.dump({"rules": rules}), output)


@app.command("import")
def import_rules(
    path: Annotated[str, typer.Argument(help="A YAML file ('-' for stdin): a list of rules or {rules: [...]}.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report, change nothing.")] = False,
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
    existing = {rule["name"].lower(): rule["id"] for rule in _rules()}
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in data:
        definition = {k: v for k, v in item.items() if k != "id"}
        rule_id = existing.get(str(definition.get("name", "")).strip().lower())
        if rule_id:
            batch.append(("rule.update", {"rule_id": rule_id, "definition": definition}))
        else:
            batch.append(("rule.create", {"definition": definition}))
    outcomes = apply_many(STATE.workspace(), batch, actor=STATE.actor(), dry_run=dry_run)
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
def delete(name: Annotated[str, typer.Argument(help="The rule's name (or id).")]) -> None:
    """Delete a rule.

    Example: supportdesk rules delete "Acknowledge web forms"
    """
    from supportdesk.domain.write import apply

    rule = _find(name)
    apply(STATE.workspace(), "rule.delete", {"id": rule["id"]}, actor=STATE.actor())
    typer.echo(f"deleted: {rule['name']}")
