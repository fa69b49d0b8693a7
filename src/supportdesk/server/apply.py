"""Applying mutations on the server: pushed by a client, or made by the server itself.

A push runs in one transaction (:func:`apply_push`), each of its mutations in a savepoint: the
mutator (the same code a client ran optimistically) and its change-log records; then, once for
the push, the SLA clocks of the tickets it changed (:class:`supportdesk.domain.timing.DeferredClocks`),
the client's last mutation id, the seqs (the counter row, the last statement before
commit), the records and the stored results in bulk — so a replayed id returns what the first
attempt answered and never applies twice. A mutation a rule refuses still consumes its id and
returns its error. A write the server makes itself (:func:`apply_as`) is one transaction too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DataError, IntegrityError

from supportdesk.domain.catalog import get
from supportdesk.domain.config_cache import config_cache, forget, settle, touches_config
from supportdesk.domain.context import Actor, MutationContext
from supportdesk.domain.errors import Conflict, DomainError, ValidationFailed
from supportdesk.domain.mutations.privacy import ERASE
from supportdesk.domain.timing import DeferredClocks, deferrable, deferred_drop_since, deferred_mark
from supportdesk.domain.tx import AuditBuffer, Tx, audit_drop_since, audit_mark, insert_into
from supportdesk.domain.write import run_one, validate_args
from supportdesk.protocol import MutationIn, MutationOutcome
from supportdesk.server.changes import Pending, Record, pending_for, records_for, resolve, take_seq, write_records
from supportdesk.server.erasure import after_erase
from supportdesk.server.errors import ApiError
from supportdesk.server.retry import retried
from supportdesk.server.trust import pushed_args
from supportdesk.store import prepared
from supportdesk.store.config_version import READ as READ_VERSION
from supportdesk.store.ids import uuid7
from supportdesk.store.prepared import run_sql
from supportdesk.store.times import utcnow
from supportdesk.sync.rows import spec

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.domain.tx import Audited
    from supportdesk.server.db import ServerDatabase

Poke = Callable[[int], None]
Announce = Callable[["Connection", int, "Sequence[Applied]"], None]
"""A push's poke sent inside its transaction, last before its commit (PostgreSQL's NOTIFY is
delivered at commit, in commit order): given the push's last seq and what it applied."""


@dataclass
class Applied:
    name: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    error: DomainError | None = None
    raced: bool = False
    #: ``(table, key)`` of every row the mutation inserted, for the after-write hooks.
    inserted: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    #: What the mutation changed, field by field (its audit records), for the after-write hooks.
    audited: list[Audited] = field(default_factory=list)
    #: Who ran it, and its reference in the audit (``api:…``, ``<client>:<id>``, ``server:…``).
    actor: Actor | None = None
    ref: str = ""
    #: The tables it wrote to (a push forgets its cached configuration after a change to it).
    tables: frozenset[str] = frozenset()
    #: In a push, its records before their rows are read (:func:`.changes.resolve`, at the end).
    pending: Pending | None = None

    def inserted_ids(self, table_name: str) -> list[str]:
        """The ids of the rows the mutation inserted into ``table_name`` (a one-column key)."""
        return [str(key[0]) for name, key in self.inserted if name == table_name]


def run_mutation(
    connection: Connection,
    actor: Actor,
    name: str,
    args: dict[str, Any],
    ref: str,
    *,
    source: str = "",
    defer_records: bool = False,
    savepoint: bool = True,
) -> Applied:
    """Run one mutator in a savepoint; a refusal rolls the savepoint back and is returned.
    ``source`` is what the audit records as the change's origin (``api`` for a REST write);
    with ``defer_records`` its change records are left ``pending`` for the caller to resolve.
    Without ``savepoint`` (a push of one mutation) a refusal raises :class:`NeedsSavepoint`
    instead: the caller rolls its whole transaction back and runs it again with one.

    On PostgreSQL two writers can race to create the same row (two first emails from one new
    address): the loser waits on the unique index and then fails. Run again, it sees the
    winner's row (READ COMMITTED) and uses it, as it would have on SQLite.
    """
    applied = _run_once(connection, actor, name, args, ref, source, defer_records, savepoint)
    if applied.raced and connection.dialect.name == "postgresql":
        applied = _run_once(connection, actor, name, args, ref, source, defer_records)
    if applied.error is None and name in CHANGES_WHAT_A_TOKEN_IS_WORTH:
        # whoever ran it (a push, REST, the CLI, a test): every process forgets its cached token
        # checks when this commits, so an agent's new groups or role count from the next request
        from supportdesk.server.notify import notify_tokens_changed

        notify_tokens_changed(connection)
    return applied


