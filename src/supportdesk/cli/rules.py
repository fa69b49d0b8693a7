"""``supportdesk rules …``: routing rules and time-based automations, kept as YAML by admins.

``export`` writes every rule as YAML, ``import`` creates or replaces rules by name (each change a
``rule.create`` / ``rule.update`` mutation), so a team can keep its rules in a file under version
control. The rule language is described in :mod:`supportdesk.domain.triggers`; automations
(``when: [scheduled]``) in :mod:`supportdesk.domain.automations`. ``run-automations`` runs them
now (the team server runs them every few minutes by itself).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, DryRunOpt, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(
    help="List, show, import, export, enable, disable and delete routing rules and automations (YAML); "
    "run the automations now.",
    no_args_is_help=True,
)

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


def _set_active(session: Session, name: str, active: bool) -> None:
    from supportdesk.cli.writes import apply_one

    rule = _find(session, name)
    definition = {k: v for k, v in rule.items() if k != "id"}
    definition["active"] = active
    apply_one(session, "rule.update", {"rule_id": rule["id"], "definition": definition})
    typer.echo(f"{'enabled' if active else 'disabled'}: {rule['name']}")


@app.command("enable")
@command()
def enable(session: Session, name: RuleArg) -> None:
    """Turn a rule or automation on.

    Example: supportdesk rules enable "Close solved tickets"
    """
    _set_active(session, name, True)


@app.command("disable")
@command()
def disable(session: Session, name: RuleArg) -> None:
    """Turn a rule or automation off (it stays, and keeps its place).

    Example: supportdesk rules disable "Close solved tickets"
    """
    _set_active(session, name, False)


@app.command("run-automations")
@command(DOCUMENT)
def run_automations(
    session: Session,
    out: Output,
    name: Annotated[
        str | None,
        typer.Argument(metavar="[RULE]", help="Only this automation (default: every active one).", show_default=False),
    ] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Run the time-based automations now: each fires on the tickets that entered its condition.

    The team server runs them every few minutes by itself; on a workspace that follows a server
    this sends the run there (with the next sync). --dry-run says what would fire and changes
    nothing. Exit 1 when an action failed on some ticket (it is not retried).

    Example: supportdesk rules run-automations --dry-run
    """
    from supportdesk.cli.errors import PARTIAL, fail
    from supportdesk.domain.automations import is_automation
    from supportdesk.domain.write import apply_many

    rules = [_find(session, name)] if name else [r for r in _rules(session) if r["active"]]
    automations = [r for r in rules if is_automation(r)]
    if name and not automations:
        fail(f"rule {rules[0]['name']} is not an automation (when: [scheduled])")
    batch = [("automation.run", {"rule_id": r["id"]}) for r in automations]
    outcomes = apply_many(session.workspace(), batch, actor=session.actor(), dry_run=dry_run, source="cli")
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    results = [dict(o.result) for o in outcomes]
    if out.json:
        out.document(results)
    else:
        _report(results, dry_run=dry_run)
    if any(r["failed"] for r in results):
        raise typer.Exit(PARTIAL)


def _report(results: list[dict[str, Any]], *, dry_run: bool) -> None:
    from supportdesk.cli.output import safe

    if not results:
        typer.echo("no active automations (rules with when: [scheduled])")
    would = "would fire" if dry_run else "fired"

    def numbers(items: list[dict[str, Any]]) -> str:
        return ", ".join(f"#{i['number']}" if i.get("number") else str(i["ticket_id"]) for i in items)

    for result in results:
        label = safe(result["name"])
        if result["deferred"]:
            where = "runs on the team server: nothing to preview here" if dry_run else (
                "sent to the team server, which runs it (with the next sync)")  # fmt: skip
            typer.echo(f"{label}: {where}")
            continue
        line = f"{label}: {would} on {len(result['fired'])} ticket(s)"
        if result["fired"]:
            line += f": {numbers(result['fired'])}"
        typer.echo(line)
        for failure in result["failed"]:
            typer.echo(f"{label}: failed on {numbers([failure])}: {safe(failure['error'])}", err=True)
