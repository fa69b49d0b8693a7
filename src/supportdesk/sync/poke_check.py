"""Checking a poke that carries records before any of it is applied (issue 13).

A poke comes from the event stream, so a hostile or broken server (or a proxy that mangles the
stream) can send anything: a range that is not one, a seq past what SQLite holds, records outside
the range or out of order, a row whose key is a list, a delete without a key. Applied as it came,
such a poke raised half way through the rebase (rolled back, but the console then had to guess
what went wrong) or, worse, wrote what a pull would never hand out. So the whole poke is checked
first, against the same shapes :mod:`supportdesk.sync.rebase` writes, and a poke with anything
wrong is refused whole: nothing applied, a WARNING logged, and the caller pulls as for a plain poke.

What this cannot check is whether the records are *true*: the server is the authority over the
data, in a pull as in a poke. What the console keeps to itself is its position in the log
(see :func:`supportdesk.sync.engine.apply_poke` and ARCHITECTURE.md, "Pokes that carry records").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from supportdesk.protocol import MAX_SEQ, Change
from supportdesk.sync.rows import TABLE_ORDER, spec

#: The largest seq a copy can store (SQLite's INTEGER) and a pull accepts: a poke past it is
#: refused, not overflowed.
SEQ_MAX = MAX_SEQ
#: More records than any poke carries (the server sends at most ``RECORDS_MAX`` = 40 seqs'
#: worth, under 16 KB): a poke over it is not one the server made.
CHANGES_MAX = 1_000
#: A scope is a short fingerprint; anything longer is not one.
SCOPE_MAX = 200

_OPS = frozenset({"upsert", "delete", "hide", "reveal", "erase"})
_SCALARS = (str, int, float, bool, type(None))


class BadPoke(ValueError):
    """Why a poke was refused (one readable line, for the WARNING)."""


@dataclass(frozen=True)
class Poke:
    """A checked poke: records of seqs (``first``, ``last``] for copies filled under ``scope``."""

    first: int
    last: int
    scope: str
    changes: list[Change]


def check_poke(data: Any) -> Poke | None:
    """The poke's records, checked whole; None for a plain poke (no ``changes``: pull as always).

    Raises :class:`BadPoke` when anything in it is malformed; nothing has been applied then.
    """
    if not isinstance(data, Mapping):
        raise BadPoke("a poke is not an object")
    if "changes" not in data:
        return None
    first, last, scope, changes = data.get("from"), data.get("seq"), data.get("scope"), data.get("changes")
    if not (_is_int(first) and _is_int(last)):
        raise BadPoke("from and seq must be integers")
    if not 0 <= first < last <= SEQ_MAX:
        raise BadPoke(f"({_shown(first)}, {_shown(last)}] is not a range of seqs")
    if not isinstance(scope, str) or not 0 < len(scope) <= SCOPE_MAX:
        raise BadPoke("scope must be a short string")
    if not isinstance(changes, list):
        raise BadPoke("changes must be a list")
    if len(changes) > CHANGES_MAX:
        raise BadPoke(f"{len(changes)} records: more than any poke carries")
    parsed: list[Change] = []
    previous = first
    for index, change in enumerate(changes):
        try:
            parsed.append(_check_change(change, previous, last))
        except BadPoke as error:
            raise BadPoke(f"record {index}: {error}") from None
        previous = parsed[-1].seq
    return Poke(first, last, scope, parsed)


def _shown(value: Any) -> str:
    """A value from the poke as the WARNING shows it: short, and printable (it is the server's
    text, and a log line must not carry its control sequences)."""
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return "".join(c if c.isprintable() else "?" for c in shown)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_change(change: Any, after: int, last: int) -> Change:
    if not isinstance(change, Mapping):
        raise BadPoke("not an object")
    seq, entity, op, data = change.get("seq"), change.get("entity"), change.get("op"), change.get("data")
    if not _is_int(seq) or not after < seq <= last:
        raise BadPoke(f"seq {_shown(seq)} is not after {after} and within the poke's range (…, {last}]")
    if not isinstance(entity, str) or op not in _OPS or not isinstance(data, Mapping):
        raise BadPoke("entity, op or data malformed")
    if op == "upsert":
        _check_row(entity, data)
    elif op == "delete":
        _check_key(entity, data.get("key"))
    elif op == "hide":
        if not isinstance(data.get("ticket_id"), str):
            raise BadPoke("a hide names no ticket")
    elif op == "reveal":
        _check_reveal(data)
    elif op == "erase" and not isinstance(data.get("customer_id"), str):
        raise BadPoke("an erasure names no customer")
    return Change(seq=seq, entity=entity, op=op, data=dict(data))


def _check_table(entity: str) -> None:
    if entity not in TABLE_ORDER:
        raise BadPoke(f"{_shown(entity)} is not a shared table")


def _check_row(entity: str, row: Any) -> None:
    """A row as :func:`supportdesk.sync.rows.upsert_rows` writes it: its key present and scalar,
    every column a value SQLite takes (JSON columns any JSON)."""
    _check_table(entity)
    if not isinstance(row, Mapping):
        raise BadPoke(f"a {entity} row is not an object")
    table = spec(entity)
    for name in table.key:
        if row.get(name) is None:
            raise BadPoke(f"a {entity} row without its key {name}")
    for name in table.columns:
        value = row.get(name)
        if name in table.json:
            continue
        if not isinstance(value, _SCALARS) or (isinstance(value, int) and not -SEQ_MAX - 1 <= value <= SEQ_MAX):
            raise BadPoke(f"{entity}.{name} is not a plain value")


def _check_key(entity: str, key: Any) -> None:
    _check_table(entity)
    size = len(spec(entity).key)
    if not isinstance(key, list) or len(key) != size or not all(_plain_key(part) for part in key):
        raise BadPoke(f"a {entity} delete without its key of {size}")


def _plain_key(value: Any) -> bool:
    return isinstance(value, str) or (_is_int(value) and -SEQ_MAX - 1 <= value <= SEQ_MAX)


def _check_reveal(data: Mapping[str, Any]) -> None:
    if not isinstance(data.get("ticket_id"), str):
        raise BadPoke("a reveal names no ticket")
    bundle = data.get("rows", {})
    if not isinstance(bundle, Mapping):
        raise BadPoke("a reveal's rows are not an object")
    for table_name, rows in bundle.items():
        if table_name not in TABLE_ORDER:
            continue  # a pull ignores tables it does not know (a newer server's): so does a poke
        if not isinstance(rows, list):
            raise BadPoke(f"a reveal's {table_name} rows are not a list")
        for row in rows:
            _check_row(table_name, row)
