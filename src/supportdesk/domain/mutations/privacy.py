"""A customer's request to be forgotten: ``customer.erase``, and the rule that keeps them forgotten.

What counts as the customer's personal data, and so leaves every table:

- the customer record's name, notes and organization, and the same for every record merged
  into it (the same person under another address);
- every address (email, phone, chat and social handles): the identity rows are deleted;
- the text of their tickets: each ticket's subject and custom fields, and the body, channel
  metadata (mail headers, phone numbers) and attachments of every message on those tickets —
  the agents' replies and notes too, since they speak to and about the person;
- the body and metadata of any message they wrote on someone else's ticket;
- the comments they left in satisfaction surveys (the ratings stay);
- what the store keeps beside the shared rows: composer drafts on their tickets, earlier audit
  values that held any of it (old names, old subjects, notes), the channels' own records of
  those tickets and messages (outside Message-IDs and raw references, conversations, rendered
  mails queued or sent, the auto-reply counts of their addresses) and, on a workspace that
  follows no server, the outbox entries about them (such an outbox is never pushed).

What stays, anonymised: the customer row itself (so counts per customer still add up), every
ticket with its number, status, priority, type, channel, group, assignee, tags and times, and
every message with its direction, author kind, channel and time — so reports on volumes,
response and resolution times do not change. The audit records that the erasure happened and
how much it touched, never what was erased.

Writes go straight to the tables (never through :meth:`Tx.update`, which would copy the old
values into the audit). The search index follows through its triggers and is then merged so that
not even deleted entries keep the old words; SQLite zeroes the space freed rows leave
(``secure_delete``, :mod:`supportdesk.store.engine`). Beyond this transaction, the erasure is a
protocol event: the server rewrites the change-log records it already handed out and appends a
tombstone (:mod:`supportdesk.server.changes`), every replica forgets the person on its next pull
(:mod:`supportdesk.sync.erasure`), and after the commit :func:`finish_erase` removes the attachment
files no row names any more and folds the write-ahead log into the file.

:func:`keep_erased` keeps the person forgotten: text written later to one of their tickets — a
reply from an agent whose copy had not heard of the erasure yet — is stored as "(erased)" too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import LargeBinary, String, bindparam, cast, delete, func, or_, select, update
from sqlalchemy import text as sql_text

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.tx import Touched, Tx, table
from supportdesk.store import fts
from supportdesk.store.blobs import named_hashes, still_named

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.elements import ColumnElement

    from supportdesk.store.workspace import Workspace

ERASE = "customer.erase"
ERASED_NAME = "Erased customer"
ERASED_TEXT = "(erased)"

#: The personal columns of the rows an erasure keeps, and what they become. The tables, the
#: server's rewrite of its change log and the replicas all apply this one definition.
ANONYMISED: dict[str, dict[str, Any]] = {
    "customer": {"name": ERASED_NAME, "notes": "", "organization_id": None},
    "ticket": {"subject": ERASED_TEXT, "fields": {}},
    "message": {"body": ERASED_TEXT, "meta": {}},
    "survey": {"comment": ERASED_TEXT},
}
#: Rows an erasure deletes outright: the addresses, and the attachments' names and hashes.
DELETED = ("identity", "attachment")
#: Audit fields whose values are personal text on a customer, ticket, message or address.
_PERSONAL_AUDIT_FIELDS = frozenset(
    ("name", "notes", "subject", "fields", "locale", "organization_id", "body", "meta", "comment", "value")
)
_CHUNK = 500


class EraseCustomer(Args):
    customer_id: str


def anonymised_row(table_name: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (a wire row of ``table_name``) with its personal columns erased."""
    erased = ANONYMISED.get(table_name)
    if not erased:
        return row
    out = dict(row)
    for column, value in erased.items():
        if column in out and (table_name != "survey" or out[column]):
            out[column] = value
    return out


