"""The REST write path: one request, one transaction, the same mutations as everyone else.

An endpoint describes its write as a *plan* — a function that, inside the transaction, finds
what the request names (a ticket by number, a group by name), checks ``If-Match``, and returns
the named mutations to run — and an *answer* built from what they did. :func:`run_write` then:

1. claims the ``Idempotency-Key`` (:mod:`.idempotency`): a repeat returns the stored answer
   (read first without the write lock, on the write's own connection before its transaction;
   claimed in the transaction when not answered yet);
2. runs the plan and each mutation exactly as a pushed one runs (:func:`.apply.run_mutation`:
   the same mutators, permissions, rules and SLA clocks; :func:`.trust.pushed_args` first, so a
   token can no more claim a customer's words than a console can), all or nothing, with the
   configuration cache open as a push has it (:mod:`supportdesk.domain.config_cache`);
3. runs the app's after-write hooks (the channels queue replies, the webhooks record events),
   takes the seqs and writes the change log, builds the answer and stores it under the key;
4. wakes the clients (on PostgreSQL a ``NOTIFY`` inside the transaction, delivered at commit;
   on SQLite a poke after it) and runs the after-commit hooks.

Steps 1-3 are one transaction; a refused write is rolled back whole and its refusal stored
under the key in a second one. When PostgreSQL aborts it to break a deadlock (with a push that
holds the same ticket or counter) it runs again whole, from the claim on (:func:`.retry.retried`):
the client sees only a slower answer, the key stores one answer, and step 4 runs once.

Audit rows carry ``source = api`` and ``api:<request>:<token id>:<token name>`` as their
reference, so the audit says which integration made each change (the agent is the token's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from supportdesk.domain.config_cache import config_cache, forget, touches_config
from supportdesk.domain.context import Actor
from supportdesk.domain.errors import DomainError
from supportdesk.domain.timing import deferred_drop_since, deferred_mark
from supportdesk.domain.tx import AuditBuffer, audit_drop_since, audit_mark
from supportdesk.server import idempotency
from supportdesk.server.apply import HELD_AUDITS, Applied, run_after_commit, run_all, run_mutation
from supportdesk.server.changes import take_seq, write_records
from supportdesk.server.errors import ApiError
from supportdesk.server.group_commit import GroupCommit, Job
from supportdesk.server.request_log import current_id
from supportdesk.server.retry import retried
from supportdesk.server.trust import pushed_args
from supportdesk.store.ids import uuid7
from supportdesk.store.prepared import run_sql
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from supportdesk.server.state import ServerState

#: Domain error codes and the status a REST answer gives them (the rest: 422).
STATUS_OF_CODE = {"not_found": 404, "forbidden": 403, "conflict": 409, "invalid_transition": 409}
#: Statuses of refusals that happen before a write runs: never stored under a key.
NOT_STORED = frozenset({400, 401, 412, 413, 415, 429})


@dataclass(frozen=True)
class Step:
    """One named mutation of a REST write."""

    name: str
    args: dict[str, Any]


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Writer:
    """Who writes: the token's agent (restricted to the token's groups), and the token."""

    actor: Actor
    token_id: str
    token_name: str
    #: The token's group restriction (None: none). Part of what an Idempotency-Key answers to:
    #: keys belong to the agent, and another of its tokens restricted to other groups must not
    #: be handed the stored answer — a ticket of a group it may not see.
    restriction: frozenset[str] | None = None

    def ref(self) -> str:
        name = re.sub(r"[^\w .@+-]", "_", self.token_name)[:60]
        return f"api:{current_id() or uuid7()}:{self.token_id}:{name}"


Plan = Callable[["Connection"], list[Step]]
Respond = Callable[["Connection", list[Applied], int], Answer]
"""The answer of a write that ran: from its mutations and the last seq its change records took
(their seqs end there, in order; 0 when it logged none)."""


def refusal(error: DomainError | ApiError) -> Answer:
    """A refusal as an answer: ``{"error": {"code", "message", "field", …}}`` and its status."""
    if isinstance(error, ApiError):
        body = error.body()
        body["error"].pop("retry_after", None)
        return Answer(error.status, body)
    return Answer(STATUS_OF_CODE.get(error.code, 422), {"error": error.as_dict()})


def run_write(
    state: ServerState,
    writer: Writer,
    plan: Plan,
    respond: Respond,
    *,
    key: str | None = None,
    fingerprint: str = "",
    not_answered: bool = False,
) -> Answer:
    """Run one REST write (see the module docstring); returns its answer, replayed or new.

    ``not_answered``: the caller has just found no stored answer under ``key``
    (:func:`replayed`), so the first attempt skips that read and goes to the claim — which finds
    an answer stored meanwhile all the same."""
    database = state.database
    fingerprint = idempotency.restricted_fingerprint(fingerprint, writer.restriction)
    attempts = 0

    def once() -> tuple[Answer, list[Applied], int]:
        nonlocal attempts
        attempts += 1
        read_first = key is not None and not (not_answered and attempts == 1)
        return _write_once(state, writer, plan, respond, key, fingerprint, read_first=read_first)

    def alone() -> Answer:
        answer, applied, seq = retried(once, what=f"a REST write of {writer.token_name!r}")
        _after_commit(state, [(applied, seq)])
        return answer

    if database.is_postgres or not GROUPED:
        return alone()
    # SQLite: written with the REST writes that queued meanwhile, in one transaction
    replay = None
    if key is not None and not not_answered:
        replay = partial(_answered_before_the_write, postgres=False, writer=writer, key=key, fingerprint=fingerprint)
    write = partial(
        _grouped_write, state=state, writer=writer, plan=plan, respond=respond, key=key, fingerprint=fingerprint
    )
    answer: Answer = _committer(state).run(Job(alone=alone, replay=replay, write=write))
    return answer


def _after_commit(state: ServerState, written: list[tuple[list[Applied], int]]) -> None:
    """Every committed write's after-commit work, then one poke for them all (even when one step
    fails). On PostgreSQL the write's own transaction sent the poke: forget what the hooks gathered."""
    database = state.database
    after = [
        partial(run_after_commit, database, done, state.after_commit) for applied, _seq in written for done in applied
    ]
    seq = max((seq for _applied, seq in written), default=0)
    poke_clients = [
        partial(state.events.poke, seq) if seq and not database.is_postgres else state.events.forget_gathered
    ]
    run_all([*after, *poke_clients])


