"""The write path's Core tables (store/tables.py, generated) against the SQLModel classes.

The generated module is never edited by hand; these tests fail when it is out of date (a model
changed and nobody ran ``python -m supportdesk.store.tables_source``) or when the rendering
loses anything the write path or a migration check would notice.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from supportdesk.store import core_tables, tables_source

DIALECTS = (sqlite.dialect(), postgresql.dialect())


def _tree(source: str) -> str:
    """The module's syntax tree, its imports in one order (the generator leaves their sorting and
    the layout to ruff)."""
    module = ast.parse(source)
    imports = [node for node in module.body if isinstance(node, ast.ImportFrom)]
    for node in imports:
        node.names.sort(key=lambda alias: alias.name)
    imports.sort(key=lambda node: str(node.module))
    rest = [node for node in module.body if not isinstance(node, ast.ImportFrom)]
    return ast.dump(ast.Module(body=[*imports, *rest], type_ignores=[]))


def test_the_generated_module_is_what_the_models_render() -> None:
    rendered, on_disk = _tree(tables_source.render()), _tree(tables_source.TARGET.read_text())
    assert rendered == on_disk, "store/tables.py is stale: run python -m supportdesk.store.tables_source"


def test_the_same_tables() -> None:
    assert set(core_tables.every_table().tables) == set(tables_source.source_metadata().tables)
    assert len(core_tables.every_table().tables) >= 40


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:  # type: ignore[attr-defined]
        return ("callable", inspect.unwrap(default.arg))  # type: ignore[attr-defined]
    return ("scalar", default.arg, type(default.arg))  # type: ignore[attr-defined]


def _kind(value_type: Any) -> tuple[str, str]:
    """A column type's class by name and source file: SQLModel's own types are loaded for the
    tables from SQLModel's file under another name (store/column_types), so not the same object."""
    kind = type(value_type)
    return kind.__qualname__, inspect.getfile(kind)


def _column(column: Column[Any]) -> tuple[Any, ...]:
    computed = column.computed
    return (
        column.name,
        _kind(column.type),
        repr(column.type),
        tuple(type(column.type).compile(column.type, dialect=d) for d in DIALECTS),
        column.primary_key,
        column.nullable,
        column.autoincrement,
        column.unique,
        column.index,
        sorted((k.target_fullname, k.ondelete, k.onupdate) for k in column.foreign_keys),
        _default(column),
        column.server_default is None,
        (str(computed.sqltext), computed.persisted) if computed is not None else None,
        column.onupdate,
    )


def _index(index: Any) -> tuple[Any, ...]:
    return (
        index.name,
        tuple(e.name for e in index.expressions),
        index.unique,
        sorted((k, str(v)) for k, v in index.dialect_kwargs.items()),
        tuple(str(CreateIndex(index).compile(dialect=d)) for d in DIALECTS),
    )


def _constraints(table: Table) -> list[tuple[Any, ...]]:
    return sorted(
        (type(c).__name__, str(c.name), tuple(column.name for column in c.columns)) for c in table.constraints
    )


@pytest.mark.parametrize("name", sorted(tables_source.source_metadata().tables))
def test_each_table_equals_its_sqlmodel_table_column_for_column(name: str) -> None:
    model = tables_source.source_metadata().tables[name]
    core = core_tables.every_table().tables[name]
    assert [_column(c) for c in core.columns] == [_column(c) for c in model.columns]
    assert sorted(map(_index, core.indexes)) == sorted(map(_index, model.indexes))
    assert _constraints(core) == _constraints(model)
    assert dict(core.kwargs) == dict(model.kwargs)
    for dialect in DIALECTS:
        assert str(CreateTable(core).compile(dialect=dialect)) == str(CreateTable(model).compile(dialect=dialect))


def test_the_rendering_refuses_what_it_cannot_say() -> None:
    """A default it cannot write as source (a lambda) stops the rendering instead of being lost."""
    from sqlalchemy import Integer, MetaData

    metadata = MetaData()
    Table("odd", metadata, Column("id", Integer, primary_key=True), Column("n", Integer, default=lambda: 1))
    with pytest.raises(ValueError, match="not a module-level function"):
        tables_source.render(metadata)


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_write_path_builds_no_sqlmodel_class() -> None:
    """What the change is for: the write path's handle and its tables load no model class, nor
    SQLModel's package, nor the ORM, nor PostgreSQL's dialect (a partial index names it)."""
    loaded = _run(
        "import sys, supportdesk.domain.tx as tx; tx.table('ticket'); "
        "print(sorted(m for m in sys.modules if m.startswith(('supportdesk.store.models', 'sqlalchemy.orm')) "
        "or m in ('sqlmodel', 'sqlmodel.main', 'sqlalchemy.dialects.postgresql')))"
    )
    assert loaded == "[]"


@pytest.mark.parametrize("first", ["supportdesk.store.tables", "supportdesk.store.models"])
def test_sqlmodel_still_imports_whole_whichever_comes_first(first: str) -> None:
    """The migrations spell ``sqlmodel.sql.sqltypes.AutoString``: that keeps working after the
    tables loaded SQLModel's types on their own, and the tables keep their types when SQLModel
    came first."""
    kinds = _run(
        f"import {first}, supportdesk.store.core_tables as t, sqlmodel.sql.sqltypes, supportdesk.store.models; "
        "c = t.table('ticket').c; "
        "print(sqlmodel.sql.sqltypes.AutoString.__name__, type(c.subject.type).__module__)"
    )
    assert kinds == "AutoString supportdesk.store._sqlmodel_sqltypes"


def test_the_tables_types_write_and_read_times_as_the_models_do() -> None:
    """The same code under another name: an aware time goes in as UTC and comes out aware."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlmodel.sql.sqltypes import UTCDateTime as ModelTime

    from supportdesk.store.column_types import UTCDateTime

    dialect = sqlite.dialect()
    local = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    for kind in (UTCDateTime(), ModelTime()):
        assert kind.process_bind_param(local, dialect) == datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
        assert kind.process_result_value(datetime(2026, 3, 1, 7, 30), dialect) == datetime(
            2026, 3, 1, 7, 30, tzinfo=UTC
        )
        with pytest.raises(ValueError):
            kind.process_bind_param(datetime(2026, 3, 1), dialect)


def test_threads_asking_at_once_get_one_whole_table() -> None:
    """The server's threads may ask for a table no one has asked for yet, at the same moment:
    each gets the same table, with every column (never one SQLAlchemy has entered but not
    finished)."""
    seen = _run(
        "import threading, supportdesk.store.core_tables as t\n"
        "start = threading.Barrier(8); got = []\n"
        "def ask():\n"
        "    start.wait(); table = t.table('ticket_timing'); got.append((id(table), len(table.c)))\n"
        "threads = [threading.Thread(target=ask) for _ in range(8)]\n"
        "[x.start() for x in threads]; [x.join() for x in threads]\n"
        "print(len(got), len(set(got)), got[0][1])"
    )
    columns = len(tables_source.source_metadata().tables["ticket_timing"].c)
    assert seen == f"8 1 {columns}"