@dataclass
class Person:
    """Everything one store holds of a person an erasure reaches, found before it writes."""

    customer_id: str
    records: list[str]
    names: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    attachments: list[tuple[str, str]] = field(default_factory=list)
    surveys: list[str] = field(default_factory=list)
    #: Files named only by the drafts an erasure deleted (a workspace's; :func:`forget_locally`).
    draft_files: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        """Their names and addresses, lower-cased, and the parts of them that name the person on
        their own (each word of a name, the part of an email address before the @, a handle),
        four characters or more: personal wherever they appear."""
        found: set[str] = set()
        for name in self.names:
            if name and name != ERASED_NAME:
                found.add(name.lower())
                found.update(part for part in re.split(r"\W+", name.lower()) if len(part) >= 4)
        for address in self.addresses:
            lowered = address.lower()
            found.add(lowered)
            if ":" in lowered:  # a social handle, network:@handle
                own = lowered.split(":", 1)[1].lstrip("@")
            else:  # an email's part before the @ (the domain is everyone's)
                own = lowered.split("@", 1)[0] if "@" in lowered else ""
            if len(own) >= 4:
                found.add(own)
        return sorted(w for w in found if w)

    @property
    def hashes(self) -> set[str]:
        return {sha256 for _, sha256 in self.attachments} | set(self.draft_files)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _column(connection: Connection, statement: Any) -> list[Any]:
    return [row[0] for row in connection.execute(statement)]


def _where_in(connection: Connection, build: Any, values: Sequence[str]) -> list[Any]:
    """Rows of ``build(chunk)`` over ``values`` in chunks (a person may have thousands of rows)."""
    found: list[Any] = []
    for chunk in _chunks(values):
        found.extend(connection.execute(build(chunk)).all())
    return found


def person_records(connection: Connection, customer_id: str) -> list[str]:
    """The customer and every record merged into them, at any depth."""
    customers = table("customer")
    found = [customer_id]
    frontier = [customer_id]
    while frontier:
        rows = _column(connection, select(customers.c.id).where(customers.c.merged_into_id.in_(frontier)))
        frontier = [row for row in rows if row not in found]
        found.extend(frontier)
    return found


def find_person(connection: Connection, customer_id: str, records: Iterable[str] = ()) -> Person:
    """What this store holds of the person: their records (``records`` adds ones a tombstone
    names), names, addresses, tickets, the messages on them or by them, attachments, surveys."""
    people = person_records(connection, customer_id)
    people += [r for r in records if r not in people]
    customers, identities, tickets, messages = (table(n) for n in ("customer", "identity", "ticket", "message"))
    attachments, surveys = table("attachment"), table("survey")
    person = Person(customer_id, people)
    person.names = [
        row[0] for row in _where_in(connection, lambda c: select(customers.c.name).where(customers.c.id.in_(c)), people)
    ]
    for identity_id, value in _where_in(
        connection, lambda c: select(identities.c.id, identities.c.value).where(identities.c.customer_id.in_(c)), people
    ):
        person.identities.append(identity_id)
        person.addresses.append(value)
    person.tickets = [
        row[0]
        for row in _where_in(connection, lambda c: select(tickets.c.id).where(tickets.c.requester_id.in_(c)), people)
    ]
    on_tickets = _where_in(
        connection, lambda c: select(messages.c.id).where(messages.c.ticket_id.in_(c)), person.tickets
    )
    by_them = _where_in(connection, lambda c: select(messages.c.id).where(messages.c.author_customer_id.in_(c)), people)
    person.messages = list(dict.fromkeys(row[0] for row in (*on_tickets, *by_them)))
    person.attachments = [
        (row[0], row[1])
        for row in _where_in(
            connection,
            lambda c: select(attachments.c.id, attachments.c.sha256).where(attachments.c.message_id.in_(c)),
            person.messages,
        )
    ]
    person.surveys = [
        row[0]
        for row in _where_in(
            connection,
            lambda c: select(surveys.c.id).where(surveys.c.ticket_id.in_(c), surveys.c.comment != ""),
            person.tickets,
        )
    ]
    return person


