"""``supportdesk customers …``: one person across channels — show, merge, export, erase.

``customers export REF`` answers a data-access request (everything we hold about one person, as
JSON); ``customers erase REF`` answers an erasure request (see
:mod:`supportdesk.domain.mutations.privacy` for what is erased and what stays).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, LISTING, DryRunOpt, Output, YesOpt
from supportdesk.cli.session import Session
from supportdesk.cli.state import STATE
from supportdesk.cli.wiring import command

app = typer.Typer(help="Customers: show, merge, export, erase.", no_args_is_help=True)

CustomerArg = Annotated[
    str, typer.Argument(metavar="CUSTOMER", help="An email, phone number, handle, exact name or customer id.")
]
LIST_FIELDS = ("id", "name", "organization", "email", "phone", "chat", "social", "locale", "erased_at", "created_at")


def resolve_customer(ref: str) -> str:
    """:func:`supportdesk.cli.refs.customer_id` on the process's session (for ``erase``)."""
    from supportdesk.cli.refs import customer_id

    return customer_id(STATE, ref)


def _live(customer_id: str) -> tuple[str, bool]:
    """:func:`supportdesk.cli.refs.live_customer` on the process's session (for ``erase``)."""
    from supportdesk.cli.refs import live_customer

    return live_customer(STATE, customer_id)


@app.command("show")
@command(DOCUMENT)
def show(
    session: Session,
    out: Output,
    customer: CustomerArg,
    timeline: Annotated[bool, typer.Option("--timeline", help="Every message of theirs, newest first.")] = False,
) -> None:
    """Show a customer: addresses, organization and tickets on every channel.

    Example: supportdesk customers show ana@example.com --timeline
    """
    from supportdesk.cli.output import cell, safe
    from supportdesk.cli.refs import customer_id as find_customer
    from supportdesk.cli.ticket_reads import message_kind
    from supportdesk.store.exports import export_time
    from supportdesk.store.reads import customer_detail, customer_timeline

    customer_id = find_customer(session, customer)
    viewer = session.viewer()  # another group's tickets of this customer are not listed to an agent
    with session.workspace().reading() as connection:
        detail = customer_detail(connection, customer_id, viewer=viewer)
        messages = customer_timeline(connection, customer_id, viewer=viewer) if timeline else []
    assert detail is not None
    row = detail.customer
    document: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "organization": detail.organization,
        "locale": row["locale"],
        "notes": row["notes"],
        "merged_into_id": row["merged_into_id"],
        "erased_at": export_time(row["erased_at"]),
        "created_at": export_time(row["created_at"]),
        "identities": [
            {"kind": i["kind"], "value": i["value"], "primary": bool(i["is_primary"])} for i in detail.identities
        ],
        "tickets": detail.tickets,
    }
    if timeline:
        document["timeline"] = [{**m.as_dict(), "ticket": m.ticket_number} for m in messages]
    if out.json:
        out.document(document)
        return
    shown = safe(document)
    lines = [f"{cell(shown['name'])}  ({shown['id']})"]
    if shown["organization"]:
        lines.append(f"organization {cell(shown['organization'])}")
    if shown["erased_at"]:
        lines.append(f"erased {shown['erased_at']}")
    lines += [f"{i['kind']:<7} {i['value']}{'  (primary)' if i['primary'] else ''}" for i in shown["identities"]]
    if shown["notes"]:
        lines += ["", shown["notes"]]
    lines += ["", f"{len(shown['tickets'])} tickets:"]
    lines += [
        f"  #{t['number'] or '—'}  {t['status']:<8} {t['channel']:<6} {t['updated_at']}  {cell(t['subject'])}"
        for t in shown["tickets"]
    ]
    for message in shown.get("timeline", []):
        kind = message_kind(message)
        lines += [
            "",
            f"── #{message['ticket']} · {message['created_at']} · {message['channel']} · {kind}",
            message["body"],
        ]
    typer.echo("\n".join(lines))


@app.command("merge")
@command()
def merge(
    session: Session,
    source: Annotated[
        str, typer.Argument(metavar="DUPLICATE", help="The duplicate record (its addresses and tickets move).")
    ],
    target: Annotated[str, typer.Argument(metavar="CUSTOMER", help="The record that stays.")],
) -> None:
    """Merge two records of the same person: addresses, tickets and messages move to the target.

    Example: supportdesk customers merge ana.old@example.com ana@example.com
    """
    from supportdesk.cli import refs
    from supportdesk.cli.errors import fail
    from supportdesk.cli.writes import apply_one

    source_id, target_id = refs.customer_id(session, source), refs.customer_id(session, target)
    live_source, merged = refs.live_customer(session, source_id)
    live_target, _ = refs.live_customer(session, target_id)
    if merged and live_source == live_target:
        typer.echo(f"{source} is already merged into {target}")
        return
    if source_id == live_target:
        fail("a customer cannot be merged into itself")
    outcome = apply_one(session, "customer.merge", {"source_id": source_id, "target_id": target_id})
    moved = outcome.result["moved"]
    typer.echo(
        f"merged into {outcome.result['customer_id']}: {moved['identity']} addresses, {moved['ticket']} tickets, "
        f"{moved['message']} messages moved"
    )


