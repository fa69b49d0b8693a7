"""A customer's request to be forgotten: ``customer.erase``.

What counts as the customer's personal data, and so leaves every table:

- the customer record's name, notes and organization, and the same for every record merged
  into it (the same person under another address);
- every address (email, phone, chat and social handles): the identity rows are deleted;
- the text of their tickets: each ticket's subject and custom fields, and the body, channel
  metadata (mail headers, phone numbers) and attachments of every message on those tickets —
  the agents' replies and notes too, since they speak to and about the person;
- the body and metadata of any message they wrote on someone else's ticket;
- composer drafts on their tickets;
- the comments they left in satisfaction surveys (the ratings stay);
- earlier audit values that held any of it (old names, old subjects, notes).

What stays, anonymised: the customer row itself (so counts per customer still add up), every
ticket with its number, status, priority, type, channel, group, assignee, tags and times, and
every message with its direction, author kind, channel and time — so reports on volumes,
response and resolution times do not change. The audit records that the erasure happened and
how much it touched, never what was erased.

Writes go straight to the tables (never through :meth:`Tx.update`, which would copy the old
values into the audit); the search index follows through its triggers and is then merged so
that not even deleted entries keep the old words. Attachment bytes live outside the database,
stored by hash: the result names the files no other message uses, for whoever keeps them (the
CLI deletes them from the workspace).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.tx import Touched, Tx, table

ERASED_NAME = "Erased customer"
ERASED_TEXT = "(erased)"
#: Audit fields whose values are personal text on a customer or ticket.
_PERSONAL_AUDIT_FIELDS = ("name", "notes", "subject", "fields", "locale", "organization_id")


class EraseCustomer(Args):
    customer_id: str


def _person_records(tx: Tx, customer_id: str) -> list[str]:
    """The customer and every record merged into them, at any depth."""
    customers = table("customer")
    found = [customer_id]
    frontier = [customer_id]
    while frontier:
        rows = tx.connection.execute(select(customers.c.id).where(customers.c.merged_into_id.in_(frontier))).all()
        frontier = [row[0] for row in rows if row[0] not in found]
        found.extend(frontier)
    return found


def _ids(tx: Tx, statement: Any) -> list[str]:
    return [row[0] for row in tx.connection.execute(statement)]


def _touch_all(tx: Tx, table_name: str, ids: list[str], op: str) -> None:
    tx.touched.extend(Touched(table_name, (row_id,), op) for row_id in ids)


def _scrub_audit(tx: Tx, people: list[str], tickets: list[str], words: list[str]) -> int:
    """Blank earlier audit values that held the person's data; returns how many were blanked."""
    audit = table("audit_event")
    subjects = [(audit.c.entity == "customer") & audit.c.entity_id.in_(people)]
    if tickets:
        subjects.append((audit.c.entity == "ticket") & audit.c.entity_id.in_(tickets))
    rows = tx.connection.execute(
        select(audit.c.id, audit.c.field, audit.c.before, audit.c.after).where(or_(*subjects))
    ).all()
    lowered = [w.lower() for w in words if w]
    blanked = 0
    for row_id, field, before, after in rows:
        values = {"before": before, "after": after}
        for key, value in values.items():
            personal = field in _PERSONAL_AUDIT_FIELDS or any(w in str(value).lower() for w in lowered)
            if value is not None and personal:
                values[key] = ERASED_TEXT
        if values != {"before": before, "after": after}:
            tx.connection.execute(update(audit).where(audit.c.id == row_id).values(**values))
            blanked += 1
    return blanked