# --- the mutation ---------------------------------------------------------------------------------


@mutation(ERASE, EraseCustomer, roles=ADMINS)
def erase(tx: Tx, args: EraseCustomer) -> dict[str, Any]:
    """Erase a customer's personal data everywhere, keeping anonymised ticket statistics."""
    customer = tx.require("customer", args.customer_id, field="customer_id")
    if customer["merged_into_id"]:
        raise ValidationFailed(
            f"customer {customer['id']} was merged into {customer['merged_into_id']}: erase that one instead",
            field="customer_id",
        )
    person = find_person(tx.connection, customer["id"])
    _erase_rows(tx, person)
    channel_records = forget_channel_records(tx.connection, person)
    unsent = _outbox_about(tx, person)
    blanked = forget_locally(tx.connection, person, merge_index=tx.context.mutation_ref != "dry-run")
    outcomes = scrub_stored_results(tx.connection, person)
    counts = {
        "records": len(person.records),
        "identities": len(person.identities),
        "tickets": len(person.tickets),
        "messages": len(person.messages),
        "attachments": len(person.attachments),
        "audit_values": blanked,
        "channel_records": channel_records,
        "stored_outcomes": outcomes,
    }
    tx.audit("customer", customer["id"], "erased", None, counts)
    # The stored files no other message refers to: removed after the commit (finish_erase).
    return {
        "customer_id": customer["id"],
        **counts,
        "files": sorted(unused_hashes(tx.connection, person.hashes)),
        "unsent": unsent,
    }


def _touch_all(tx: Tx, table_name: str, ids: Iterable[str], op: str) -> None:
    tx.touched.extend(Touched(table_name, (row_id,), op) for row_id in ids)


def _erase_rows(tx: Tx, person: Person) -> None:
    """Delete the addresses and attachments; anonymise messages, surveys, tickets and records."""
    connection = tx.connection
    attachments, identities = table("attachment"), table("identity")
    for chunk in _chunks([row[0] for row in person.attachments]):
        connection.execute(delete(attachments).where(attachments.c.id.in_(chunk)))
    _touch_all(tx, "attachment", (row[0] for row in person.attachments), "delete")
    for chunk in _chunks(person.identities):
        connection.execute(delete(identities).where(identities.c.id.in_(chunk)))
    _touch_all(tx, "identity", person.identities, "delete")
    targets = (
        ("message", person.messages),
        ("survey", person.surveys),
        ("ticket", person.tickets),
    )
    for table_name, ids in targets:
        rows = table(table_name)
        for chunk in _chunks(ids):
            connection.execute(update(rows).where(rows.c.id.in_(chunk)).values(**ANONYMISED[table_name]))
        _touch_all(tx, table_name, ids, "update")
    customers = table("customer")
    for chunk in _chunks(person.records):
        connection.execute(
            update(customers)
            .where(customers.c.id.in_(chunk))
            .values(**ANONYMISED["customer"], erased_at=tx.now, updated_at=tx.now)
        )
    _touch_all(tx, "customer", person.records, "update")


def unused_hashes(connection: Connection, hashes: Iterable[str]) -> set[str]:
    """Those of ``hashes`` that no attachment row names (their files can go)."""
    wanted = sorted(set(hashes))
    attachments = table("attachment")
    used = {
        row[0]
        for row in _where_in(
            connection, lambda c: select(attachments.c.sha256).where(attachments.c.sha256.in_(c)), wanted
        )
    }
    return set(wanted) - used


# --- beyond the shared rows -----------------------------------------------------------------------


