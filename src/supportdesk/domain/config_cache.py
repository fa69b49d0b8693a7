"""Configuration read once per server push, not once per mutation.

The after-mutation work of every write reads the same few configuration tables — the SLA
policies and calendars (the clocks), the routing rules, the webhook endpoints. A push of ten
mutations runs in one transaction (:func:`supportdesk.server.apply.apply_push`), so it opens a
cache on its connection and these reads happen once for the push; without an open cache (a
client's write, a server write outside a push) every read goes to the database as before.

What a mutation changes in these tables must be seen by the next one: a read made by a mutation
that itself touched a configuration table skips the cache and empties it, and the push empties it
after every mutation that touched one (:func:`forget`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection

    from supportdesk.domain.tx import Tx

T = TypeVar("T")

#: The tables whose rows are cached (what a hook reads), and so what empties the cache.
CONFIG_TABLES = frozenset({"sla_policy", "sla_calendar", "trigger_rule", "webhook_endpoint"})

_KEY = "supportdesk.config_cache"


@contextmanager
def config_cache(connection: Connection) -> Iterator[None]:
    """Cache configuration reads on ``connection`` until the block ends (one push)."""
    connection.info[_KEY] = {}
    try:
        yield
    finally:
        connection.info.pop(_KEY, None)


def cached(connection: Connection, name: str, load: Callable[[], T], tx: Tx | None = None) -> T:
    """``load()``, or what it returned earlier in this push. A ``tx`` that touched a
    configuration table reads afresh (and empties the cache): it may have just changed it."""
    cache: dict[str, Any] | None = connection.info.get(_KEY)
    if cache is None:
        return load()
    if tx is not None and touches_config(item.table for item in tx.touched):
        cache.clear()
        return load()
    if name not in cache:
        cache[name] = load()
    return cache[name]  # type: ignore[no-any-return]


def touches_config(tables: Iterable[str]) -> bool:
    return any(table in CONFIG_TABLES for table in tables)


def forget(connection: Connection) -> None:
    """Empty the cache (a mutation changed the configuration)."""
    cache: dict[str, Any] | None = connection.info.get(_KEY)
    if cache is not None:
        cache.clear()
