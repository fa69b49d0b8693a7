"""Run a cached Core statement straight on the driver's cursor: compiled once per dialect.

Why: a pushed mutation runs ~5 small statements per note, and SQLAlchemy's per-statement path
(``Connection.execute``: cache key, execution context, parameter processing, result set-up,
events) costs 3-4 times the driver's own ``execute`` under it (issue 19). The statements of the
write path are built once and kept (``functools.cache`` in :mod:`supportdesk.domain.tx`), so
everything SQLAlchemy works out per call can be worked out once: the SQL text in the driver's
parameter style, the order of its bind parameters, each one's bind processor, the Python
defaults of the columns an ``INSERT`` leaves out, and each result column's result processor.

What stays SQLAlchemy's: the transaction (the statement runs on the very DBAPI connection the
:class:`~sqlalchemy.engine.Connection` holds, inside the transaction it began, so savepoints,
commit, rollback and their events are untouched), the type processing (the processors are
SQLAlchemy's own, taken from the dialect, so a ``UTCDateTime``, JSON or Boolean value is
written and read exactly as through ``Connection.execute``) and the errors (a driver error goes
through the Connection's own handling: wrapped as ``IntegrityError``/``OperationalError``…,
disconnects invalidate the connection). Values are always bound as parameters, never formatted
into the SQL.

What is not SQLAlchemy's: the cursor events (``before_cursor_execute``) do not fire; nothing in
the application listens to them, and the benchmarks count these statements with
:func:`count_statements`. A statement this module cannot run (no transaction begun yet, so
SQLAlchemy's autobegin and its ``BEGIN IMMEDIATE`` must run first; ``IN`` lists expanded at run
time; ``RETURNING``; defaults computed by SQL) goes through ``Connection.execute`` unchanged.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None

#: Called with each statement's SQL text as it runs here (benchmarks count statements with it).
_statement_listeners: list[Callable[[str], None]] = []


@contextmanager
def count_statements(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener(sql)`` for each statement run by this module while the block runs: what
    SQLAlchemy's ``before_cursor_execute`` event tells about the statements it runs itself."""
    _statement_listeners.append(listener)
    try:
        yield
    finally:
        _statement_listeners.remove(listener)


class Unsupported(Exception):
    """The statement needs SQLAlchemy's own execution path (see the module's docstring)."""


@dataclass(frozen=True)
class _Bind:
    """One bind parameter: where its value comes from and how it is processed."""

    key: str  # the key in the caller's parameters (a bindparam's key, an INSERT's column key)
    name: str  # the name in the compiled statement (also accepted as a key, as SQLAlchemy does)
    required: bool
    fixed: Any  # the value when the caller gives none and it is not required
    processor: Processor
    index: int | None = None  # an element of an ``IN`` list: its place in the caller's list


@dataclass
class PreparedStatement:
    """A Core statement compiled for one dialect and one set of parameter keys."""

    sql: str
    positional: bool
    binds: tuple[_Bind, ...]
    #: (parameter name, Python default, whether it is a callable) of the columns an INSERT leaves
    #: out; a callable is called for each row, with no execution context (the store's take none)
    defaults: tuple[tuple[str, Any, bool], ...]
    sequence_format: Callable[[list[Any]], Sequence[Any]]
    #: (key, type) of each result column; None for a statement that returns no rows
    columns: tuple[tuple[str, Any], ...] | None
    #: result processors, known at the first execution (they depend on the driver's column types)
    result_processors: tuple[Processor, ...] | None = field(default=None)
    #: keys of the ``IN`` lists expanded at run time (``bindparam(..., expanding=True)``), the
    #: compiled statement they are expanded from, and one statement per list length seen
    expanding: tuple[str, ...] = ()
    compiled: SQLCompiler | None = None
    by_lengths: dict[tuple[int, ...], PreparedStatement] = field(default_factory=dict)

    def expanded(self, params: Mapping[str, Any]) -> PreparedStatement | None:
        """The statement for the lengths of these ``IN`` lists (lists or tuples; None for an empty
        one: SQLAlchemy writes an empty set its own way)."""
        lengths = tuple(len(params[key]) for key in self.expanding)
        found = self.by_lengths.get(lengths)
        if found is not None:
            return found
        if not all(lengths) or self.compiled is None:
            return None
        state = self.compiled.construct_expanded_state(params)
        element_of = {
            name: (original, index)
            for original, names in state.parameter_expansion.items()
            for index, name in enumerate(names)
        }
        by_name = {bind.name: bind for bind in self.binds}
        binds = []
        for name in state.positiontup if self.positional and state.positiontup else state.parameters:
            original, index = element_of.get(name, (name, None))
            bind = by_name[original]
            binds.append(_Bind(bind.key, name, bind.required, bind.fixed, bind.processor, index))
        found = PreparedStatement(
            state.statement,
            self.positional,
            tuple(binds),
            self.defaults,
            self.sequence_format,
            self.columns,
            self.result_processors,
        )
        self.by_lengths[lengths] = found
        return found

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for one set of the caller's ``params``."""
        if self.defaults:
            params = dict(params)
            for name, default, is_callable in self.defaults:
                if name not in params:
                    params[name] = default(None) if is_callable else default
        values: list[Any] = []
        for bind in self.binds:
            if bind.key in params:
                value = params[bind.key]
            elif bind.name in params:
                value = params[bind.name]
            elif bind.required:
                from sqlalchemy.exc import InvalidRequestError

                raise InvalidRequestError(f"A value is required for bind parameter {bind.key!r}", code="cd3x")
            else:
                value = bind.fixed
            if bind.index is not None:
                value = value[bind.index]
            values.append(bind.processor(value) if bind.processor is not None else value)
        if self.positional:
            return self.sequence_format(values)
        return {bind.name: value for bind, value in zip(self.binds, values, strict=True)}