def forget_channel_records(connection: Connection, person: Person) -> int:
    """Delete the channels' own records of the person's tickets, messages and addresses; returns
    how many rows went.

    Outside Message-IDs and chat line ids (and the sender address they are scoped by), the
    conversations that thread a chat to a ticket, rendered mails and webhook bodies in the outbox
    (queued ones are never sent: the person is gone), and the auto-reply counts of their
    addresses. A mail answering an old thread afterwards starts a new ticket.
    """
    refs, conversations = table("channel_message_ref"), table("channel_conversation")
    outbox, autoreplies = table("channel_outbox"), table("channel_autoreply")
    addresses = sorted({*person.addresses, *(a.lower() for a in person.addresses)})
    statements: list[Any] = []
    for chunk in _chunks(person.tickets):
        statements += [
            delete(refs).where(refs.c.ticket_id.in_(chunk)),
            delete(conversations).where(conversations.c.ticket_id.in_(chunk)),
            delete(outbox).where(outbox.c.ticket_id.in_(chunk)),
        ]
    for chunk in _chunks(person.messages):
        statements += [
            delete(refs).where(refs.c.message_id.in_(chunk)),
            delete(outbox).where(outbox.c.message_id.in_(chunk)),
        ]
    for chunk in _chunks(addresses):
        statements += [
            delete(refs).where(refs.c.channel == "email", refs.c.scope.in_(chunk)),
            delete(outbox).where(outbox.c.recipient.in_(chunk)),
            delete(autoreplies).where(autoreplies.c.address.in_(chunk)),
        ]
    return sum(max(connection.execute(statement).rowcount, 0) for statement in statements)


def _about(args_json: str, person: Person, ids: set[str]) -> bool:
    text = json.dumps(json.loads(args_json), ensure_ascii=False).lower()
    return any(i in text for i in ids) or any(w in text for w in person.words)


def _outbox_about(tx: Tx, person: Person) -> int:
    """Outbox entries (other than this erasure's own) that hold the person's data.

    On a workspace that follows no server its outbox is never pushed: they are deleted and 0 is
    returned. On a synced workspace the entries not yet pushed still have to reach the server
    (which keeps none of their text: :func:`keep_erased`); their number is returned, so the
    agent hears that this copy holds them until the next sync.
    """
    context = tx.context
    if context.mode != "local":
        return 0
    own = int(context.mutation_ref.split(":", 1)[1]) if context.mutation_ref.startswith("local:") else 0
    ids = {i.lower() for i in (*person.records, *person.tickets, *person.messages)}
    outbox = table("outbox")
    if context.authority:
        about = [
            entry_id
            for entry_id, args in tx.connection.execute(select(outbox.c.id, outbox.c.args).where(outbox.c.id != own))
            if _about(args if isinstance(args, str) else json.dumps(args), person, ids)
        ]
        for chunk in _chunks(about):
            tx.connection.execute(delete(outbox).where(outbox.c.id.in_(chunk)))
            tx.connection.execute(delete(table("outbox_touched")).where(table("outbox_touched").c.outbox_id.in_(chunk)))
        return 0
    acked = tx.connection.execute(select(table("sync_state").c.last_acked_mutation_id)).scalar() or 0
    pending = tx.connection.execute(
        select(outbox.c.id, outbox.c.args).where(outbox.c.id > acked, outbox.c.id != own)
    ).all()
    return sum(1 for _, args in pending if _about(args if isinstance(args, str) else json.dumps(args), person, ids))


