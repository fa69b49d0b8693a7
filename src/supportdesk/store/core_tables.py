"""The write path's way to the store's Core tables: each built on first use, once.

The tables themselves are generated (:mod:`supportdesk.store.tables`, from the models); what is
written by hand — building a table on demand, safely from several threads, and the whole schema
for tools — lives here, so the generator renders only data and this code exists once.
"""

from __future__ import annotations

from threading import Lock

from sqlalchemy import MetaData, Table

from supportdesk.store.tables import BUILDERS, LATE_INDEXES, metadata

#: The tables built so far. Not ``metadata.tables``: SQLAlchemy enters a table there before its
#: columns are made, and another thread of the server must never see one half built.
_built: dict[str, Table] = {}
_building = Lock()


def table(name: str) -> Table:
    """The table ``name``, built on first use (KeyError for a name that is no table)."""
    found = _built.get(name)
    if found is not None:
        return found
    builder = BUILDERS[name]
    with _building:  # two threads may ask at once; a table is defined once
        if name not in _built:
            _built[name] = builder()
        return _built[name]


def every_table() -> MetaData:
    """The metadata with every table built, and with the indexes whose conditions are written per
    database (``sqlite_where``/``postgresql_where``): declaring one makes SQLAlchemy load every
    dialect it names (~100 ms for PostgreSQL's), and the write path, which never creates an
    index, has no use for them. For tools and tests that walk the whole schema."""
    for name in BUILDERS:
        table(name)
    with _building:
        for name, add in LATE_INDEXES.items():
            if not any(index.dialect_kwargs for index in _built[name].indexes):
                add(_built[name])
    return metadata
