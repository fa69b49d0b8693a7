"""Rebase: bring the server's changes into a workspace and re-run what is still pending.

In one local transaction:

1. rows that outbox entries changed optimistically go back to the server's version (fetched
   just before; missing means delete) — so a refused or differently-applied mutation leaves no
   trace, and a pending one does not apply twice;
2. the pulled change records are applied in seq order (whole rows: upsert or delete; ``hide``
   drops a ticket the agent may no longer see, ``reveal`` brings one in with its timeline);
3. acknowledged outbox entries are dropped;
4. pending entries are re-run on top, in order (replay mode: no audit, inserts are upserts);
5. the cursor moves.

A pulled tombstone (``erase``) also makes the replica forget what it keeps of the person beside
the rows (drafts, audit values, index entries; files and the log after the commit):
:mod:`supportdesk.sync.erasure`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supportdesk.domain.context import SYSTEM, Actor, MutationContext
from supportdesk.domain.errors import DomainError
from supportdesk.protocol import Change, RowState
from supportdesk.sync import erasure
from supportdesk.sync.blob_cache import forget_files
from supportdesk.sync.local import forget_poked_from, pending, remember_poked_from, sync_transaction
from supportdesk.sync.rows import (
    TABLE_ORDER,
    delete_row,
    delete_ticket,
    forget_left_requesters,
    spec,
    ticket_files,
    upsert_rows,
)

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace

Key = tuple[str, tuple[Any, ...]]


class StaleRebase(Exception):
    """Something changed the workspace while the rebase was being prepared — an agent wrote to
    the outbox, or another round moved the cursor or the acknowledged id: prepare it again."""


@dataclass
class RebaseResult:
    applied: int = 0
    dropped: int = 0
    replayed: int = 0
    replay_errors: list[tuple[int, str]] = field(default_factory=list)
    cursor: int = 0
    erased: int = 0  # customers whose erasure arrived with this pull


def change_keys(changes: Iterable[Change]) -> set[Key]:
    """The rows the records of a pull will set (so they need no separate refresh)."""
    keys: set[Key] = set()
    for change in changes:
        if change.op == "upsert":
            keys.add((change.entity, spec(change.entity).key_of(change.data)))
        elif change.op == "delete":
            keys.add((change.entity, tuple(change.data["key"])))
    return keys


def _order(table_name: str) -> int:
    return TABLE_ORDER.index(table_name) if table_name in TABLE_ORDER else len(TABLE_ORDER)


def apply_row_states(raw: sqlite3.Connection, states: Sequence[RowState], *, deletes: bool) -> None:
    """Put refreshed rows in place: first the deletes (children first), later the upserts."""
    if deletes:
        for state in sorted((s for s in states if s.row is None), key=lambda s: -_order(s.table)):
            delete_row(raw, state.table, tuple(state.key))
        return
    for state in sorted((s for s in states if s.row is not None), key=lambda s: _order(s.table)):
        assert state.row is not None
        upsert_rows(raw, state.table, [state.row])


def apply_changes(raw: sqlite3.Connection, changes: Sequence[Change]) -> int:
    """Apply pulled records in seq order, batching runs of upserts to one table."""
    run: list[dict[str, Any]] = []
    run_table = ""
    for change in changes:
        if change.op == "upsert" and change.entity == run_table:
            run.append(change.data)
            continue
        if run:
            upsert_rows(raw, run_table, run)
            run = []
        run_table = ""
        if change.op == "upsert":
            run_table, run = change.entity, [change.data]
        elif change.op == "delete":
            delete_row(raw, change.entity, tuple(change.data["key"]))
        elif change.op == "hide":
            delete_ticket(raw, str(change.data["ticket_id"]))
        elif change.op == "reveal":
            bundle = change.data.get("rows", {})
            for table_name in sorted((name for name in bundle if name in TABLE_ORDER), key=_order):
                if bundle[table_name]:
                    upsert_rows(raw, table_name, bundle[table_name])
    if run:
        upsert_rows(raw, run_table, run)
    return len(changes)


def _actor(raw: sqlite3.Connection, agent_id: str | None, cache: dict[str | None, Actor]) -> Actor:
    if agent_id not in cache:
        from supportdesk.domain.write import load_actor

        try:
            cache[agent_id] = load_actor(raw, agent_id) if agent_id else SYSTEM
        except DomainError:
            cache[agent_id] = Actor(id=agent_id, name="")
    return cache[agent_id]


def rebase(
    workspace: Workspace,
    changes: Sequence[Change],
    *,
    cursor: int,
    last_acked: int,
    refreshed: Sequence[RowState],
    outbox_top: int,
    since: tuple[int, int] | None = None,
    poked_from: int | None = None,
    confirmed: bool = False,
) -> RebaseResult:
    """Run steps 1–5 of the module docstring in one transaction.

    ``since`` is ``(cursor, last acknowledged id)`` as the round read them before pulling: if
    either moved meanwhile, another round wrote newer rows than these, and writing these over
    them (with the cursor already past them) would leave the replica wrong for good, so
    :class:`StaleRebase` is raised and nothing is written. Likewise when the outbox grew.

    ``poked_from`` (a poke's records, applied without a pull) is where the cursor stood before:
    kept, with the earliest such position winning, until a pull confirms the log reaches the
    cursor (``confirmed``), in the same transaction as the cursor it vouches for.
    """
    from supportdesk.domain.catalog import get
    from supportdesk.domain.write import record_touched, run_one, validate_args
    from supportdesk.store.times import to_db, utcnow

    result = RebaseResult(cursor=cursor)
    with sync_transaction(workspace) as (connection, raw):
        if outbox_top != outbox_max(raw):
            raise StaleRebase
        if since is not None and since != _position(raw):
            raise StaleRebase
        erased = erasure.prepare(connection, changes)
        left = ticket_files(raw, _leaving(changes))
        apply_row_states(raw, refreshed, deletes=True)
        result.applied = apply_changes(raw, changes)
        apply_row_states(raw, refreshed, deletes=False)
        result.dropped = raw.execute("DELETE FROM outbox WHERE id <= ?", (last_acked,)).rowcount
        raw.execute("DELETE FROM outbox_touched WHERE outbox_id <= ?", (last_acked,))
        if result.dropped:
            forget_left_requesters(raw)
        actors: dict[str | None, Actor] = {}
        for entry in pending(raw, last_acked):
            context = MutationContext(
                actor=_actor(raw, entry.actor_id, actors),
                mode="replay",
                authority=False,
                mutation_ref=f"local:{entry.id}",
            )
            savepoint = connection.begin_nested()
            try:
                spec_ = get(entry.name)
                _, tx = run_one(connection, spec_, validate_args(spec_, entry.args), context)
                record_touched(connection, entry.id, tx.touched)
                savepoint.commit()
                raw.execute("UPDATE outbox SET error = NULL WHERE id = ? AND error IS NOT NULL", (entry.id,))
                result.replayed += 1
            except DomainError as error:
                savepoint.rollback()
                raw.execute("UPDATE outbox SET error = ? WHERE id = ?", (str(error), entry.id))
                result.replay_errors.append((entry.id, str(error)))
        erasure.forget(connection, erased)
        result.erased = len(erased)
        raw.execute(
            "UPDATE sync_state SET cursor = max(cursor, ?), last_acked_mutation_id = max(last_acked_mutation_id, ?), "
            "last_pull_at = ?, last_error = NULL WHERE id = 1",
            (cursor, last_acked, to_db(utcnow())),
        )
        if confirmed:
            forget_poked_from(raw)
        if poked_from is not None:
            remember_poked_from(raw, poked_from)
    erasure.finish(workspace, erased)
    forget_files(workspace, left)
    return result


def _leaving(changes: Sequence[Change]) -> list[str]:
    """The tickets the records take out of this store (hidden, or deleted)."""
    return [
        str(change.data["ticket_id"]) if change.op == "hide" else str(change.data["key"][0])
        for change in changes
        if change.op == "hide" or (change.op == "delete" and change.entity == "ticket")
    ]


def _position(raw: sqlite3.Connection) -> tuple[int, int]:
    cursor, acked = raw.execute("SELECT cursor, last_acked_mutation_id FROM sync_state WHERE id = 1").fetchone()
    return int(cursor), int(acked)


def outbox_max(raw: sqlite3.Connection) -> int:
    return int(raw.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])


def keys_json(keys: Iterable[Key]) -> list[tuple[str, list[Any]]]:
    return [(table, list(key)) for table, key in sorted(keys, key=lambda k: (_order(k[0]), json.dumps(k[1])))]