def forget_locally(connection: Connection, person: Person, *, merge_index: bool = True) -> int:
    """What one store keeps beside the shared rows: drop the drafts on the person's tickets,
    blank earlier audit values that held their data, merge the search index. Returns how many
    audit events were blanked. Run by the mutation and, on a pulled tombstone, by every replica.
    """
    drafts = table("draft")
    requester = func.json_extract(drafts.c.state, "$.requester_id")
    # drafts live in workspaces only; a refused one kept after its ticket left names its requester
    on_theirs: list[tuple[ColumnElement[Any], Sequence[str]]] = [(drafts.c.ticket_id, person.tickets)]
    if connection.dialect.name == "sqlite":
        on_theirs.append((requester, person.records))
    staged: set[str] = set()
    # the states as bytes (not SQLAlchemy's JSON, which raises on a malformed one, nor text, which
    # the driver refuses when it is not UTF-8), decoded with replacement: named_hashes parses
    state_text = cast(drafts.c.state, LargeBinary)
    for column, values in on_theirs:
        for chunk in _chunks(values):
            if connection.dialect.name == "sqlite":
                for (state,) in connection.execute(select(state_text).where(column.in_(chunk))):
                    staged.update(named_hashes(bytes(state)) if state else ())
            connection.execute(delete(drafts).where(column.in_(chunk)))
    if staged:
        raw = connection.connection.driver_connection  # the sqlite3 connection, same transaction: drafts gone
        assert raw is not None
        person.draft_files = sorted(staged - still_named(raw, staged))
    blanked = scrub_audit(connection, person)
    if merge_index and connection.dialect.name == "sqlite":
        indexes = ("ticket_fts", "customer_fts") if person.tickets else ("customer_fts",)
        for statement in fts.merge_statements(indexes):
            connection.exec_driver_sql(statement)
    return blanked


def scrub_audit(connection: Connection, person: Person) -> int:
    """Blank earlier audit values that held the person's data; returns how many were blanked."""
    audit = table("audit_event")
    subjects = {
        "customer": person.records,
        "ticket": person.tickets,
        "message": person.messages,
        "identity": person.identities,
        "survey": person.surveys,
    }
    lowered = person.words
    blanked = 0
    for entity, ids in subjects.items():
        for chunk in _chunks(ids):
            rows = connection.execute(
                select(audit.c.id, audit.c.field, audit.c.before, audit.c.after).where(
                    audit.c.entity == entity, audit.c.entity_id.in_(chunk)
                )
            ).all()
            for row_id, field_name, before, after in rows:
                values = {"before": before, "after": after}
                for key, value in values.items():
                    text = json.dumps(value, ensure_ascii=False).lower() if value is not None else ""
                    if value is not None and (field_name in _PERSONAL_AUDIT_FIELDS or any(w in text for w in lowered)):
                        values[key] = ERASED_TEXT
                if values != {"before": before, "after": after}:
                    connection.execute(update(audit).where(audit.c.id == row_id).values(**values))
                    blanked += 1
    return blanked


def _blank_strings(value: Any, words: Sequence[str]) -> Any:
    """``value`` (a JSON value) with every string that holds one of ``words`` made "(erased)"."""
    if isinstance(value, str):
        return ERASED_TEXT if any(w in value.lower() for w in words) else value
    if isinstance(value, list):
        return [_blank_strings(item, words) for item in value]
    if isinstance(value, dict):
        return {key: _blank_strings(item, words) for key, item in value.items()}
    return value


def scrub_stored_results(connection: Connection, person: Person) -> int:
    """Blank the person's names and addresses in the outcomes the server keeps for replays (a
    refusal may quote an address an agent mistyped); returns how many outcomes changed.

    Outcomes name rows by id only, so this reads the table once for the words (an erasure is
    rare; the table has one row per pushed mutation)."""
    words = [w for w in person.words if len(w) >= 4]
    if not words:
        return 0
    results = table("mutation_result")
    text = func.lower(cast(results.c.result, String))
    rows = connection.execute(
        select(results.c.client_id, results.c.mutation_id, results.c.result).where(
            or_(*(text.contains(w, autoescape=True) for w in words))
        )
    ).all()
    changed = 0
    for client_id, mutation_id, stored in rows:
        value = json.loads(stored) if isinstance(stored, str) else stored
        blanked = _blank_strings(value, words)
        if blanked != value:
            connection.execute(
                update(results)
                .where(results.c.client_id == client_id, results.c.mutation_id == mutation_id)
                .values(result=blanked)
            )
            changed += 1
    return changed + _scrub_rest_answers(connection, person, words)