def replayed(state: ServerState, writer: Writer, key: str | None, fingerprint: str) -> Answer | None:
    """The stored answer of this same request under ``key`` (None: it must run), for an endpoint
    that does work of its own before :func:`run_write` — a macro's comment rendered on a snapshot:
    a retry must get the first answer even when that work would now refuse (the macro deleted,
    the ticket moved out of sight), or the integration is told nothing was done when it was."""
    if key is None:
        return None
    return _stored(state, writer, key, idempotency.restricted_fingerprint(fingerprint, writer.restriction))


def _stored(state: ServerState, writer: Writer, key: str, fingerprint: str) -> Answer | None:
    """A replay read without the write lock (:func:`.idempotency.answered`)."""
    with state.database.read_engine.connect() as reading:
        stored = idempotency.answered(reading, writer.actor.id or "", key, fingerprint, utcnow())
    if stored is None:
        return None
    return Answer(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"})


def _write_once(
    state: ServerState,
    writer: Writer,
    plan: Plan,
    respond: Respond,
    key: str | None,
    fingerprint: str,
    *,
    read_first: bool = True,
) -> tuple[Answer, list[Applied], int]:
    """One run of a REST write's transaction, from the key's claim to the commit: its answer,
    what it applied and the last seq it wrote (run again whole after a deadlock, so everything
    is made afresh here — the key claimed and its answer stored in the attempt that commits)."""
    database = state.database
    with database.engine.connect() as connection:
        if key is not None and read_first:
            replay = _answered_before_the_write(connection, database.is_postgres, writer, key, fingerprint)
            if replay is not None:
                return replay, [], 0
        transaction = connection.begin()
        try:
            try:
                # configuration (SLA policies, rules, webhook endpoints, "is anyone erased?") read
                # at most once, and kept for the next write while nothing changed it — as a push's
                # its audit events held and written in one statement before its seqs (see
                # _run_steps); a refusal raised out of the block leaves them unwritten
                with config_cache(connection), AuditBuffer(connection):
                    answer, applied, seq = _write_in_transaction(
                        connection, state, writer, plan, respond, key, fingerprint
                    )
            except _Refused as refused:
                # refused: nothing of the write stays (no savepoint around it — a SAVEPOINT and
                # its RELEASE on every write cost more than a second transaction for a refusal)
                transaction.rollback()
                answer = refusal(refused.error)
                if key is not None and answer.status not in NOT_STORED:
                    with connection.begin():
                        answer = _stored_refusal(connection, writer, key, fingerprint, answer)
                return answer, [], 0
            if seq and database.is_postgres:
                _notify_in_transaction(connection, seq)
            transaction.commit()
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
    return answer, applied, seq


#: SQLite: REST writes that queue while one runs are written together (:mod:`.group_commit`).
GROUPED = True


def _committer(state: ServerState) -> GroupCommit:
    """This server's queue of REST writes (made on first use)."""
    found = state.extensions.get(_GROUP_KEY)
    if found is None:
        found = state.extensions.setdefault(_GROUP_KEY, GroupCommit(partial(_run_group, state)))
    committer: GroupCommit = found
    return committer


_GROUP_KEY = "supportdesk.rest.group_commit"


class _Refused(Exception):
    """A REST write refused inside a group (a rule, a permission, a bad reference): its
    savepoint is rolled back and its refusal stored."""

    def __init__(self, error: DomainError | ApiError) -> None:
        super().__init__(str(error))
        self.error = error


class _GroupBroken(Exception):
    """A request's savepoint could not be rolled back (SQLite ended the whole transaction: a full
    disk, an I/O error): the group cannot commit, every request of it fails."""


def _run_group(state: ServerState, jobs: list[Job]) -> None:
    """Run the REST writes ``jobs`` in one transaction (:mod:`.group_commit`): each replay read
    first, before the transaction; the others one after the other, each in its own savepoint;
    one commit; then their after-commit work and one poke. Sets each job's answer or error."""
    database = state.database
    pending: list[Job] = []
    with database.engine.connect() as connection:
        for job in jobs:
            if job.replay is not None:
                try:
                    job.outcome = job.context.run(job.replay, connection)
                except BaseException as error:  # a key reused with another request: its 422
                    job.error = error
                    continue
                if job.outcome is not None:
                    continue
            pending.append(job)
        if not pending:
            return
        transaction = None
        try:
            # inside the try: a BEGIN that fails (the lock kept past the busy timeout) fails the
            # requests still to write, not those already answered from their stored replay
            transaction = connection.begin()
            driver: Any = connection.connection.dbapi_connection
            # one configuration cache for the group: a request rolled back forgets it (_undo); and
            # one audit buffer: the events of its held mutations written in one statement at the
            # group's end (a request rolled back drops its own, _undo), before the commit
            with config_cache(connection), AuditBuffer(connection) as audits:
                for job in pending:
                    try:
                        job.outcome = job.context.run(job.write, connection)
                    except _GroupBroken as broken:
                        raise (broken.__cause__ or broken) from None
                    except BaseException as error:  # its savepoint is rolled back; the others go on
                        job.error = error
                    if not driver.in_transaction:  # whatever ended it: the earlier requests' writes are gone
                        raise _GroupBroken("the group's transaction ended during a request")
                audits.flush()
            transaction.commit()
        except BaseException as error:
            if transaction is not None and transaction.is_active:
                transaction.rollback()
            for job in pending:  # nothing of the group committed, nobody was answered
                job.outcome, job.error = None, error
            return
    written = [job for job in pending if job.error is None]
    _after_commit(state, [(job.outcome[1], job.outcome[2]) for job in written])
    for job in written:
        job.outcome = job.outcome[0]


_SAVEPOINT = "SAVEPOINT rest_write"
_RELEASE = "RELEASE SAVEPOINT rest_write"
_ROLLBACK = "ROLLBACK TO SAVEPOINT rest_write"


def _grouped_write(
    connection: Connection,
    *,
    state: ServerState,
    writer: Writer,
    plan: Plan,
    respond: Respond,
    key: str | None,
    fingerprint: str,
) -> tuple[Answer, list[Applied], int]:
    """One request of a group, in its own savepoint of the group's transaction: what
    :func:`_write_once` does between its ``BEGIN`` and ``COMMIT``. A refusal leaves nothing of
    the write and stores the refusal under the key; any other error leaves nothing and is raised."""
    noted, held = deferred_mark(connection), audit_mark(connection)
    run_sql(connection, _SAVEPOINT)
    try:
        result = _write_in_transaction(connection, state, writer, plan, respond, key, fingerprint, grouped=True)
    except _Refused as refused:
        _undo(connection, noted, held)
        answer = refusal(refused.error)
        if key is not None and answer.status not in NOT_STORED:
            run_sql(connection, _SAVEPOINT)
            try:
                answer = _stored_refusal(connection, writer, key, fingerprint, answer)
            except BaseException:
                _undo(connection, noted, held)
                raise
            _release(connection)
        return answer, [], 0
    except BaseException:
        _undo(connection, noted, held)
        raise
    _release(connection)
    return result


def _release(connection: Connection) -> None:
    """Keep a grouped request's savepoint; when that fails the transaction is gone (SQLite ended
    it): the group cannot commit."""
    try:
        run_sql(connection, _RELEASE)
    except BaseException as error:
        raise _GroupBroken("the group's transaction ended during a request") from error


def _write_in_transaction(
    connection: Connection,
    state: ServerState,
    writer: Writer,
    plan: Plan,
    respond: Respond,
    key: str | None,
    fingerprint: str,
    *,
    grouped: bool = False,
) -> tuple[Answer, list[Applied], int]:
    """The key's claim, the write, its hooks, its change log, its answer and the answer stored:
    a refusal raises :class:`_Refused` (a claim of a key used for another request: its 422).

    The audit events its held mutations made (:func:`_run_steps`) are written before its seqs
    are taken — the counter stays the last thing a transaction locks (DESIGN.md) — or, in a
    group (``grouped``, SQLite: the whole file is locked anyway), at the group's end."""
    if key is not None:
        stored = idempotency.claim(connection, writer.actor.id or "", key, fingerprint, utcnow())
        if stored is not None:  # answered before (in this group too): nothing was written
            return Answer(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"}), [], 0
    seq = 0
    try:
        applied = _run_steps(connection, writer, plan(connection))
        for done in applied:
            for hook in state.after_write:
                hook(connection, done)
        audits: AuditBuffer | None = connection.info.get(AuditBuffer.KEY)
        if audits is not None and not grouped:  # a group writes its requests' at its end
            audits.flush()
        records = [record for done in applied for record in done.records]
        if records:
            seq = take_seq(connection, len(records))
            write_records(connection, records, seq)
        answer = respond(connection, applied, seq)
    except (DomainError, ApiError) as error:
        raise _Refused(error) from None
    if key is not None:
        idempotency.store(
            connection, writer.actor.id or "", key, idempotency.StoredAnswer(answer.status, answer.body, answer.headers)
        )
    return answer, applied, seq


def _undo(connection: Connection, noted: int | None, held: int | None) -> None:
    """Roll a grouped request's savepoint back: nothing of it stays, and what the configuration
    cache read during it (perhaps configuration it changed) is forgotten."""
    try:
        run_sql(connection, _ROLLBACK)
        run_sql(connection, _RELEASE)
    except BaseException as error:
        raise _GroupBroken("the group's transaction ended with a request's error") from error
    deferred_drop_since(connection, noted)
    audit_drop_since(connection, held)
    forget(connection)


def _stored_refusal(connection: Connection, writer: Writer, key: str, fingerprint: str, answer: Answer) -> Answer:
    """A refusal kept under its key, in the transaction (or the group's savepoint) the caller
    opened after the write's was rolled back: a retry gets the same refusal. Another attempt with
    the key may have answered meanwhile; its answer is then the one given."""
    stored = idempotency.claim(connection, writer.actor.id or "", key, fingerprint, utcnow())
    if stored is not None:
        return Answer(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"})
    idempotency.store(connection, writer.actor.id or "", key, idempotency.StoredAnswer(answer.status, answer.body))
    return answer


def _answered_before_the_write(
    connection: Connection, postgres: bool, writer: Writer, key: str, fingerprint: str
) -> Answer | None:
    """A replay's stored answer, read on the write's own connection before its transaction — so
    without the write lock, and without checking out a second pooled connection (its checkout,
    reset and, on PostgreSQL, its ``pool_pre_ping`` round trip cost a create more than the read).
    SQLite: on the driver's connection, outside any transaction (``BEGIN IMMEDIATE`` would take
    the lock). PostgreSQL: a read transaction of its own, ended before the write's begins."""
    agent_id, now = writer.actor.id or "", utcnow()
    if postgres:
        try:
            stored = idempotency.answered(connection, agent_id, key, fingerprint, now)
        finally:
            connection.rollback()
    else:
        driver: Any = connection.connection.dbapi_connection
        stored = idempotency.answered_on_driver(driver, agent_id, key, fingerprint, now)
    if stored is None:
        return None
    return Answer(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"})


def _notify_in_transaction(connection: Connection, seq: int) -> None:
    """On PostgreSQL the clients' poke is a ``NOTIFY`` sent by the write's own transaction
    (delivered when it commits, never if it rolls back): one statement, where a poke after the
    commit took a second connection and transaction for every REST write."""
    from supportdesk.server.notify import notify

    notify(connection, {"type": "poke", "seq": seq})


def _run_steps(connection: Connection, writer: Writer, steps: list[Step]) -> list[Applied]:
    """Run a REST write's mutations. With an :class:`AuditBuffer` open (every REST write opens
    one), the audit events of the mutations a push also holds (:data:`.apply.HELD_AUDITS`: they
    and the rules they wake read no audit event) are held, to be written in one statement — a
    create audited four rows, four INSERTs —; those held so far are written before any other
    mutation runs, so a mutation that reads the trail finds it whole. A refused mutation's held
    events are dropped with its savepoint (:func:`.apply.run_mutation`)."""
    audits: AuditBuffer | None = connection.info.get(AuditBuffer.KEY)
    applied: list[Applied] = []
    for step in steps:
        args, refused = pushed_args(writer.actor, step.name, step.args)
        if refused is not None:
            raise refused
        if audits is not None:
            hold = step.name in HELD_AUDITS
            if not hold:
                audits.flush()
            audits.active = hold
        try:
            done = run_mutation(connection, writer.actor, step.name, args, writer.ref(), source="api")
        finally:
            if audits is not None:
                audits.active = False
        if done.error is not None:
            raise done.error
        if touches_config(done.tables):
            forget(connection, done.tables)  # the next step, and the hooks, read it afresh
        applied.append(done)
    return applied