class NeedsSavepoint(Exception):
    """A mutation run without a savepoint was refused (or raced): what it wrote cannot be undone
    alone, so the transaction is to be rolled back and run again with savepoints."""


#: Mutations that change an agent's groups, role or standing: cached token checks go stale.
CHANGES_WHAT_A_TOKEN_IS_WORTH = frozenset({"agent.update", "group.update"})


def _run_once(
    connection: Connection,
    actor: Actor,
    name: str,
    args: dict[str, Any],
    ref: str,
    source: str = "",
    defer_records: bool = False,
    savepoint: bool = True,
) -> Applied:
    if not savepoint:
        try:
            return _run_bare(connection, actor, name, args, ref, source, defer_records)
        except (DomainError, IntegrityError, DataError) as error:
            raise NeedsSavepoint(name) from error
    noted = deferred_mark(connection)  # a refusal forgets the clocks it moved, too
    held = audit_mark(connection)  # and the audit events a push held back
    # Plain SAVEPOINT statements on the driver's connection: begin_nested() builds and compiles a
    # construct per call, a cost every pushed mutation paid twice (issue 19).
    _driver_sql(connection, _SAVEPOINT)
    try:
        applied = _run_bare(connection, actor, name, args, ref, source, defer_records)
        _driver_sql(connection, _RELEASE)
        return applied
    except DomainError as error:
        _roll_back_to_savepoint(connection, noted, held)
        return Applied(error=error)
    except IntegrityError:
        _roll_back_to_savepoint(connection, noted, held)
        conflict = Conflict(f"{name}: an id or a unique value in it is already used", field="args")
        return Applied(error=conflict, raced=True)
    except DataError as error:
        _roll_back_to_savepoint(connection, noted, held)
        reason = str(error.orig).splitlines()[0] if error.orig else "a value does not fit"
        return Applied(error=ValidationFailed(f"{name}: {reason}", field="args"))


def _run_bare(
    connection: Connection, actor: Actor, name: str, args: dict[str, Any], ref: str, source: str, defer_records: bool
) -> Applied:
    """The mutator and what it did, on the open transaction as it is (no savepoint of its own)."""
    spec = get(name)
    parsed = validate_args(spec, args)
    context = MutationContext(actor=actor, mode="server", authority=True, mutation_ref=ref, source=source)
    result, tx = run_one(connection, spec, parsed, context)
    return Applied(
        name=name,
        result=result,
        warnings=list(context.warnings),
        records=[] if defer_records else records_for(connection, tx),
        pending=pending_for(connection, tx) if defer_records else None,
        inserted=[(item.table, tuple(item.key)) for item in tx.touched if item.op == "insert"],
        audited=list(tx.audited),
        actor=actor,
        ref=ref,
        tables=frozenset(item.table for item in tx.touched),
    )


_SAVEPOINT = "SAVEPOINT server_mutation"
_RELEASE = "RELEASE SAVEPOINT server_mutation"


def _roll_back_to_savepoint(connection: Connection, noted: int | None, held: int | None) -> None:
    """Undo everything the mutation wrote (a failed statement's too, on PostgreSQL), then drop
    the savepoint; a push's deferred clocks and held audit events forget what the mutation made."""
    _driver_sql(connection, "ROLLBACK TO SAVEPOINT server_mutation")
    _driver_sql(connection, _RELEASE)
    deferred_drop_since(connection, noted)
    audit_drop_since(connection, held)


