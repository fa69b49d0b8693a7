"""Semantic terms of the query language: ``~"money taken twice"`` finds tickets by meaning.

The store cannot read meaning itself (the models are the assist engine's, a layer above), so a
term compiles to ``t.rowid IN (SELECT value FROM json_each(semantic_rowids(:text)))`` and the
SQL function is answered by a **resolver** the assist engine registers
(:func:`set_resolver`, from the CLI's and the console's start): it takes the connection and the
text and returns the best-matching tickets' rowids. Every workspace connection gets the function
when it opens (:func:`install`). SQLite runs the uncorrelated subquery once per statement, so
the term combines with every other term (``~"refund" status:open -tag:spam``) as a plain set.

Where no resolver is registered (the server, which keeps no vectors) the term is a
:class:`QueryError`, never a failing statement.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

Resolver = Callable[[sqlite3.Connection, str], list[int]]
FUNCTION = "semantic_rowids"
_resolver: list[Resolver] = []


def set_resolver(resolver: Resolver | None) -> None:
    """Answer semantic terms with ``resolver`` in this process (None: no semantic search)."""
    _resolver[:] = [resolver] if resolver is not None else []


def available() -> bool:
    return bool(_resolver)


def install(connection: sqlite3.Connection) -> None:
    """Give ``connection`` the SQL function semantic terms compile to (when a resolver is set)."""
    if not _resolver:
        return
    resolver = _resolver[0]

    def rowids(text: object) -> str:
        return json.dumps(resolver(connection, str(text or "")))

    connection.create_function(FUNCTION, 1, rowids, deterministic=True)


def condition(placeholder: str) -> str:
    """The SQL condition of one semantic term whose text is bound to ``placeholder``."""
    return f"t.rowid IN (SELECT value FROM json_each({FUNCTION}({placeholder})))"