@app.command("export")
@command(LISTING)
def export(
    session: Session,
    out: Output,
    customer: Annotated[
        str | None,
        typer.Argument(
            metavar="[CUSTOMER]",
            help="One customer: everything held about them, as JSON. Leave out to list all.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export one customer's data (a data-access request) or list every customer (JSONL unless
    another format is asked for).

    Example: supportdesk customers export ana@example.com > ana.json
    """
    from dataclasses import replace

    from supportdesk.cli.formats import Format
    from supportdesk.cli.refs import customer_id

    if customer is not None:
        out.document(_person_document(session, customer_id(session, customer)))
        return
    if out.table:
        out = replace(out, format=Format.JSONL)
    out.records(_all_customers(session), out.columns(LIST_FIELDS))


def _person_document(session: Session, customer_id: str) -> dict[str, Any]:
    from supportdesk.store.exports import customer_records, customer_ticket_ids, ticket_records

    with session.workspace().reading() as connection:
        person = customer_records(connection, [customer_id])[customer_id]
        merged = [
            row[0] for row in connection.execute("SELECT id FROM customer WHERE merged_into_id = ?", (customer_id,))
        ]
        tickets = ticket_records(connection, customer_ticket_ids(connection, customer_id))
    for record in tickets:
        record.pop("customers", None)
    return {"customer": person, "merged_records": merged, "tickets": tickets}


def _all_customers(session: Session) -> Any:
    from supportdesk.store.exports import export_time

    with session.workspace().reading() as connection:
        after = 0
        while True:
            rows = connection.execute(
                "SELECT c.rowid, c.*, o.name AS organization_name, "
                "(SELECT json_group_array(json_array(i.kind, i.value)) FROM identity i WHERE i.customer_id = c.id) "
                "AS addresses FROM customer c LEFT JOIN organization o ON o.id = c.organization_id "
                "WHERE c.rowid > ? ORDER BY c.rowid LIMIT 500",
                (after,),
            ).fetchall()
            for row in rows:
                record: dict[str, Any] = {
                    "id": row["id"],
                    "name": row["name"],
                    "organization": row["organization_name"],
                    "locale": row["locale"],
                    "erased_at": export_time(row["erased_at"]),
                    "created_at": export_time(row["created_at"]),
                    "email": [],
                    "phone": [],
                    "chat": [],
                    "social": [],
                }
                for kind, value in json.loads(row["addresses"] or "[]"):
                    record[kind].append(value)
                yield record
            if len(rows) < 500:
                return
            after = rows[-1][0]


@app.command("erase")
def erase(
    customer: CustomerArg,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Erase a customer's personal data everywhere (a privacy request); ticket statistics stay.

    Their name, notes and addresses go, and so do the subjects, messages and attachments of
    their tickets; numbers, statuses, times and tags stay. Asks first unless --yes.

    Example: supportdesk customers erase ana@example.com --yes
    """
    from supportdesk.cli.confirm import confirm
    from supportdesk.cli.errors import print_warning
    from supportdesk.cli.writes import apply_one
    from supportdesk.domain.mutations.privacy import finish_erase
    from supportdesk.domain.write import apply

    customer_id, _ = _live(resolve_customer(customer))
    with STATE.workspace().reading() as connection:
        erased_at = connection.execute("SELECT erased_at FROM customer WHERE id = ?", (customer_id,)).fetchone()[0]
    if erased_at is not None:
        typer.echo(f"{customer_id} was already erased")
        return
    preview = apply(
        STATE.workspace(), "customer.erase", {"customer_id": customer_id}, actor=STATE.actor(), dry_run=True
    )
    counts = _counts(preview.result)
    if dry_run:
        typer.echo(f"would erase {customer_id}: {counts}")
        return
    confirm(f"Erase every personal detail of {customer_id} ({counts})? This cannot be undone.", yes=yes)
    outcome = apply_one(STATE, "customer.erase", {"customer_id": customer_id})
    if not finish_erase(STATE.workspace(), outcome.result.get("files", [])):
        print_warning("a reader kept the write-ahead log from being folded in; it is folded at the next checkpoint")
    if outcome.result.get("unsent"):
        print_warning(
            f"{outcome.result['unsent']} changes not yet synced still carry this customer's data until the next sync"
        )
    typer.echo(f"erased {customer_id}: {_counts(outcome.result)}")


def _counts(result: dict[str, Any]) -> str:
    return (
        f"{result['tickets']} tickets, {result['messages']} messages, {result['identities']} addresses, "
        f"{result['attachments']} attachments"
    )