def _driver_sql(connection: Connection, statement: str) -> None:
    """A statement without parameters or results, on the driver's own cursor: a savepoint's
    three statements need none of SQLAlchemy's per-statement work (SQLite and psycopg alike)."""
    run_sql(connection, statement)


AfterWrite = Callable[["Connection", Applied], None]
"""Work that must commit with a write: called inside its transaction when its mutation succeeded,
before the seq is taken (the channels queue the replies it added). Hooks belong to one app
(``ServerState.after_write``); a write made outside a running server has none."""


BeforeWrite = Callable[["Connection", Actor, str, dict[str, Any]], dict[str, Any]]
"""A check of a pushed mutation's arguments inside its transaction, before the mutator runs:
returns the arguments to run with, or raises a :class:`DomainError` that refuses the mutation
(and consumes its id like any refusal). The attachments' check is one: every hash must be a file
the server holds and the agent uploaded or may already see (``server/blobs.py``)."""


AfterCommit = Callable[["ServerDatabase", Applied], None]
"""Work that must not happen when the write rolls back, run after its transaction committed
(and only when its mutation succeeded): an erasure's attachment files (the channels' hook,
``ServerState.after_commit``). :func:`supportdesk.server.erasure.after_erase` (folding a SQLite
server's write-ahead log after an erasure) runs after every write, app or not."""


def run_after_commit(database: ServerDatabase, applied: Applied, after_commit: Sequence[AfterCommit]) -> None:
    """Run every after-commit hook of one committed mutation; a failing one is reported, not raised.

    The write is committed whatever happens here, and nothing runs these hooks again (a retried
    request only replays the stored answer), so one failing hook must not cost the others their
    only turn (an erasure's files removed, a webhook woken), nor turn the answer into an error
    the client would take for a failed write: it is logged at ERROR with the write's reference
    and counted for ``/metrics`` (:mod:`supportdesk.server.hook_failures`).
    """
    if applied.error is None:
        run_all([partial(hook, database, applied) for hook in (after_erase, *after_commit)], ref=applied.ref)


def run_all(steps: Sequence[Callable[[], None]], *, ref: str = "") -> None:
    """Run every step of a committed write's after-commit work, even when one fails; a failure
    is reported (:func:`supportdesk.server.hook_failures.report`), never raised: the caller
    answers what committed."""
    from supportdesk.server.hook_failures import report

    for step in steps:
        try:
            step()
        except Exception as error:  # committed: log and count it, and answer the committed results
            report(step, ref, error)


def _finish(connection: Connection, applied: Applied, after_write: Sequence[AfterWrite]) -> int:
    """Run the after-write hooks, then take the seqs and write the records (last before commit)."""
    if applied.error is None:
        for hook in after_write:
            hook(connection, applied)
    if not applied.records:
        return 0
    last = take_seq(connection, len(applied.records))
    write_records(connection, applied.records, last)
    return last


def _lock_client(connection: Connection, client_id: str, actor: Actor) -> tuple[int, int]:
    """The client's last mutation id, its row locked for this transaction (made on first push),
    and ``config_version`` read in the same statement, for the push's configuration cache.

    Read here rather than by :func:`config_cache` itself, one statement (on PostgreSQL one round
    trip) a push fewer. What it sees: under READ COMMITTED the statement's snapshot is taken when
    it starts, so every configuration change committed before the push's lock statement began
    is seen — as when the cache read the number in a statement of its own just before the lock.
    When the row lock has to wait (only another push of the same client holds it), the subquery
    is not read again after the wait: PostgreSQL re-checks the locked row alone, and the number
    is the one from before the wait. That is no weaker than before (the separate read came
    before the lock too), and it is safe: a change committed during the wait is concurrent with
    this push, which may be ordered before it; the push's own later reads of configuration it
    does not hold take fresh snapshots; and what the push read is kept for the next one only if
    the number is unchanged at its end (:func:`supportdesk.domain.config_cache.settle` reads it
    again), so the next push sees the change. On SQLite the one writer lock is held before the
    statement runs (the server's ``BEGIN IMMEDIATE``): the number is the newest there is."""
    lock = " FOR UPDATE OF sync_client" if connection.dialect.name == "postgresql" else ""
    select_client = f"SELECT agent_id, last_mutation_id, ({READ_VERSION}) FROM sync_client WHERE client_id = ?{lock}"
    found = run_sql(connection, select_client, (client_id,), fetch=True)
    if not found:
        now = utcnow()
        run_sql(
            connection,
            "INSERT INTO sync_client (client_id, agent_id, last_mutation_id, created_at, updated_at) "
            "VALUES (?, ?, 0, ?, ?) ON CONFLICT (client_id) DO NOTHING",
            (client_id, actor.id, now, now),
        )
        found = run_sql(connection, select_client, (client_id,), fetch=True)
    row = found[0]
    if row[0] != actor.id:
        raise ApiError(403, "forbidden", "this client id belongs to another agent", field="client_id")
    return int(row[1]), int(row[2] or 0)