def _escaped(compiled: SQLCompiler, name: str) -> str:
    return compiled.escaped_bind_names.get(name, name) if compiled.escaped_bind_names else name


def prepare(statement: Executable, dialect: Dialect, keys: Sequence[str], *, many: bool) -> PreparedStatement:
    """Compile ``statement`` for ``dialect`` as ``Connection.execute`` would with parameters of
    ``keys`` (an INSERT names only those columns); raises :class:`Unsupported` if it cannot be
    run here."""
    # for_executemany: no implicit RETURNING of an INSERT's generated key (nothing reads it here)
    compiled = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    assert isinstance(compiled, SQLCompiler)
    if (
        compiled.literal_execute_params
        or compiled.implicit_returning
        or compiled.update_prefetch
        or compiled.schema_translate_map
        or getattr(compiled, "_collected_params", None)  # values given with .params()
        or getattr(statement, "_returning", ())
    ):
        raise Unsupported
    defaults: list[tuple[str, Any, bool]] = []
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not (default.is_scalar or default.is_callable):
            raise Unsupported  # a sequence or a SQL expression
        defaults.append((column.key, default.arg, bool(default.is_callable)))  # type: ignore[attr-defined]
    by_name = {name: bindparam for bindparam, name in compiled.bind_names.items()}
    order = compiled.positiontup if compiled.positional else list(by_name)
    if order is None:
        raise Unsupported
    binds = []
    expanding = []
    for name in order:
        bindparam = by_name[name]
        if bindparam.literal_execute:
            raise Unsupported
        if bindparam.expanding:
            expanding.append(bindparam.key)
        binds.append(
            _Bind(
                key=bindparam.key,
                name=name if compiled.positional else _escaped(compiled, name),
                required=bool(bindparam.required),
                fixed=bindparam.effective_value if bindparam.callable else bindparam.value,
                processor=bindparam.type.dialect_impl(dialect).bind_processor(dialect),
            )
        )
    columns = None
    if compiled.isinsert or compiled.isupdate or compiled.isdelete:
        pass
    else:
        selected = getattr(statement, "selected_columns", None)
        if selected is None:
            raise Unsupported
        columns = tuple((column.key, column.type) for column in selected)
        if len(columns) != len(compiled._result_columns):
            raise Unsupported
    return PreparedStatement(
        sql=compiled.string,
        positional=bool(compiled.positional),
        binds=tuple(binds),
        defaults=tuple(defaults),
        sequence_format=dialect.execute_sequence_format,
        columns=columns,
        expanding=tuple(expanding),
        compiled=compiled if expanding else None,
    )


#: per dialect (engines come and go in tests): (statement, parameter keys, many) → prepared or
#: None when SQLAlchemy must run it. Statements are the callers' cached ones, so this stays small.
_prepared: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, ...], PreparedStatement | None]] = (
    weakref.WeakKeyDictionary()
)


def _lookup(
    connection: Connection, statement: Executable, keys: tuple[str, ...], many: bool
) -> PreparedStatement | None:
    dialect = connection.dialect
    cache = _prepared.get(dialect)
    if cache is None:
        cache = _prepared.setdefault(dialect, {})
    cache_key = (statement, keys, many)
    try:
        return cache[cache_key]
    except KeyError:
        pass
    try:
        prepared: PreparedStatement | None = prepare(statement, dialect, keys, many=many)
    except Unsupported:
        prepared = None
    cache[cache_key] = prepared
    return prepared


