"""Attack on ``server.db.sqlite_path`` (attack19): the file it names must be the file SQLite
opens for the same URL, for every spelling SQLAlchemy accepts — else the server guards (0600) and
reads the token version of one file while its data lands, world-readable, in another.

Each URL is opened by SQLAlchemy's own engine and SQLite is asked which file it holds
(``PRAGMA database_list``); ``sqlite_path`` must name that file, or None exactly when it is in
memory. Without ``uri=true`` SQLAlchemy hands the name to SQLite as a plain file name: a
``file:`` prefix is part of the name and a ``mode=memory`` query is ignored (with a warning).
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from supportdesk.server.db import open_database, sqlite_path

SPELLINGS = [
    "sqlite:///team.db",
    "sqlite:///team.db?timeout=5",
    "sqlite+pysqlite:///team.db",
    "sqlite:///my%20team.db",
    "sqlite:///file:team.db?uri=true",
    "sqlite:///file:team.db?uri=1",
    "sqlite:///file:my%20team.db?uri=true",
    "sqlite:///file:team.db?mode=rwc&uri=true",
    "sqlite:///file:team.db?cache=shared&uri=true",
    "sqlite:///team.db?uri=true",
    "sqlite:///{tmp}/team.db",
    "sqlite:///file:{tmp}/team.db?uri=true",
    "sqlite:///file://{tmp}/team.db?uri=true",
    # without uri=true SQLite reads no URI: these name a file called "file:team.db" …
    "sqlite:///file:team.db",
    "sqlite:///file:team.db?uri=false",
    "sqlite:///file:team.db?mode=memory",
    # … and these a file on disk, whatever the ignored mode says
    "sqlite:///team.db?mode=memory",
    "sqlite:///team.db?mode=memory&cache=shared",
    # in memory
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite:///file::memory:?uri=true",
    "sqlite:///file:m1?mode=memory&cache=shared&uri=true",
]


def opened(url: str) -> str:
    """The file SQLite opens for ``url`` through SQLAlchemy ('' in memory)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns of query arguments it ignores
        engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("PRAGMA database_list").fetchall()[0][2])
    finally:
        engine.dispose()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_sqlite_path_names_the_file_sqlite_opens(
    spelling: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = spelling.format(tmp=tmp_path)
    file = opened(url)
    named = sqlite_path(url)
    if file == "":
        assert named is None
    else:
        assert named is not None, f"{url} opens {file}"
        assert (tmp_path / named).resolve() == Path(file).resolve()


@pytest.mark.parametrize("spelling", ["sqlite:///{db}?mode=memory", "sqlite:///file:{name}"])
def test_the_file_the_server_opens_is_the_one_made_private(
    spelling: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    previous = os.umask(0o022)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            database = open_database(spelling.format(db=tmp_path / "team.db", name="team.db"))
        database.dispose()
    finally:
        os.umask(previous)
    files = [path for path in tmp_path.iterdir() if path.is_file()]
    assert files, "no database file made"
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