def stored_outcome(connection: Connection, client_id: str, mutation_id: int) -> MutationOutcome:
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    results = table("mutation_result")
    stored = connection.execute(
        select(results.c.result).where(results.c.client_id == client_id, results.c.mutation_id == mutation_id)
    ).scalar()
    if not stored:
        return MutationOutcome(id=mutation_id, ok=True, replayed=True)
    return MutationOutcome(**{**stored, "id": mutation_id, "replayed": True})


def apply_push(
    database: ServerDatabase,
    actor: Actor,
    client_id: str,
    mutations: Sequence[MutationIn],
    *,
    before_write: Sequence[BeforeWrite] = (),
    after_write: Sequence[AfterWrite] = (),
    after_commit: Sequence[AfterCommit] = (),
    announce: Announce | None = None,
) -> list[MutationOutcome]:
    """Apply one push — its mutations in order, each exactly once — in one transaction.

    Each mutation runs in its own savepoint (a refusal rolls back that mutation alone and still
    consumes its id); the client's row is locked first and its last mutation id written once;
    the seqs of every change record of the push are taken in one step as the last statement
    before commit, the records and the stored results written in bulk. A push is therefore
    all-or-nothing as a transaction: when the server fails half way (a 500, a lost connection)
    nothing of it committed, and the client pushes the same ids again. Holding its rows until
    the end, two pushes that change the same tickets in opposite orders can deadlock on
    PostgreSQL: the one aborted runs again (:func:`supportdesk.server.retry.retried`). Per mutation this saves
    the BEGIN/COMMIT, the client row's lock and update, the counter update and its wait, and an
    fsync on SQLite.

    What a client may not claim (that a customer wrote a message, what a channel recorded about
    it) is taken out of its arguments or refused first (:func:`supportdesk.server.trust.pushed_args`);
    a refusal consumes the id like any rule's.

    ``announce`` (a running server on PostgreSQL: the clients' poke) runs inside the transaction
    after everything else, when the push took seqs.
    """

    def once(savepoints: bool) -> tuple[list[MutationOutcome], list[tuple[MutationIn, Applied]]]:
        return retried(
            lambda: _apply_push_once(
                database, actor, client_id, mutations, before_write, after_write, savepoints, announce
            ),
            what=f"a push of {client_id}",
        )

    # A push of one mutation runs it without a savepoint (two statements, on PostgreSQL two round
    # trips, of a push that has ~20): should it be refused or race, nothing of that run commits
    # and the push runs again the usual way, where the refusal rolls back to its savepoint.
    try:
        outcomes, applied_list = once(savepoints=len(mutations) != 1)
    except NeedsSavepoint:
        outcomes, applied_list = once(savepoints=True)
    # every mutation's after-commit work runs even when one's fails (the push is committed: a
    # retry only replays, so work skipped now — a file removal, a webhook wake-up — never runs)
    run_all([partial(run_after_commit, database, applied, after_commit) for _m, applied in applied_list])
    return outcomes


