"""SQLModel's two column types (``AutoString``, ``UTCDateTime``) without importing SQLModel.

The models use them for every text and time column, so the generated Core tables
(:mod:`supportdesk.store.tables`) must too — the very classes, not look-alikes: a time is
written and read back exactly as the models do. But ``import sqlmodel`` runs its package, which
imports pydantic's model machinery, SQLModel's ORM glue and ``sqlalchemy.orm`` — ~120 ms of a
write process that needs none of it (issue 19). The module that defines the two types needs
only SQLAlchemy, so its file is loaded on its own, under a name of ours: the same code, so the
same behaviour, as classes of their own (``tests/store/test_tables.py`` compares the tables'
types with the models' by source file and name, and the DDL and values they produce). Not under
SQLModel's name: a module registered there before its package would never become the package's
attribute, and ``sqlmodel.sql.sqltypes.AutoString`` (as the migrations spell it) would fail.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

_NAME = "supportdesk.store._sqlmodel_sqltypes"


def _sqltypes() -> ModuleType:
    loaded = sys.modules.get(_NAME)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("sqlmodel")  # finds the package without running it
    if package is None or not package.submodule_search_locations:
        raise ImportError("SQLModel is not installed")
    path = Path(next(iter(package.submodule_search_locations))) / "sql" / "sqltypes.py"
    spec = importlib.util.spec_from_file_location(_NAME, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load SQLModel's column types from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_NAME]
        raise
    return module


if TYPE_CHECKING:
    from sqlmodel.sql.sqltypes import AutoString, UTCDateTime
else:
    AutoString = _sqltypes().AutoString
    UTCDateTime = _sqltypes().UTCDateTime

__all__ = ["AutoString", "UTCDateTime"]