def _scrub_rest_answers(connection: Connection, person: Person, words: list[str]) -> int:
    """Replace the REST answers kept under idempotency keys (``api_idempotency``, server only)
    that show the person's tickets, messages or names: a replay of such a key then answers
    ``{"erased": true}`` with the first status, and never writes again."""
    answers = table("api_idempotency")
    text = func.lower(cast(answers.c.response, String))
    needles = [*words, *(row_id.lower() for row_id in (*person.tickets, *person.messages, person.customer_id))]
    if not needles:
        return 0
    changed = 0
    for chunk in _chunks(needles):
        found = connection.execute(
            update(answers)
            .where(or_(*(text.contains(n, autoescape=True) for n in chunk)), answers.c.response.is_not(None))
            .values(response={"erased": True}, headers=None)
            .returning(answers.c.key)
        ).all()
        changed += len(found)
    return changed


# --- keeping them forgotten -----------------------------------------------------------------------


_ERASED_AMONG = sql_text(
    "SELECT 't', t.id FROM ticket t JOIN customer c ON c.id = t.requester_id "
    "WHERE c.erased_at IS NOT NULL AND (t.id IN :tickets "
    "OR t.id IN (SELECT ticket_id FROM message WHERE id IN :messages) "
    "OR t.id IN (SELECT ticket_id FROM survey WHERE id IN :surveys)) "
    "UNION ALL SELECT 'm', m.id FROM message m JOIN customer c ON c.id = m.author_customer_id "
    "WHERE m.id IN :messages AND c.erased_at IS NOT NULL"
).bindparams(*(bindparam(name, expanding=True, type_=String) for name in ("tickets", "messages", "surveys")))
"""Of a write's tickets (and those of its messages and surveys), the ones whose requester was
erased (``'t'``), and of its messages, those written by an erased customer (``'m'``)."""


_ANYONE_ERASED = sql_text("SELECT 1 FROM customer WHERE erased_at IS NOT NULL LIMIT 1")


def _anyone_erased(tx: Tx) -> bool:
    """Whether any customer was ever erased here — kept by the write path's cache while
    ``config_version`` stands still (an erasure bumps it, see
    :mod:`supportdesk.store.config_version`; a mutation that writes a customer reads it again).
    While nobody is, the check after every write is skipped. Outside a cached transaction the
    check itself answers (one statement either way)."""
    from supportdesk.domain.config_cache import ERASURE_TABLES, cached, is_open

    if not is_open(tx.connection):
        return True
    return cached(
        tx.connection,
        "anyone_erased",
        lambda: tx.connection.execute(_ANYONE_ERASED).first() is not None,
        tx,
        tables=ERASURE_TABLES,
    )