@mutation("customer.erase", EraseCustomer, roles=ADMINS)
def erase(tx: Tx, args: EraseCustomer) -> dict[str, Any]:
    """Erase a customer's personal data everywhere, keeping anonymised ticket statistics."""
    customer = tx.require("customer", args.customer_id, field="customer_id")
    if customer["merged_into_id"]:
        raise ValidationFailed(
            f"{customer['name']} was merged into another record: erase that one instead", field="customer_id"
        )
    sqlite = tx.connection.dialect.name == "sqlite"
    if sqlite:
        # Freed pages are overwritten with zeros, so the old text does not linger in the file.
        secure_before = tx.connection.exec_driver_sql("PRAGMA secure_delete").scalar()
        tx.connection.exec_driver_sql("PRAGMA secure_delete=ON")
    people = _person_records(tx, customer["id"])
    customers, identities, tickets, messages = (table(n) for n in ("customer", "identity", "ticket", "message"))
    words = [row[0] for row in tx.connection.execute(select(customers.c.name).where(customers.c.id.in_(people)))]
    words += _ids(tx, select(identities.c.value).where(identities.c.customer_id.in_(people)))

    ticket_ids = _ids(tx, select(tickets.c.id).where(tickets.c.requester_id.in_(people)))
    message_ids = _ids(
        tx,
        select(messages.c.id).where(
            or_(messages.c.ticket_id.in_(ticket_ids), messages.c.author_customer_id.in_(people))
        ),
    )
    identity_ids = _ids(tx, select(identities.c.id).where(identities.c.customer_id.in_(people)))

    attachments = table("attachment")
    attachment_rows = tx.connection.execute(
        select(attachments.c.id, attachments.c.sha256).where(attachments.c.message_id.in_(message_ids))
    ).all()
    attachment_ids = [row[0] for row in attachment_rows]
    tx.connection.execute(delete(attachments).where(attachments.c.id.in_(attachment_ids)))
    still_used = set(
        _ids(tx, select(attachments.c.sha256).where(attachments.c.sha256.in_({row[1] for row in attachment_rows})))
    )
    _touch_all(tx, "attachment", attachment_ids, "delete")
    tx.connection.execute(delete(identities).where(identities.c.id.in_(identity_ids)))
    _touch_all(tx, "identity", identity_ids, "delete")
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start : start + 500]
        tx.connection.execute(update(messages).where(messages.c.id.in_(chunk)).values(body=ERASED_TEXT, meta={}))
    _touch_all(tx, "message", message_ids, "update")
    surveys = table("survey")
    survey_ids = _ids(tx, select(surveys.c.id).where(surveys.c.ticket_id.in_(ticket_ids), surveys.c.comment != ""))
    if survey_ids:
        tx.connection.execute(update(surveys).where(surveys.c.id.in_(survey_ids)).values(comment=ERASED_TEXT))
    _touch_all(tx, "survey", survey_ids, "update")
    if ticket_ids:
        tx.connection.execute(
            update(tickets).where(tickets.c.id.in_(ticket_ids)).values(subject=ERASED_TEXT, fields={})
        )
        _touch_all(tx, "ticket", ticket_ids, "update")
        drafts = table("draft")
        tx.connection.execute(delete(drafts).where(drafts.c.ticket_id.in_(ticket_ids)))
    tx.connection.execute(
        update(customers)
        .where(customers.c.id.in_(people))
        .values(name=ERASED_NAME, notes="", organization_id=None, erased_at=tx.now, updated_at=tx.now)
    )
    _touch_all(tx, "customer", people, "update")
    blanked = _scrub_audit(tx, people, ticket_ids, words)
    if sqlite:
        # Deleted index entries keep their words until segments merge: merge them now.
        for index in ("ticket_fts", "customer_fts"):
            tx.connection.exec_driver_sql(f"INSERT INTO {index}({index}) VALUES ('optimize')")
        tx.connection.exec_driver_sql(f"PRAGMA secure_delete={int(secure_before or 0)}")
    counts = {
        "records": len(people),
        "identities": len(identity_ids),
        "tickets": len(ticket_ids),
        "messages": len(message_ids),
        "attachments": len(attachment_ids),
        "audit_values": blanked,
    }
    tx.audit("customer", customer["id"], "erased", None, counts)
    # The stored files no other message refers to: whoever keeps the bytes removes them.
    files = sorted({row[1] for row in attachment_rows} - still_used)
    return {"customer_id": customer["id"], **counts, "files": files}
