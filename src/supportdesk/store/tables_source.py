"""Writes :mod:`supportdesk.store.tables` — the store's tables as plain SQLAlchemy Core — from the
SQLModel classes (:mod:`supportdesk.store.models`), which stay the one place the schema is written.

Why: the write path (:mod:`supportdesk.domain.tx`) needs only Core tables, but taking them from
``SQLModel.metadata`` meant building all ~50 SQLModel classes (pydantic models and ORM mappers) in
every ``supportdesk tickets create``: ~200 ms of a write process (issue 19). The generated module
builds the same tables in a few ms. It is never edited by hand: after a change to the models, run

    .venv/bin/python -m supportdesk.store.tables_source

``tests/store/test_tables.py`` fails while the file differs from what this renders, and checks
that each generated table equals its SQLModel table column for column (types and DDL on SQLite
and PostgreSQL, keys, nullability, Python-side defaults, indexes, constraints).
"""

from __future__ import annotations

import enum
import inspect
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, ForeignKeyConstraint, Index, MetaData, Table, UniqueConstraint
from sqlalchemy.sql.elements import TextClause

TARGET = Path(__file__).with_name("tables.py")

_HEADER = '''"""The store's tables as plain SQLAlchemy Core, for the write path — GENERATED, do not edit.

Rendered from the SQLModel classes (supportdesk.store.models) by
``python -m supportdesk.store.tables_source``; tests/store/test_tables.py proves the two equal.
Importing this builds no SQLModel class (no pydantic model, no ORM mapper), and no table: each
is built when first asked for, through supportdesk.store.core_tables (a write uses a dozen of the ~50).
"""

# ruff: noqa: E501
'''


_ACCESS = """metadata = MetaData()
"""