def _runnable(connection: Connection) -> bool:
    """Whether ``connection`` holds an open transaction (else SQLAlchemy runs the statement:
    its autobegin and the ``begin`` events, ``BEGIN IMMEDIATE`` on SQLite, come first)."""
    return connection.in_transaction() and not connection.invalidated


def _result_processors(prepared: PreparedStatement, dialect: Dialect, description: Any) -> tuple[Processor, ...]:
    """Each result column's processor, as SQLAlchemy picks it: from the column's type and the
    driver's type code of the column (PostgreSQL's numeric types depend on it)."""
    assert prepared.columns is not None
    processors = tuple(
        type_.dialect_impl(dialect).result_processor(dialect, entry[1])
        for (_key, type_), entry in zip(prepared.columns, description, strict=True)
    )
    prepared.result_processors = processors
    return processors


def _as_dicts(prepared: PreparedStatement, processors: tuple[Processor, ...], rows: list[Any]) -> list[dict[str, Any]]:
    assert prepared.columns is not None
    keys = [key for key, _type in prepared.columns]
    if not any(processors):
        return [dict(zip(keys, row, strict=True)) for row in rows]
    return [
        {
            key: (processor(value) if processor is not None else value)
            for key, processor, value in zip(keys, processors, row, strict=True)
        }
        for row in rows
    ]


def _on_cursor(
    connection: Connection, sql: str, parameters: Any, *, many: bool, fetch: int, describe: bool = False
) -> tuple[list[Any], Any]:
    """Run ``sql`` with the driver's ``parameters`` on the DBAPI connection ``connection`` holds,
    in its transaction; the rows asked for (``fetch``: 0 none, 1 the first, -1 all) and, with
    ``describe`` and rows found, the cursor's description (else None: psycopg builds it afresh on
    every read, a tenth of a small statement's cost). Errors go through SQLAlchemy's own handling."""
    cursor = None
    try:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for listener in _statement_listeners:
            listener(sql)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        if not fetch:
            rows: list[Any] = []
        elif fetch == 1:
            first = cursor.fetchone()
            rows = [] if first is None else [first]
        else:
            rows = list(cursor.fetchall())
        description = cursor.description if describe and rows else None
        cursor.close()  # SQLite: resets the statement, so no read snapshot outlives it
    except BaseException as error:
        # SQLAlchemy's own handling: the same wrapped exception, a disconnect invalidated
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
    return rows, description


def _run(
    connection: Connection,
    prepared: PreparedStatement,
    params: Any,  # one mapping, or a sequence of them when ``many``
    *,
    many: bool = False,
    fetch: int = 0,  # 0: no rows; 1: the first row; -1: every row
) -> list[dict[str, Any]]:
    """Run ``prepared`` on the DBAPI connection ``connection`` holds, in its transaction."""
    parameters: Any = None
    try:
        parameters = [prepared.parameters(one) for one in params] if many else prepared.parameters(params)
    except BaseException as error:
        connection._handle_dbapi_exception(error, prepared.sql, parameters, None, None)
    processors = prepared.result_processors
    rows, description = _on_cursor(
        connection, prepared.sql, parameters, many=many, fetch=fetch, describe=bool(fetch) and processors is None
    )
    if not rows:
        return []
    if processors is None:
        processors = _result_processors(prepared, connection.dialect, description)
    return _as_dicts(prepared, processors, rows)


def _prepared_for(connection: Connection, statement: Executable, params: Mapping[str, Any]) -> PreparedStatement | None:
    """What runs ``statement`` with ``params`` on the driver's cursor, or None: SQLAlchemy runs it."""
    if not _runnable(connection):
        return None
    prepared = _lookup(connection, statement, tuple(params), False)
    if prepared is not None and prepared.expanding:
        return prepared.expanded(params)
    return prepared


def execute(connection: Connection, statement: Executable, params: Mapping[str, Any]) -> None:
    """``connection.execute(statement, params)`` for a statement that returns no rows."""
    prepared = _prepared_for(connection, statement, params)
    if prepared is None or prepared.columns is not None:
        connection.execute(statement, params)
        return
    _run(connection, prepared, params)


def execute_many(connection: Connection, statement: Executable, params: Sequence[Mapping[str, Any]]) -> None:
    """``connection.execute(statement, params)`` with a list of parameter sets (an executemany);
    every set must name the same keys as the first, as SQLAlchemy's compiled statement does."""
    if not params:
        return
    keys = tuple(params[0])
    prepared = _lookup(connection, statement, keys, True) if _runnable(connection) else None
    if (
        prepared is None
        or prepared.columns is not None
        or prepared.expanding
        or any(len(one) != len(keys) for one in params)
    ):
        connection.execute(statement, list(params))
        return
    if len(params) == 1:
        # one row: a plain execute (psycopg runs an executemany as a pipeline, several times the
        # cost of one statement; a push of one mutation inserts its log record and result so)
        _run(connection, prepared, params[0])
        return
    _run(connection, prepared, params, many=True)


