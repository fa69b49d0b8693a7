"""``supportdesk sla …``: SLA policies and business-hours calendars (YAML), a ticket's clocks,
and rebuilding every ticket's clocks from the audit trail."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, Output, TicketArg
from supportdesk.cli.server import DbOpt
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(help="SLA policies, business hours and each ticket's clocks.", no_args_is_help=True)

POLICY_FIELDS = (
    "name",
    "priority",
    "group",
    "calendar",
    "first_reply_minutes",
    "next_reply_minutes",
    "resolution_minutes",
)


def _current(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with session.workspace().reading() as connection:
        calendars = [
            {"id": r[0], "name": r[1], "timezone": r[2], "hours": json.loads(r[3]), "holidays": json.loads(r[4])}
            for r in connection.execute("SELECT id, name, timezone, hours, holidays FROM sla_calendar ORDER BY name")
        ]
        policies = [
            dict(r)
            for r in connection.execute(
                "SELECT p.id, p.name, p.priority, g.name AS 'group', c.name AS calendar, p.first_reply_minutes, "
                "p.next_reply_minutes, p.resolution_minutes FROM sla_policy p "
                "LEFT JOIN groups g ON g.id = p.group_id LEFT JOIN sla_calendar c ON c.id = p.calendar_id "
                "ORDER BY CASE p.priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 ELSE 4 END, "
                "p.group_id IS NOT NULL, p.name"
            )
        ]
    return calendars, policies


@app.command("list")
@command(LISTING)
def list_policies(session: Session, out: Output) -> None:
    """List the SLA policies (targets in working minutes; --json: calendars and policies whole).

    Example: supportdesk sla list
    """
    calendars, policies = _current(session)
    if out.json and not out.fields:
        out.document({"calendars": calendars, "policies": policies})
        return
    chosen = out.columns((*POLICY_FIELDS, "id"), default=POLICY_FIELDS)
    for policy in policies:
        policy["calendar"] = policy["calendar"] or "round the clock"
        policy["group"] = policy["group"] or "any"
    out.records(policies, chosen)


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
    """Write calendars and policies as YAML (the input of ``sla import``).

    Example: supportdesk sla export -o sla.yaml
    """
    from supportdesk.cli import yamlio

    calendars, policies = _current(session)
    document = {
        "calendars": [{k: v for k, v in c.items() if k != "id"} for c in calendars],
        "policies": [{k: v for k, v in p.items() if k != "id" and v is not None} for p in policies],
    }
    yamlio.write(yamlio.dump(document), output)


@app.command("import")
@command()
def import_policies(
    session: Session,
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="A YAML file ('-' for stdin) with calendars: and policies:.")
    ],
) -> None:
    """Create calendars and policies from YAML, replacing those of the same name.

    Example: supportdesk sla import sla.yaml
    """
    from supportdesk.cli import yamlio
    from supportdesk.cli.errors import NOT_FOUND, PARTIAL, exit_code_for, fail, print_error
    from supportdesk.domain.write import apply_many
    from supportdesk.store.ids import uuid7

    data = yamlio.load(path)
    if not isinstance(data, dict) or not set(data) <= {"calendars", "policies"}:
        fail(f"{path}: expected a mapping with calendars: and policies:")
    calendars, policies = _current(session)
    calendar_ids = {c["name"].lower(): c["id"] for c in calendars}
    policy_ids = {p["name"].lower(): p["id"] for p in policies}
    with session.workspace().reading() as connection:
        group_ids = {r[1].lower(): r[0] for r in connection.execute("SELECT id, name FROM groups")}
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in data.get("calendars") or []:
        if not isinstance(item, dict):
            fail(f"{path}: each calendar is a mapping (name, timezone, hours, holidays)")
        known = calendar_ids.get(str(item.get("name", "")).lower())
        if known:
            batch.append(("sla.calendar.update", {"calendar_id": known, **item}))
        else:
            calendar_ids[str(item.get("name", "")).lower()] = new_id = uuid7()
            batch.append(("sla.calendar.create", {"calendar_id": new_id, **item}))
    for item in data.get("policies") or []:
        if not isinstance(item, dict):
            fail(f"{path}: each policy is a mapping ({', '.join(POLICY_FIELDS)})")
        args = {k: v for k, v in item.items() if k not in ("group", "calendar")}
        for key, names, label in (("group", group_ids, "group"), ("calendar", calendar_ids, "calendar")):
            value = item.get(key)
            if value in (None, "any", "round the clock"):
                args[f"{key}_id"] = None
            elif str(value).lower() in names:
                args[f"{key}_id"] = names[str(value).lower()]
            else:
                fail(f"{path}: policy {item.get('name')}: no {label} called {value}", NOT_FOUND)
        known = policy_ids.get(str(item.get("name", "")).lower())
        batch.append(("sla.policy.update", {"policy_id": known, **args}) if known else ("sla.policy.create", args))
    outcomes = apply_many(session.workspace(), batch, actor=session.actor())
    errors = []
    for (name, args), outcome in zip(batch, outcomes, strict=True):
        if outcome.error is not None:
            errors.append(outcome.error)
            print_error(str(outcome.error))
            continue
        what = "calendar" if ".calendar." in name else "policy"
        verb = "created" if name.endswith("create") else "updated"
        typer.echo(f"{verb} {what}: {args.get('name') or '(unchanged name)'}")
    if errors:
        raise typer.Exit(PARTIAL if len(errors) < len(batch) else exit_code_for(errors[0]))


@app.command("show")
@command(DOCUMENT)
def show(session: Session, out: Output, ticket: TicketArg) -> None:
    """Show every SLA clock of a ticket: target, working time used, what is left, deadline.

    Example: supportdesk sla show 1042
    """
    from supportdesk.cli.formats import Format
    from supportdesk.cli.output import emit_records
    from supportdesk.cli.refs import visible_ticket_id
    from supportdesk.domain.timing import clock_views
    from supportdesk.store.times import utcnow

    found = visible_ticket_id(session, ticket)
    with session.workspace().reading() as connection:
        views = [view.as_dict() for view in clock_views(connection, found, utcnow())]
    if out.json:
        out.document(views)
        return
    if not views:
        typer.echo("no SLA policy applies to this ticket")
        return
    fields = ["metric", "state", "target_minutes", "elapsed_minutes", "remaining_minutes", "deadline", "breached_at"]
    emit_records(views, fields, Format.TABLE, stream=out.stream)


@app.command("rebuild")
@command()
def rebuild(session: Session, db: DbOpt = None) -> None:
    """Recompute every ticket's clocks and report facts from the audit trail.

    Needed once after upgrading a workspace or a team server made before SLAs existed, or after
    a bulk import. With --db it rebuilds a team server's database (the rows that change reach
    every synced workspace with its next pull); a workspace that follows a server takes the
    server's clocks and refuses.

    Example: supportdesk sla rebuild --db postgresql://support@localhost/supportdesk
    """
    import time

    started = time.perf_counter()
    count = _rebuild_server(db) if db else _rebuild_workspace(session)
    typer.echo(f"rebuilt the clocks of {count:,} tickets in {time.perf_counter() - started:.1f}s")


def _rebuild_workspace(session: Session) -> int:
    from supportdesk.cli.errors import fail
    from supportdesk.domain.timing import rebuild as rebuild_all

    with session.workspace().writing() as connection:
        server = connection.execute("SELECT server_url FROM sync_state WHERE id = 1").fetchone()
        if server and server[0]:
            fail(f"this workspace follows {server[0]} and takes its clocks from it: rebuild the server's (--db)")
        return rebuild_all(connection)


def _rebuild_server(db: str) -> int:
    """Rebuild a server's tickets through its write path, a thousand tickets a transaction."""
    from sqlalchemy import text

    from supportdesk.cli.server import _database
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    database = _database(db)
    try:
        with database.engine.connect() as connection:
            ticket_ids = [row[0] for row in connection.execute(text("SELECT id FROM ticket ORDER BY id"))]
        for start in range(0, len(ticket_ids), 1000):
            apply_as(database, SYSTEM, "sla.rebuild", {"ticket_ids": ticket_ids[start : start + 1000]})
    finally:
        database.dispose()
    return len(ticket_ids)