def keep_erased(tx: Tx) -> None:
    """Text written to an erased person's ticket after the erasure is erased too.

    An agent whose copy had not yet heard of the erasure may push a reply or a note that quotes
    the person; a survey link may still be answered. The row stays (the statistics count it), its
    text becomes "(erased)", its old values leave the audit and the search index, and the writer
    gets a warning. Runs
    after every mutator (:func:`supportdesk.domain.execute.run_mutator`), on the client, the
    server and in replay alike.
    """
    if tx.mutation == ERASE:
        return
    tickets = {str(t.key[0]) for t in tx.touched if t.table == "ticket" and t.op != "delete"}
    messages = {str(t.key[0]) for t in tx.touched if t.table == "message" and t.op != "delete"}
    surveys = {str(t.key[0]) for t in tx.touched if t.table == "survey" and t.op != "delete"}
    if not (tickets or messages or surveys) or not _anyone_erased(tx):
        return
    connection = tx.connection
    ticket_rows = table("ticket")
    message_rows, survey_rows = table("message"), table("survey")
    erased_tickets: set[str] = set()
    erased_authors: set[str] = set()
    # One statement after every write, not three: this runs after each mutation everywhere
    for kind, row_id in connection.execute(
        _ERASED_AMONG, {"tickets": sorted(tickets), "messages": sorted(messages), "surveys": sorted(surveys)}
    ):
        (erased_tickets if kind == "t" else erased_authors).add(str(row_id))
    if not (erased_tickets or erased_authors):
        return
    person = Person("", [], tickets=sorted(erased_tickets))
    person.messages = sorted(
        erased_authors
        | set(
            _column(
                connection,
                select(message_rows.c.id).where(
                    message_rows.c.id.in_(sorted(messages)), message_rows.c.ticket_id.in_(sorted(erased_tickets))
                ),
            )
        )
    )
    person.surveys = sorted(
        _column(
            connection,
            select(survey_rows.c.id).where(
                survey_rows.c.id.in_(sorted(surveys)), survey_rows.c.ticket_id.in_(sorted(erased_tickets))
            ),
        )
    )
    scrubbed = _anonymise_if_needed(connection, "message", person.messages)
    scrubbed += _anonymise_if_needed(connection, "ticket", person.tickets)
    scrubbed += _anonymise_if_needed(connection, "survey", person.surveys)
    _touch_all(tx, "message", person.messages, "update")
    _touch_all(tx, "ticket", person.tickets, "update")
    _touch_all(tx, "survey", person.surveys, "update")
    scrub_audit(connection, person)
    if scrubbed and connection.dialect.name == "sqlite":
        # The index took the words in before they were erased (its triggers ran on the write).
        for statement in fts.merge_statements(("ticket_fts",)):
            connection.exec_driver_sql(statement)
    if scrubbed and tx.context.authority and tx.context.mode == "local":
        # A workspace that follows no server never pushes its outbox: its copy of the text goes.
        _drop_own_outbox_entry(tx)
    if scrubbed:
        numbers = _column(connection, select(ticket_rows.c.number).where(ticket_rows.c.id.in_(person.tickets)))
        where = ", ".join(f"#{n}" for n in sorted(n for n in numbers if n is not None)) or "this ticket"
        tx.context.warnings.append(f"the customer of {where} was erased: the text written there was not kept")


def _drop_own_outbox_entry(tx: Tx) -> None:
    ref = tx.context.mutation_ref
    if ref.startswith("local:") and ref.split(":", 1)[1].isdigit():
        own = int(ref.split(":", 1)[1])
        tx.connection.execute(delete(table("outbox")).where(table("outbox").c.id == own))


def _anonymise_if_needed(connection: Connection, table_name: str, ids: Sequence[str]) -> int:
    """Anonymise the rows ``ids``; returns how many still held text before."""
    if not ids:
        return 0
    rows = table(table_name)
    text_column = {"message": "body", "ticket": "subject", "survey": "comment"}[table_name]
    held = connection.execute(
        select(rows.c.id).where(rows.c.id.in_(list(ids)), rows.c[text_column].not_in(("", ERASED_TEXT)))
    ).all()
    connection.execute(update(rows).where(rows.c.id.in_(list(ids))).values(**ANONYMISED[table_name]))
    return len(held)


# --- after the commit ------------------------------------------------------------------------------


def finish_erase(workspace: Workspace, files: Iterable[str]) -> bool:
    """After an erasure commits on a workspace: remove the attachment files of ``files`` that no
    row names any more, and fold the write-ahead log into the file (its old page images hold the
    erased text). Returns False when a reader kept the log from being folded (the next erasure
    or checkpoint folds it)."""
    from contextlib import closing

    from supportdesk.store.engine import fold_wal
    from supportdesk.store.files import remove_files

    hashes = sorted(set(files))
    with closing(workspace.connect()) as connection:
        if hashes:
            marks = ", ".join("?" * len(hashes))
            used = {
                row[0] for row in connection.execute(f"SELECT sha256 FROM attachment WHERE sha256 IN ({marks})", hashes)
            }
            remove_files(workspace.attachments_dir, [h for h in hashes if h not in used])
        return fold_wal(connection)
