"""SQLModel's two column types (``AutoString``, ``UTCDateTime``) without importing SQLModel.

The models use them for every text and time column, so the generated Core tables
(:mod:`supportdesk.store.tables`) must too — the very classes, not look-alikes: a time is
written and read back exactly as the models do. But ``import sqlmodel`` runs its package, which
imports pydantic's model machinery, SQLModel's ORM glue and ``sqlalchemy.orm`` — ~120 ms of a
write process that needs none of it (issue 19). The module that defines the two types needs
only SQLAlchemy, so it is loaded on its own, under its own name: when SQLModel is imported
later in the same process (the server, the console) its package finds the module already loaded
and uses the same classes. ``tests/store/test_tables.py`` checks both import orders.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

_NAME = "sqlmodel.sql.sqltypes"


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
        raise ImportError(f"cannot load {_NAME} from {path}")
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