def first(connection: Connection, statement: Executable, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """``connection.execute(statement, params).mappings().first()`` as a plain dict."""
    prepared = _prepared_for(connection, statement, params)
    if prepared is None or prepared.columns is None:
        found = connection.execute(statement, params).mappings().first()
        return dict(found) if found is not None else None
    rows = _run(connection, prepared, params, fetch=1)
    return rows[0] if rows else None


def every(connection: Connection, statement: Executable, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``connection.execute(statement, params).mappings().all()`` as plain dicts."""
    prepared = _prepared_for(connection, statement, params)
    if prepared is None or prepared.columns is None:
        return [dict(row) for row in connection.execute(statement, params).mappings()]
    return _run(connection, prepared, params, fetch=-1)


@contextmanager
def sent_with_commit(connection: Connection) -> Iterator[None]:
    """End ``connection``'s transaction at the end of the block, sending the block's statements
    with the ``COMMIT`` in one round trip (PostgreSQL; elsewhere the block runs as it is and the
    caller's transaction commits as it would).

    Why: what a push writes after it takes its seqs (its change records, its stored results, its
    poke) holds the seq counter until the commit, and every other push waits on that row. Sent
    one by one, each statement was a round trip — and, in a busy process, a wait for the GIL
    before the next could go — with the counter held all along. In psycopg's pipeline mode they
    are queued and go with the ``COMMIT`` and one sync: the counter is held for the server's own
    work. Only statements that return no rows belong in the block (a read would wait for its
    answer). SQLAlchemy's transaction is left to end as usual: its ``COMMIT`` finds none open
    and sends nothing; a failure anywhere in the block leaves the transaction to roll back.
    """
    if connection.dialect.name != "postgresql" or not _runnable(connection):
        yield
        return
    dbapi_connection: Any = connection.connection.dbapi_connection
    failed = False
    try:
        with dbapi_connection.pipeline():
            try:
                yield
            except BaseException:
                failed = True  # its own error, already SQLAlchemy's; the pipeline is left as is
                raise
            for listener in _statement_listeners:
                listener("COMMIT")
            with dbapi_connection.cursor() as cursor:
                cursor.execute("COMMIT", prepare=False)  # queued: sent with the sync at the exit
    except Exception as error:
        if failed:
            raise
        connection._handle_dbapi_exception(error, "COMMIT", None, None, None)


#: (parameter style, SQL written with ``?``) → the SQL in that style
_in_style: dict[tuple[str, str], str] = {}


def _styled(dialect: Dialect, sql: str) -> str:
    key = (dialect.paramstyle, sql)
    found = _in_style.get(key)
    if found is None:
        if dialect.paramstyle == "qmark":
            found = sql
        elif dialect.paramstyle in ("format", "pyformat"):
            found = sql.replace("%", "%%").replace("?", "%s")
        else:  # pragma: no cover - the store's drivers are sqlite3 and psycopg
            raise Unsupported(dialect.paramstyle)
        _in_style[key] = found
    return found


def run_sql(
    connection: Connection,
    sql: str,
    params: Sequence[Any] = (),
    *,
    many: bool = False,
    fetch: bool = False,
) -> list[tuple[Any, ...]]:
    """A statement the caller wrote as SQL, with ``?`` for each value, on the driver's cursor.

    For the push's own statements (the client row, the seq counter, the change records' rows),
    which SQLAlchemy ran as ``text()``: values are bound as given and rows come back as the
    driver's tuples — what ``text()`` does too, since it knows no column types — without its
    per-statement work. ``many``: ``params`` is a list of value tuples (an executemany).
    ``fetch``: every row is read (a ``RETURNING`` too: SQLite finishes the statement only then).
    Without a transaction begun yet it runs through ``exec_driver_sql`` (SQLAlchemy's autobegin).
    The SQL must hold no ``?`` other than the placeholders (no literal strings with one).
    """
    styled = _styled(connection.dialect, sql)
    if not _runnable(connection):
        result = connection.exec_driver_sql(styled, list(params) if many else tuple(params))
        return [tuple(row) for row in result] if fetch else []
    rows, _description = _on_cursor(connection, styled, params, many=many, fetch=-1 if fetch else 0)
    return rows
