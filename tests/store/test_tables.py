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

from supportdesk.store import tables, tables_source

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
    assert set(tables.every_table().tables) == set(tables_source.source_metadata().tables)
    assert len(tables.every_table().tables) >= 40


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:  # type: ignore[attr-defined]
        return ("callable", inspect.unwrap(default.arg))  # type: ignore[attr-defined]
    return ("scalar", default.arg, type(default.arg))  # type: ignore[attr-defined]


def _column(column: Column[Any]) -> tuple[Any, ...]:
    computed = column.computed
    return (
        column.name,
        type(column.type).__mro__[:2],
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
    core = tables.every_table().tables[name]
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
def test_sqlmodel_and_the_tables_share_one_set_of_column_types(first: str) -> None:
    """Whichever is imported first, the models and the Core tables use the very same classes."""
    same = _run(
        f"import {first}, supportdesk.store.tables as t, supportdesk.store.models as m, sqlmodel.sql.sqltypes as s; "
        "c = t.table('ticket').c; "
        "print(type(c.created_at.type) is s.UTCDateTime is type(m.Ticket.__table__.c.created_at.type), "
        "type(c.subject.type) is s.AutoString is type(m.Ticket.__table__.c.subject.type))"
    )
    assert same == "True True"
