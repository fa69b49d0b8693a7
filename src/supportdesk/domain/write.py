"""The client side of the one write path.

:func:`apply` runs one named mutation on the workspace in a single ``BEGIN IMMEDIATE``
transaction that also appends the audit events and the outbox entry the sync layer will push.
A mutation with a prepare step (``macro.apply`` renders its comment) runs that step first, on a
read-only snapshot, so the write lock is only ever held for the writing.
:func:`apply_many` runs a batch in one transaction with a savepoint per mutation, so a bulk
change is fast and one refused item does not undo the others. Both retry when SQLite reports
the file busy, so a user never sees "database is locked".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from supportdesk.domain.context import SYSTEM, Actor, MutationContext
from supportdesk.domain.errors import DomainError, NotFound
from supportdesk.domain.lock_retry import LOCK_RETRIES as LOCK_RETRIES  # re-exported
from supportdesk.domain.lock_retry import with_retries as _with_retries
from supportdesk.domain.registry import Args, MutationSpec
from supportdesk.domain.registry import validate_args as validate_args  # re-exported for the server
from supportdesk.store.enums import Role
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.domain.group_commit import Group
    from supportdesk.domain.tx import Touched, Tx
    from supportdesk.store.workspace import Workspace


#: Set while ``supportdesk batch --dry-run`` runs its lines: every write is rolled back.
_REHEARSAL: ContextVar[bool] = ContextVar("supportdesk_rehearsal", default=False)


@contextmanager
def rehearsing() -> Iterator[None]:
    """Within the block every :func:`apply_many` (so :func:`apply`) is a dry run, whatever its
    caller asked: a batch's ``--dry-run`` covers every command it runs, not only those that
    have a ``--dry-run`` of their own."""
    token = _REHEARSAL.set(True)
    try:
        yield
    finally:
        _REHEARSAL.reset(token)


@dataclass
class Outcome:
    """What one mutation did (or, with ``error``, why it was refused)."""

    name: str
    args: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    mutation_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def workspace_actor(workspace: Workspace, connection: Any = None) -> Actor:
    """The agent this workspace acts as ("me"), or the system when none is chosen yet."""
    from contextlib import closing

    with closing(workspace.connect(readonly=True)) as reader:
        return reader_actor(reader)


def reader_actor(reader: Any) -> Actor:
    """:func:`workspace_actor` over an open ``sqlite3`` connection."""
    from supportdesk.store.workspace import read_setting

    agent_id = read_setting(reader, "me")
    if not agent_id:
        return SYSTEM
    return load_actor(reader, agent_id)


def load_actor(reader: Any, agent_id: str) -> Actor:
    row = reader.execute("SELECT id, name, email, role FROM agent WHERE id = ?", (agent_id,)).fetchone()
    if row is None:
        raise NotFound(f"the workspace's agent {agent_id} no longer exists")
    groups = frozenset(r[0] for r in reader.execute("SELECT group_id FROM agent_group WHERE agent_id = ?", (agent_id,)))
    return Actor(id=row[0], name=row[1], email=row[2], role=Role(row[3]), group_ids=groups)


def is_authority(connection: Connection) -> bool:
    """A workspace that follows no server numbers its own tickets."""
    from supportdesk.store.prepared import run_sql

    rows = run_sql(connection, "SELECT server_url FROM sync_state WHERE id = 1", fetch=True)
    return not rows or rows[0][0] is None


def run_one(
    connection: Connection,
    spec: MutationSpec,
    parsed: Args,
    context: MutationContext,
) -> tuple[dict[str, Any], Tx]:
    """Run one mutation on an open transaction (shared by the client, the server and replay).

    The mutator and its SLA bookkeeping (:func:`supportdesk.domain.execute.run_mutator`), then,
    in the same transaction and on the authority only, the routing rules and the satisfaction
    surveys (:func:`supportdesk.domain.automation.after_mutation`); what those write is added to
    ``tx.touched``.
    """
    from supportdesk.domain.automation import after_mutation
    from supportdesk.domain.execute import run_mutator

    result, tx = run_mutator(connection, spec, parsed, context)
    after_mutation(tx)
    return result, tx


def _append_outbox(connection: Connection, name: str, args: dict[str, Any], actor_id: str | None) -> int:
    from supportdesk.store.prepared import run_sql
    from supportdesk.store.times import to_db

    # RETURNING rather than the cursor's lastrowid: run_sql closes its cursor (wpath19)
    found = run_sql(
        connection,
        "INSERT INTO outbox (name, args, actor_id, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (name, json.dumps(args), actor_id, to_db(utcnow())),
        fetch=True,
    )
    return int(found[0][0] or 0)


def record_touched(connection: Connection, mutation_id: int, touched: Iterable[Touched]) -> None:
    """Remember the rows an outbox entry changed optimistically (the sync rebase reverts them)."""
    keys = {(item.table, json.dumps(list(item.key), default=str)) for item in touched}
    if keys:
        connection.exec_driver_sql(
            "INSERT OR IGNORE INTO outbox_touched (outbox_id, tbl, key) VALUES (?, ?, ?)",
            [(mutation_id, table_name, key) for table_name, key in sorted(keys)],
        )


def _apply_in(
    connection: Connection,
    name: str,
    args: dict[str, Any] | BaseModel,
    actor: Actor,
    *,
    authority: bool,
    dry_run: bool,
    source: str | None = None,
) -> Outcome:
    from supportdesk.domain.catalog import get

    spec = get(name)
    parsed = validate_args(spec, args)
    dumped = parsed.model_dump(mode="json")
    outcome = Outcome(name=name, args=dumped)
    mutation_id = None if dry_run else _append_outbox(connection, name, dumped, actor.id)
    context = MutationContext(
        actor=actor,
        authority=authority,
        mode="local",
        mutation_ref=f"local:{mutation_id}" if mutation_id else "dry-run",
    )
    if source is not None:
        context.source = source
    result, tx = run_one(connection, spec, parsed, context)
    if mutation_id and not authority:
        record_touched(connection, mutation_id, tx.touched)
    outcome.result = result
    outcome.mutation_id = mutation_id
    outcome.warnings = list(context.warnings)
    outcome.touched = list(tx.touched)
    return outcome


def apply(
    workspace: Workspace,
    name: str,
    args: dict[str, Any] | BaseModel,
    *,
    actor: Actor | None = None,
    dry_run: bool = False,
    source: str | None = None,
) -> Outcome:
    """Apply one mutation; raises its :class:`DomainError` when a rule refuses it."""
    outcomes = apply_many(workspace, [(name, args)], actor=actor, dry_run=dry_run, source=source)
    if outcomes[0].error is not None:
        raise outcomes[0].error
    return outcomes[0]


def apply_many(
    workspace: Workspace,
    mutations: Iterable[tuple[str, dict[str, Any] | BaseModel]],
    *,
    actor: Actor | None = None,
    dry_run: bool = False,
    source: str | None = None,
) -> list[Outcome]:
    """Apply a batch in one transaction, each in its own savepoint; errors are per item.

    With ``dry_run`` everything runs and is then rolled back: the outcomes (and the audit
    changes each would make) describe what would happen.
    """
    from supportdesk.domain.group_commit import current

    dry_run = dry_run or _REHEARSAL.get()
    who = actor or workspace_actor(workspace)
    given = list(mutations)
    group = current()
    if group is not None and group.is_open and not dry_run and group.workspace is workspace:
        return _apply_grouped(group, given, who, source=source)
    batch = prepare(workspace, given, who)

    def work() -> list[Outcome]:
        from supportdesk.domain.config_cache import config_cache

        with workspace.engine.connect() as connection:
            transaction = connection.begin()
            try:
                with config_cache(connection):
                    outcomes = _run_batch(connection, batch, given, who, dry_run=dry_run, source=source)
                if dry_run:
                    transaction.rollback()
                else:
                    transaction.commit()
            except _LoneRefusal as refusal:  # the only mutation was refused: nothing to keep
                transaction.rollback()
                outcomes = [refusal.outcome]
            except BaseException:
                if transaction.is_active:
                    transaction.rollback()
                raise
        return outcomes

    result: list[Outcome] = _with_retries(work)
    return result


def _apply_grouped(
    group: Group,
    given: list[tuple[str, dict[str, Any] | BaseModel]],
    who: Actor,
    *,
    source: str | None,
) -> list[Outcome]:
    """:func:`apply_many` inside a ``batch``'s group commit: one savepoint of the group's
    transaction where it would have had a transaction of its own (its prepare step reads in it
    too, so it sees the earlier lines' writes). The group commits it later, with its neighbours."""
    batch = prepare(group.workspace, given, who)

    def work(connection: Connection) -> list[Outcome]:
        try:
            return _run_batch(connection, batch, given, who, dry_run=False, source=source)
        except _LoneRefusal as refusal:  # Group.run rolls its savepoint back when this raises
            raise _Refused(refusal.outcome) from refusal

    try:
        return group.run(work)
    except _Refused as refused:
        return [refused.outcome]


class _Refused(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.name)
        self.outcome = outcome


class _LoneRefusal(Exception):
    """The one mutation of a transaction was refused: the transaction is rolled back whole,
    which undoes exactly what rolling back to its savepoint would have."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.name)
        self.outcome = outcome


def _run_batch(
    connection: Connection,
    batch: list[Prepared],
    given: list[tuple[str, dict[str, Any] | BaseModel]],
    who: Actor,
    *,
    dry_run: bool,
    source: str | None,
) -> list[Outcome]:
    """Each mutation of an open transaction in its savepoint (:func:`apply_many`'s loop)."""
    from supportdesk.domain.config_cache import forget, touches_config
    from supportdesk.store.prepared import run_sql

    authority = is_authority(connection)
    # A transaction of one mutation (every `batch` line, every CLI write) needs no savepoint:
    # if it is refused, the whole transaction is rolled back instead (see _LoneRefusal).
    lone = len(batch) == 1
    outcomes: list[Outcome] = []
    for (name, args), (_name, original) in zip(batch, given, strict=True):
        if isinstance(args, DomainError):  # its prepare step refused it
            outcomes.append(Outcome(name=name, args=_plain(original), error=args))
            continue
        # Plain SAVEPOINT statements on the driver's cursor: begin_nested() compiles one per
        # call, and exec_driver_sql's per-statement work was a tenth of a batched note (wpath19).
        if not lone:
            run_sql(connection, "SAVEPOINT mutation")
        try:
            outcome = _apply_in(connection, name, args, who, authority=authority, dry_run=dry_run, source=source)
            if dry_run:
                outcome.changes = _audit_since(connection, outcome)
        except DomainError as error:
            outcome = Outcome(name=name, args=_plain(args), error=error)
            if lone:
                raise _LoneRefusal(outcome) from error
            run_sql(connection, "ROLLBACK TO SAVEPOINT mutation")
        if not lone:
            run_sql(connection, "RELEASE SAVEPOINT mutation")
        written = {item.table for item in outcome.touched}
        if touches_config(written):
            forget(connection, written)  # the next mutation reads the configuration this one changed
        outcomes.append(outcome)
    return outcomes


#: A mutation after its prepare step: its arguments, or the error that step refused it with.
Prepared = tuple[str, dict[str, Any] | BaseModel | DomainError]


def prepare(
    workspace: Workspace,
    batch: Sequence[tuple[str, dict[str, Any] | BaseModel]],
    actor: Actor,
) -> list[Prepared]:
    """Run the prepare step of the mutations that have one, before any write transaction.

    On one read-only snapshot (:func:`supportdesk.domain.snapshot.read_snapshot`), so the work
    — rendering a macro's comment — never holds the write lock. A mutation its prepare step
    refuses comes back as its :class:`DomainError`; the others come back parsed and filled in.
    """
    from supportdesk.domain.catalog import get

    def needs(name: str) -> bool:
        try:
            return get(name).prepare is not None
        except DomainError:
            return False

    if not any(needs(name) for name, _args in batch):
        return list(batch)
    from supportdesk.domain.group_commit import current
    from supportdesk.domain.snapshot import read_snapshot
    from supportdesk.domain.tx import Tx

    group = current()
    prepared: list[Prepared] = []
    # in a batch's group commit, on the group's transaction: it sees the earlier lines' writes
    shared = group.connection if group is not None and group.workspace is workspace else None
    reading = nullcontext(shared) if shared is not None else None
    with reading or read_snapshot(workspace) as connection:
        context = MutationContext(actor=actor, mode="local", mutation_ref="prepare")
        for name, args in batch:
            if not needs(name):
                prepared.append((name, args))
                continue
            spec = get(name)
            try:
                parsed = validate_args(spec, args)
                assert spec.prepare is not None
                spec.prepare(Tx(connection, context, name), parsed)
            except DomainError as error:
                prepared.append((name, error))
                continue
            prepared.append((name, parsed))
    return prepared


def _plain(args: dict[str, Any] | BaseModel) -> dict[str, Any]:
    return args.model_dump(mode="json") if isinstance(args, BaseModel) else dict(args)


def _audit_since(connection: Connection, outcome: Outcome) -> list[dict[str, Any]]:
    """The audit events of the dry-run mutation just applied (read before the rollback)."""
    rows = connection.exec_driver_sql(
        "SELECT entity, entity_id, field, before, after FROM audit_event "
        "WHERE mutation_ref = 'dry-run' AND mutation = ? ORDER BY id",
        (outcome.name,),
    ).all()
    connection.exec_driver_sql("DELETE FROM audit_event WHERE mutation_ref = 'dry-run'")
    return [
        {
            "entity": row[0],
            "entity_id": row[1],
            "field": row[2],
            "before": json.loads(row[3]) if row[3] else None,
            "after": json.loads(row[4]) if row[4] else None,
        }
        for row in rows
    ]
