"""Fixtures for the assist engine: a demo workspace with its vector index built once.

Tests that only read share ``indexed_demo``; a test that writes copies it first. Language
detection in most tests uses three languages (Lingua loads each language's model on first
use, and ten take seconds); the quality test uses the full list.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from supportdesk.assist import index
from supportdesk.store.workspace import DB_NAME, Workspace

LANGUAGES = ("de", "en", "fr")


@pytest.fixture(scope="session")
def indexed_demo(demo_workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("assist-demo") / "ws"
    root.mkdir()
    with closing(demo_workspace.connect()) as source, closing(sqlite3.connect(root / DB_NAME)) as target:
        source.backup(target)
    workspace = Workspace.open(root)
    with closing(workspace.connect()) as connection:
        index.build(connection)
    return workspace


@pytest.fixture
def writable_demo(indexed_demo: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "attachments").mkdir()
    with closing(indexed_demo.connect()) as source, closing(sqlite3.connect(root / DB_NAME)) as target:
        source.backup(target)
    workspace = Workspace.open(root)
    yield workspace
    workspace.close()