def _apply_push_once(
    database: ServerDatabase,
    actor: Actor,
    client_id: str,
    mutations: Sequence[MutationIn],
    before_write: Sequence[BeforeWrite],
    after_write: Sequence[AfterWrite],
    savepoints: bool = True,
    announce: Announce | None = None,
) -> tuple[list[MutationOutcome], list[tuple[MutationIn, Applied]]]:
    """One run of a push's transaction (:func:`apply_push` runs it again after a deadlock):
    everything it builds is made afresh here, nothing kept from an aborted run."""
    outcomes: list[MutationOutcome] = []
    applied_list: list[tuple[MutationIn, Applied]] = []
    seqs: list[int] = []  # the seq of each applied mutation's last record (0: none), once written
    fresh: list[MutationOutcome] = []  # the outcomes of applied mutations, once stored
    with database.engine.connect() as connection, connection.begin():
        last, version = _lock_client(connection, client_id, actor)  # config_version read with it
        with config_cache(connection, version), DeferredClocks(connection) as clocks, AuditBuffer(connection) as audits:
            clock_tx = Tx(connection, MutationContext(actor=actor, mode="server", authority=True), "sla.refresh")
            for mutation in mutations:
                if mutation.id <= last:
                    outcomes.append(stored_outcome(connection, client_id, mutation.id))
                    continue
                if mutation.id != last + 1:
                    raise ApiError(
                        409,
                        "gap",
                        f"mutation {mutation.id} arrived but {last + 1} was expected next",
                        field="mutations.id",
                        expected=last + 1,
                    )
                # the clocks of a run of plain ticket mutations are written once, at the push's end
                # (not when a rule the mutation may wake asks about the SLA: it reads the clocks)
                defer = deferrable(clock_tx, mutation.name)
                if not defer:
                    _write_clocks(clocks, clock_tx, applied_list)
                clocks.active, clocks.owner = defer, len(applied_list)
                # the audit events of a run of mutations that read none are written at once: held
                # until a mutation that may read them (or the push's end), in the order audited
                hold = mutation.name in HELD_AUDITS
                if not hold:
                    audits.flush()
                audits.active = hold
                if mutation.name == ERASE:
                    # an erasure rewrites the log's earlier records and stored results of what it
                    # erases: those of this push must be written first
                    seqs += _write_log(connection, [applied for _m, applied in applied_list[len(seqs) :]])
                    fresh += _store_results(connection, client_id, applied_list[len(fresh) :], seqs[len(fresh) :])
                applied = _apply_one(connection, actor, client_id, mutation, before_write, savepoints)
                clocks.active = audits.active = False
                if touches_config(applied.tables):
                    forget(connection, applied.tables)
                if applied.error is None:
                    for hook in after_write:
                        hook(connection, applied)
                applied_list.append((mutation, applied))
                last = mutation.id
            audits.flush()
            _write_clocks(clocks, clock_tx, applied_list)
            # what the configuration cache keeps is decided now, inside the transaction and before the
            # counter is taken: the pipelined COMMIT below leaves no transaction for the block's end
            settle(connection)
            if applied_list:
                run_sql(
                    connection,
                    "UPDATE sync_client SET last_mutation_id = ?, updated_at = ? WHERE client_id = ?",
                    (last, utcnow(), client_id),
                )
                records, last_seq, taken = _take_seqs(
                    connection, [applied for _m, applied in applied_list[len(seqs) :]]
                )
                seqs += taken
                # from the counter on, nothing waits for an answer: on PostgreSQL the records, the
                # stored results, the poke and the COMMIT go in one round trip (the counter is held
                # for that alone); elsewhere they run as before and the block's end commits
                with prepared.sent_with_commit(connection):
                    if records:
                        write_records(connection, records, last_seq)
                    fresh += _store_results(connection, client_id, applied_list[len(fresh) :], seqs[len(fresh) :])
                    if announce is not None and max(seqs, default=0):
                        announce(connection, max(seqs), [applied for _m, applied in applied_list])
                outcomes.extend(fresh)
    return outcomes, applied_list


