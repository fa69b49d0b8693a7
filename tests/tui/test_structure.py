"""The console's modules import each other in one direction, and screens and widgets read the
store only through the read facade (``tui/db.py``)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.import_graph import circles, import_graph

TUI = Path(__file__).resolve().parents[2] / "src" / "supportdesk" / "tui"


def test_no_import_circle_in_the_console() -> None:
    assert circles("supportdesk.tui") == []


def test_screens_never_import_the_app() -> None:
    graph = import_graph("supportdesk.tui")
    for module, imports in graph.items():
        if module != "supportdesk.tui.app" and module != "supportdesk.tui":
            assert "supportdesk.tui.app" not in imports, module


def test_only_the_facade_touches_connections_and_rows() -> None:
    """Screens and widgets ask ConsoleDB for typed objects; no sqlite3, no connection, no SQL."""
    banned = re.compile(
        r"\bimport sqlite3\b|\bsqlite3\.|\.execute\(|\.reading\(\)|\.connect\(|\bas connection\b"
        r"|db\._read|db\._local|local_state\.(load|save|mark|delete|draft)_"
    )
    for path in TUI.rglob("*.py"):
        if path.name in ("db.py", "writes.py"):  # the facade, and the write path (mutations)
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert not banned.search(line), f"{path.relative_to(TUI)}:{number}: {line.strip()}"


def test_what_grows_with_the_store_is_marked_worker_only() -> None:
    from supportdesk.tui.db import ConsoleDB

    worker_only = {name for name, value in vars(ConsoleDB).items() if getattr(value, "worker_only", False)}
    assert {
        "queue_page",
        "queue_count",
        "queue_anchors",
        "view_count",
        "search_articles",
        "suggest_articles",
        "search_customers",
        "report",
        "self_service",
        "macro_preview",
        "save_draft",
        "delete_draft",
        "mark_seen",
        "ended_snoozes",
        "suggest_macros",
        "summary",
        "update_vectors",
        "similar_tickets",
        "trends",
    } == worker_only
