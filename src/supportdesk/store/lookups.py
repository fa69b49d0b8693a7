"""Find one agent, group, macro, article or view by the name a person would type.

Plain ``sqlite3`` reads (no ORM), so a command resolves ``--assign dana@acme.test`` or
``--macro "Refund: first answer"`` before deciding whether it has anything to write at all.
Every finder accepts an id too; names compare without regard to case, and a name shared by two
rows finds nothing rather than guessing.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def _one(rows: list[sqlite3.Row]) -> dict[str, Any] | None:
    return dict(rows[0]) if len(rows) == 1 else None


def find_agent(connection: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    """An agent by id, email or exact name."""
    ref = ref.strip()
    for sql, value in (
        ("SELECT * FROM agent WHERE id = ?", ref),
        ("SELECT * FROM agent WHERE email = ?", ref.lower()),
        ("SELECT * FROM agent WHERE lower(name) = ? LIMIT 2", ref.lower()),
    ):
        found = _one(connection.execute(sql, (value,)).fetchall())
        if found is not None:
            return found
    return None


def find_group(connection: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    """A group by id, name or address."""
    ref = ref.strip()
    for sql, value in (
        ("SELECT * FROM groups WHERE id = ?", ref),
        ("SELECT * FROM groups WHERE lower(name) = ? LIMIT 2", ref.lower()),
        ("SELECT * FROM groups WHERE email = ?", ref.lower()),
    ):
        found = _one(connection.execute(sql, (value,)).fetchall())
        if found is not None:
            return found
    return None


def _macro(row: sqlite3.Row) -> dict[str, Any]:
    macro = dict(row)
    macro["actions"] = json.loads(macro["actions"]) if macro["actions"] else []
    macro["public"] = bool(macro["public"])
    macro["active"] = bool(macro["active"])
    return macro


def find_macro(connection: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    """A macro by id or name (active or not)."""
    ref = ref.strip()
    rows = connection.execute("SELECT * FROM macro WHERE id = ?", (ref,)).fetchall()
    if not rows:
        rows = connection.execute("SELECT * FROM macro WHERE lower(name) = ? LIMIT 2", (ref.lower(),)).fetchall()
    return _macro(rows[0]) if len(rows) == 1 else None


def all_macros(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every macro, active or not, by name."""
    return [_macro(row) for row in connection.execute("SELECT * FROM macro ORDER BY name COLLATE NOCASE, id")]


def find_article(connection: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    """A knowledge-base article by id or slug."""
    ref = ref.strip()
    row = connection.execute("SELECT * FROM kb_article WHERE id = ? OR slug = ?", (ref, ref.lower())).fetchone()
    return dict(row) if row else None


def all_articles(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute("SELECT * FROM kb_article ORDER BY slug")]


def find_view(connection: sqlite3.Connection, ref: str, me: str | None) -> dict[str, Any] | None:
    """A saved view this agent sees (their own or a shared one) by id or name; their own wins."""
    ref = ref.strip()
    row = connection.execute("SELECT * FROM saved_view WHERE id = ?", (ref,)).fetchone()
    if row is not None:
        return dict(row)
    rows = connection.execute(
        "SELECT * FROM saved_view WHERE lower(name) = ? AND (owner_id IS NULL OR owner_id = ?) "
        "ORDER BY owner_id IS NULL",
        (ref.lower(), me),
    ).fetchall()
    return dict(rows[0]) if rows else None