#: Mutations whose audit events a push may hold and write in bulk (:class:`AuditBuffer`): they,
#: and the rules' actions they run, read no ``audit_event`` row (``ticket.set_status`` and the
#: field setters read the last change of a field when told what the client saw; an erasure
#: scrubs the trail; an SLA rebuild reads it), so holding theirs changes nothing they compute.
HELD_AUDITS = frozenset(
    {"ticket.create", "ticket.reply", "ticket.note", "ticket.receive", "ticket.tag", "ticket.untag", "ticket.triage"}
)


def _write_clocks(clocks: DeferredClocks, tx: Tx, applied_list: Sequence[tuple[MutationIn, Applied]]) -> None:
    """Write the timing rows noted so far; each row written joins the change records of every
    mutation that moved its clocks (sent once, at the last of them, which each one's seq covers)."""
    for ticket_id, owners in clocks.flush(tx).items():
        key = ("ticket_timing", (ticket_id,))
        for index in sorted(owners):
            pending = applied_list[index][1].pending
            if pending is not None and key not in pending.keys:
                pending.keys.append(key)


def _store_results(
    connection: Connection,
    client_id: str,
    applied: Sequence[tuple[MutationIn, Applied]],
    seqs: Sequence[int],
) -> list[MutationOutcome]:
    """Store the outcomes of ``applied`` (whose records got ``seqs``) for replays, in one statement."""
    outcomes = [_outcome(mutation, done, seq) for (mutation, done), seq in zip(applied, seqs, strict=True)]
    if outcomes:
        now = utcnow()
        prepared.execute_many(
            connection,
            insert_into("mutation_result"),
            [
                {
                    "client_id": client_id,
                    "mutation_id": outcome.id,
                    "result": outcome.model_dump(exclude={"id", "replayed"}),
                    "at": now,
                }
                for outcome in outcomes
            ],
        )
    return outcomes


def _apply_one(
    connection: Connection,
    actor: Actor,
    client_id: str,
    mutation: MutationIn,
    before_write: Sequence[BeforeWrite],
    savepoint: bool = True,
) -> Applied:
    args, refusal = pushed_args(actor, mutation.name, mutation.args)
    try:
        for check in before_write if refusal is None else ():
            args = check(connection, actor, mutation.name, args)
    except DomainError as error:
        refusal = error
    if refusal is not None:
        return Applied(error=refusal)
    ref = f"{client_id}:{mutation.id}"
    return run_mutation(connection, actor, mutation.name, args, ref, defer_records=True, savepoint=savepoint)


def _write_log(connection: Connection, applied: Sequence[Applied]) -> list[int]:
    """Read the rows of these mutations' records (:func:`.changes.resolve`), take their seqs (the
    counter row, locked until commit) and write them in one statement. Returns each mutation's
    seq: that of the last record holding something it changed (0: it changed nothing)."""
    records, last, seqs = _take_seqs(connection, applied)
    if records:
        write_records(connection, records, last)
    return seqs


def _take_seqs(connection: Connection, applied: Sequence[Applied]) -> tuple[list[Record], int, list[int]]:
    """:func:`_write_log` but the writing: the records (their rows read), the last seq taken for
    them (0: none), and each mutation's seq."""
    pendings = [one.pending for one in applied if one.pending is not None]
    for one, records in zip(
        (one for one in applied if one.pending is not None), resolve(connection, pendings), strict=True
    ):
        one.records = records
    records = [record for one in applied for record in one.records]
    if not records:
        return [], 0, [0] * len(applied)
    last = take_seq(connection, len(records))
    seq = last - len(records)
    at: dict[tuple[str, str], int] = {}
    seqs = []
    for one in applied:
        mine = 0
        for record in one.records:
            seq += 1
            mine = seq
            if record.op in ("upsert", "delete"):
                at[(record.entity, record.entity_id)] = seq
        seqs.append(mine)
    for index, one in enumerate(applied):
        if one.pending is not None:
            later = [at.get((table_name, spec(table_name).entity_id(key)), 0) for table_name, key in one.pending.keys]
            seqs[index] = max([seqs[index], *later])
    return records, last, seqs