class _Imports:
    """The names the rendered module needs, by module."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}

    def use(self, module: str, name: str) -> str:
        self.names.setdefault(module, set()).add(name)
        return name

    def render(self) -> str:
        lines = ["from __future__ import annotations", ""]
        for module in sorted(self.names, key=lambda m: (not m.startswith(("datetime", "enum")), m)):
            lines.append(f"from {module} import {', '.join(sorted(self.names[module]))}")
        return "\n".join(lines)


#: Where the rendered module takes a column type from, by the module that defines it: SQLModel's
#: types through :mod:`supportdesk.store.column_types`, which loads them without SQLModel.
_TYPE_HOMES = {"sqlmodel.sql.sqltypes": "supportdesk.store.column_types"}


def _type(column: Column[Any], imports: _Imports) -> str:
    kind = type(column.type)
    module = "sqlalchemy" if kind.__module__.startswith("sqlalchemy") else kind.__module__
    imports.use(_TYPE_HOMES.get(module, module), kind.__name__)
    return repr(column.type)


def _value(value: Any, imports: _Imports) -> str:
    if isinstance(value, enum.Enum):
        imports.use(type(value).__module__, type(value).__name__)
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, datetime):
        imports.use("datetime", "datetime")
        imports.use("datetime", "UTC")
        offset = value.utcoffset()
        if offset is None or offset.total_seconds() != 0:
            raise ValueError(f"cannot render the default {value!r}: only UTC datetimes")
        return repr(value.replace(tzinfo=None))[len("datetime.") : -1] + ", tzinfo=UTC)"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise ValueError(f"cannot render the default {value!r}")


def _callable(function: Any, imports: _Imports) -> str:
    function = inspect.unwrap(function)
    module, name = function.__module__, function.__qualname__
    if "." in name or "<" in name:
        raise ValueError(f"cannot render the default {function!r}: not a module-level function")
    return imports.use(module, name)


def _text(clause: Any, imports: _Imports) -> str:
    if not isinstance(clause, TextClause):
        raise ValueError(f"cannot render {clause!r}: only text() clauses")
    return f"{imports.use('sqlalchemy', 'text')}({clause.text!r})"


def _column(column: Column[Any], imports: _Imports) -> str:
    parts = [repr(column.name), _type(column, imports)]
    for key in column.foreign_keys:
        if key.constraint is not None and len(key.constraint.elements) > 1:
            continue  # a composite key: rendered with the table
        options = "".join(
            f", {option}={getattr(key, option)!r}"
            for option in ("ondelete", "onupdate", "deferrable", "initially")
            if getattr(key, option) is not None
        )
        parts.append(f"{imports.use('sqlalchemy', 'ForeignKey')}({key.target_fullname!r}{options})")
    if column.computed is not None:
        expression, persisted = _text(column.computed.sqltext, imports), column.computed.persisted
        parts.append(f"{imports.use('sqlalchemy', 'Computed')}({expression}, persisted={persisted!r})")
    if column.primary_key:
        parts.append("primary_key=True")
    parts.append(f"nullable={column.nullable!r}")
    if column.autoincrement != "auto":
        parts.append(f"autoincrement={column.autoincrement!r}")
    for flag in ("unique", "index"):  # None (unsaid) and False are kept apart, as in the models
        if getattr(column, flag) is not None:
            parts.append(f"{flag}={getattr(column, flag)!r}")
    default = column.default
    if default is not None:
        if getattr(default, "is_callable", False):
            parts.append(f"default={_callable(default.arg, imports)}")  # type: ignore[attr-defined]
        elif getattr(default, "is_scalar", False):
            parts.append(f"default={_value(default.arg, imports)}")  # type: ignore[attr-defined]
        else:
            raise ValueError(f"cannot render the default of {column}")
    if column.server_default is not None and column.computed is None:
        raise ValueError(f"cannot render the server default of {column}")
    if column.onupdate is not None or (column.server_onupdate is not None and column.computed is None):
        raise ValueError(f"cannot render the onupdate of {column}")
    return f"{imports.use('sqlalchemy', 'Column')}({', '.join(parts)})"


def _dialect_kwargs(kwargs: dict[str, Any], imports: _Imports) -> list[str]:
    rendered = []
    for key, value in sorted(kwargs.items()):
        if isinstance(value, TextClause):
            rendered.append(f"{key}={_text(value, imports)}")
        else:
            rendered.append(f"{key}={_value(value, imports)}")
    return rendered


def _index(index: Index, imports: _Imports, *, late: bool = False) -> str:
    parts = [repr(index.name)]
    for expression in index.expressions:
        if not isinstance(expression, Column):
            raise ValueError(f"cannot render the index {index.name}: only columns")
        parts.append(f"table.c[{expression.name!r}]" if late else repr(expression.name))
    if index.unique:
        parts.append("unique=True")
    parts.extend(_dialect_kwargs(dict(index.dialect_kwargs), imports))
    return f"{imports.use('sqlalchemy', 'Index')}({', '.join(parts)})"


def _table(table: Table, imports: _Imports) -> str:
    items = [repr(table.name), "metadata"]
    items.extend(_column(column, imports) for column in table.columns)
    for constraint in sorted(table.constraints, key=lambda c: (type(c).__name__, str(c.name))):
        if isinstance(constraint, UniqueConstraint) and not getattr(constraint, "_column_flag", False):
            columns = ", ".join(repr(column.name) for column in constraint.columns)
            name = f", name={constraint.name!r}" if constraint.name else ""
            items.append(f"{imports.use('sqlalchemy', 'UniqueConstraint')}({columns}{name})")
        elif isinstance(constraint, ForeignKeyConstraint) and len(constraint.elements) > 1:
            mine = ", ".join(repr(element.parent.name) for element in constraint.elements)
            theirs = ", ".join(repr(element.target_fullname) for element in constraint.elements)
            imports.use("sqlalchemy", "ForeignKeyConstraint")
            items.append(f"ForeignKeyConstraint([{mine}], [{theirs}])")
    late = []
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        if getattr(index, "_column_flag", False):
            continue
        if index.dialect_kwargs:  # SQLAlchemy loads each dialect named in them: see LATE_INDEXES
            late.append(_index(index, imports, late=True))
        else:
            items.append(_index(index, imports))
    items.extend(_dialect_kwargs(dict(table.kwargs), imports))
    body = ",\n        ".join(items)
    source = f"def _{table.name}() -> Table:\n    return Table(\n        {body},\n    )\n"
    if late:
        indexes = "\n    ".join(late)
        source += f"\n\ndef _{table.name}_late_indexes(table: Table) -> None:\n    {indexes}\n"
    return source


def _has_late_indexes(table: Table) -> bool:
    return any(index.dialect_kwargs and not getattr(index, "_column_flag", False) for index in table.indexes)


def source_metadata() -> MetaData:
    """``SQLModel.metadata`` with every table class registered: what the rendering reads."""
    from sqlmodel import SQLModel

    import supportdesk.store.models  # noqa: F401  (registers every table)

    return SQLModel.metadata


def render(metadata: MetaData | None = None) -> str:
    """The source of :mod:`supportdesk.store.tables` for ``metadata`` (default: the models')."""
    metadata = metadata if metadata is not None else source_metadata()
    imports = _Imports()
    imports.use("sqlalchemy", "MetaData")
    imports.use("sqlalchemy", "Table")
    imports.use("collections.abc", "Callable")
    names = sorted(metadata.tables)
    builders = "".join(f"    {name!r}: _{name},\n" for name in names)
    late = "".join(
        f"    {name!r}: _{name}_late_indexes,\n" for name in names if _has_late_indexes(metadata.tables[name])
    )
    bodies = [_table(metadata.tables[name], imports) for name in names]  # first: they add imports
    return "\n".join(
        [
            _HEADER,
            imports.render(),
            "",
            _ACCESS,
            *(f"\n{body}" for body in bodies),
            f"\nBUILDERS: dict[str, Callable[[], Table]] = {{\n{builders}}}\n",
            f"LATE_INDEXES: dict[str, Callable[[Table], None]] = {{\n{late}}}\n",
        ]
    )


def main() -> None:
    """Write the module, then sort its imports and format it as the rest of the code (the test
    compares syntax trees, so the formatting is free)."""
    import subprocess

    TARGET.write_text(render())
    for command in (["check", "--quiet", "--fix", "--select", "I"], ["format", "--quiet"]):
        subprocess.run([sys.executable, "-m", "ruff", *command, str(TARGET)], check=True)
    sys.stderr.write(f"wrote {TARGET}\n")


if __name__ == "__main__":
    main()
