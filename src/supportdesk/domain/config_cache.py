"""Configuration read once, not once per mutation — kept between transactions while unchanged.

The after-mutation work of every write reads the same few configuration tables — the SLA
policies and calendars (the clocks), the routing rules, the webhook endpoints. A transaction
(a server push, a client's :func:`supportdesk.domain.write.apply_many`, one line of
``supportdesk batch``) opens a cache on its connection, and these reads happen at most once in
it; what it read is kept for the next transaction on the same engine (the same workspace or
server database) as long as the database's ``config_version`` is unchanged
(:mod:`supportdesk.store.config_version`: triggers bump it on every write to those tables, by
anyone). Without an open cache (a read outside the write path) every read goes to the database.

When what is kept is stale, and why it is never used then:

- **a mutation in this transaction changed the configuration**: a read made by a mutation that
  itself touched a configuration table skips the cache and empties it, and the transaction
  empties it after every mutation that touched one (:func:`forget`). A customer written is
  such a change only when it was an erasure (what "is anyone erased?" depends on): the
  triggers bump ``config_version`` for exactly that, so a new or edited customer — every
  ticket from a new requester — keeps the cache, after one read of the number
  (:func:`_changed_here`);
- **another process, a pull, a hand-made edit committed a change**: its triggers bumped
  ``config_version``, which the next transaction reads first and finds different;
- **this transaction changed it without the write path knowing** (a raw statement) **or is
  rolled back**: what it read is kept only when ``config_version`` at its end is still the number
  it started with — any write to a watched table inside it would have bumped it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from supportdesk.store.config_version import READ

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection, Engine

    from supportdesk.domain.tx import Tx

T = TypeVar("T")

#: The tables whose rows are cached (what a hook reads), and so what empties the cache.
CONFIG_TABLES = frozenset({"sla_policy", "sla_calendar", "trigger_rule", "webhook_endpoint"})

#: What "is anyone erased?" (:func:`supportdesk.domain.mutations.privacy.keep_erased`) depends on.
ERASURE_TABLES = frozenset({"customer"})

_KEY = "supportdesk.config_cache"


@dataclass
class _Open:
    """The cache of one transaction."""

    version: int
    entries: dict[str, Any]
    #: The tables each entry was read from (a mutation writing one of them drops it).
    sources: dict[str, frozenset[str]] = field(default_factory=dict)
    loaded: bool = False  # read something the kept entries did not have
    forgotten: bool = False  # a mutation of this transaction changed the configuration
    settled: bool = False  # :func:`settle` already decided what is kept


@dataclass
class _Kept:
    version: int
    entries: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, frozenset[str]] = field(default_factory=dict)


#: What the last clean transaction on each engine read, under the version it read it at.
_KEPT: WeakKeyDictionary[Engine, _Kept] = WeakKeyDictionary()


def read_version(connection: Connection) -> int:
    from supportdesk.store.prepared import run_sql

    found = run_sql(connection, READ, fetch=True)  # on the driver's cursor: read twice a write
    return int((found[0][0] if found else 0) or 0)


@contextmanager
def config_cache(connection: Connection, version: int | None = None) -> Iterator[None]:
    """Cache configuration reads on ``connection`` until the block ends (one transaction, which
    must already be open); what was read is kept for the next one while nothing changed it.

    ``version`` is ``config_version`` as this transaction already read it (a push reads it in
    the statement that locks its client's row, :func:`supportdesk.server.apply._lock_client`:
    one round trip fewer); without it the cache reads it first. Either way it must be read in
    this transaction before anything the cache serves: a change committed before that read is
    seen, and one inside the transaction moves the number and empties the cache."""
    if _KEY in connection.info:  # already open (a write inside a write): the outer one decides
        yield
        return
    engine = connection.engine
    if version is None:
        version = read_version(connection)
    kept = _KEPT.get(engine)
    state = _Open(version, {})
    if kept is not None and kept.version == version:
        state.entries, state.sources = dict(kept.entries), dict(kept.sources)
    connection.info[_KEY] = state
    try:
        yield
        if not state.settled:
            _keep(connection, state)
    finally:
        # A connection the database dropped (a disconnect, invalidated by SQLAlchemy) is thrown
        # away with its info (the pool clears it before reconnecting); asking it for its info
        # would raise PendingRollbackError over the error that dropped it, and the server would
        # log that instead of the disconnect.
        if not connection.invalidated:
            connection.info.pop(_KEY, None)


def _keep(connection: Connection, state: _Open) -> None:
    if state.loaded and not state.forgotten and read_version(connection) == state.version:
        _KEPT[connection.engine] = _Kept(state.version, state.entries, state.sources)


def settle(connection: Connection) -> None:
    """Decide now what this transaction's reads leave for the next one, while it is still open:
    for a caller about to commit in a way that leaves none to read in (a push's pipelined
    ``COMMIT`` on PostgreSQL). The block's end then reads nothing more — a read there ran after
    the commit, in a transaction of its own, and its failure came back as an error for a push
    that had committed. Only configuration-free statements may follow."""
    state = connection.info.get(_KEY)
    if isinstance(state, _Open) and not state.settled:
        _keep(connection, state)
        state.settled = True


def is_open(connection: Connection) -> bool:
    """Whether a cache is open on ``connection`` (a write path's transaction)."""
    return _KEY in connection.info


def cached(
    connection: Connection,
    name: str,
    load: Callable[[], T],
    tx: Tx | None = None,
    *,
    tables: frozenset[str] = CONFIG_TABLES,
) -> T:
    """``load()``, or what it returned earlier (in this transaction, or in an earlier one while
    ``config_version`` is unchanged). ``tables`` are those it reads: a ``tx`` that touched one
    reads afresh (and drops what was read from them): it may have just changed it."""
    state: _Open | None = connection.info.get(_KEY)
    if state is None:
        return load()
    if (
        tx is not None
        and any(item.table in tables for item in tx.touched)
        and _changed_here(connection, state, {item.table for item in tx.touched} & tables)
    ):
        forget(connection, tables)
        return load()
    if name not in state.entries:
        state.entries[name] = load()
        state.sources[name] = tables
        state.loaded = True
    return state.entries[name]  # type: ignore[no-any-return]


def touches_config(tables: Iterable[str]) -> bool:
    """Whether a mutation that wrote ``tables`` changed something a cache may hold."""
    return any(table in CONFIG_TABLES or table in ERASURE_TABLES for table in tables)


def _changed_here(connection: Connection, state: _Open, tables: Iterable[str]) -> frozenset[str]:
    """Of ``tables`` written in this transaction, those whose writes may have changed what a
    cache holds. A customer counts only when one was erased (or written erased) — its trigger
    then moved ``config_version`` from where this transaction found it; a new requester, a
    renamed one, a merge leave the number where it was and "is anyone erased?" as it was.
    (Once the number moved for any reason, every customer write counts: never wrong, slower.)"""
    changed = frozenset(tables)
    if changed & ERASURE_TABLES and read_version(connection) == state.version:
        changed -= ERASURE_TABLES
    return changed


def _held(state: _Open) -> frozenset[str]:
    return frozenset().union(*state.sources.values()) if state.sources else frozenset()


def forget(connection: Connection, tables: Iterable[str] | None = None) -> None:
    """Drop what was read from ``tables`` (all of it without): a mutation changed them. Nothing
    of this transaction is kept for the next one. Customers written without an erasure
    change nothing kept (:func:`_changed_here`): nothing is dropped then."""
    state: _Open | None = connection.info.get(_KEY)
    if state is None:
        return
    changed = None if tables is None else _changed_here(connection, state, tables)
    if changed is not None and not changed & (CONFIG_TABLES | ERASURE_TABLES | _held(state)):
        return  # nothing held was read from what was written
    for name in list(state.entries):
        if changed is None or state.sources.get(name, CONFIG_TABLES) & changed:
            del state.entries[name]
            state.sources.pop(name, None)
    state.forgotten = True