def _outcome(mutation: MutationIn, applied: Applied, seq: int) -> MutationOutcome:
    return MutationOutcome(
        id=mutation.id,
        ok=applied.error is None,
        result=applied.result,
        error=applied.error.as_dict() if applied.error else None,
        warnings=applied.warnings,
        seq=seq,
    )


def apply_as(
    database: ServerDatabase,
    actor: Actor,
    name: str,
    args: dict[str, Any],
    *,
    poke: Poke | None = None,
    after_write: Sequence[AfterWrite] = (),
    after_commit: Sequence[AfterCommit] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Apply a mutation the server makes itself (an inbound email, a webhook, an admin command).

    Returns the mutator's result and warnings; raises the :class:`DomainError` when a rule
    refuses it. ``poke`` (``ServerEvents.poke`` of a running server) wakes the clients; a running
    server passes its ``after_write`` hooks (``ServerState.apply_as`` does both).
    """

    def once() -> tuple[Applied, int]:
        with database.engine.connect() as connection, connection.begin(), config_cache(connection):
            applied = run_mutation(connection, actor, name, args, f"server:{uuid7()}")
            if applied.error is not None:
                raise applied.error
            return applied, _finish(connection, applied, after_write)

    # aborted by PostgreSQL to break a deadlock with a push holding its rows: nothing of it
    # committed (an inbound mail must not bounce for that), so it runs again
    applied, seq = retried(once, what=f"the server's {name}")
    poke_clients = [partial(poke, seq)] if seq and poke is not None else []
    run_all([partial(run_after_commit, database, applied, after_commit), *poke_clients])
    return applied.result, applied.warnings


def apply_each_as(
    database: ServerDatabase,
    actor: Actor,
    name: str,
    each_args: Sequence[dict[str, Any]],
    *,
    poke: Poke | None = None,
    after_write: Sequence[AfterWrite] = (),
    after_commit: Sequence[AfterCommit] = (),
) -> list[Applied]:
    """Several mutations of one name the server makes itself, in one transaction: what
    :func:`apply_as` does for one, with one checkout, one ``BEGIN`` and one commit for them all.

    Each is still its own mutation (savepoint, audit reference, seqs, after-commit hooks); one
    a rule refuses is returned with its ``error`` and costs the others nothing. The clients are
    poked once, after the commit. For the server's own work in bursts (triage of new tickets).

    The seqs of all of them are taken once, after the last mutation, as the last step before
    commit (DESIGN.md: the counter row is locked last). Taken after each mutation, the counter
    stayed locked while the next ones locked their tickets: a push that had locked one of those
    tickets then waited on the counter, and each held what the other wanted — PostgreSQL broke
    that deadlock only after its ``deadlock_timeout`` (1 s), and the push or the batch ran again
    (a push of one stalled about a second after every burst of new tickets). ``name`` must not
    read the change log (an erasure does: use :func:`apply_as`).
    """
    if name == ERASE:
        raise ValueError(f"{name} rewrites the change log: apply it with apply_as")

    def once() -> tuple[list[Applied], int]:
        done: list[Applied] = []
        with (
            database.engine.connect() as connection,
            connection.begin(),
            config_cache(connection),
            AuditBuffer(connection) as audits,
        ):
            # their audit events in one statement at the end, as a push holds them (triage's
            # seven fields a ticket were seven inserts each), for the mutations that may be held
            audits.active = name in HELD_AUDITS
            for args in each_args:
                applied = run_mutation(connection, actor, name, args, f"server:{uuid7()}")
                if applied.error is None:
                    for hook in after_write:
                        hook(connection, applied)
                done.append(applied)
            audits.flush()
            records = [record for applied in done for record in applied.records]
            last = take_seq(connection, len(records)) if records else 0
            if records:
                write_records(connection, records, last)
        return done, last

    done, last = retried(once, what=f"the server's {name}")
    after = [partial(run_after_commit, database, applied, after_commit) for applied in done]
    run_all([*after, *([partial(poke, last)] if last and poke is not None else [])])
    return done
