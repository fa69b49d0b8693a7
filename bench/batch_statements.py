"""Where a ``batch``'s time in SQLite goes: every statement timed at the driver, per line.

    .venv/bin/python bench/batch_statements.py WORKSPACE LINES.jsonl [--top 25]

Runs ``supportdesk -w WORKSPACE batch LINES.jsonl`` in this process with ``sqlite3``'s connect
given a connection class whose cursors time ``execute``/``executemany`` and whose ``commit`` is
timed, then prints the statements by total time, in ms per line of input (the input's line
count). Writes into WORKSPACE: give it a copy. SQLAlchemy's pysqlite dialect calls
``sqlite3.dbapi2.connect``, so both names are replaced.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sqlite3
import sqlite3.dbapi2
import sys
import time
from pathlib import Path
from typing import Any

_TIMES: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])


def _count(key: str, started: float) -> None:
    entry = _TIMES[key]
    entry[0] += 1
    entry[1] += time.perf_counter() - started


class _TimedCursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        started = time.perf_counter()
        try:
            return super().execute(sql, *args)
        finally:
            _count(" ".join(sql.split())[:100], started)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        started = time.perf_counter()
        try:
            return super().executemany(sql, *args)
        finally:
            _count("(many) " + " ".join(sql.split())[:93], started)


class _TimedConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _TimedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self.cursor().execute(sql, *args)

    def commit(self) -> None:
        started = time.perf_counter()
        try:
            super().commit()
        finally:
            _count("commit()", started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("lines", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    count = sum(1 for _ in args.lines.open())
    connect = sqlite3.connect

    def timed_connect(*positional: Any, **keywords: Any) -> sqlite3.Connection:
        keywords.setdefault("factory", _TimedConnection)
        return connect(*positional, **keywords)

    sqlite3.connect = sqlite3.dbapi2.connect = timed_connect  # type: ignore[assignment]
    os.environ["SUPPORTDESK_COMMAND_SERVER"] = "off"
    from supportdesk.cli.main import run_here

    real_stdout = sys.stdout
    started, cpu = time.perf_counter(), time.process_time()
    with Path(os.devnull).open("w") as answers, contextlib.suppress(SystemExit):
        sys.stdout = answers  # the batch's result lines
        run_here(["-w", str(args.workspace), "batch", str(args.lines)])
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    sys.stdout = real_stdout
    total = sum(seconds for _, seconds in _TIMES.values())
    print(f"{count} lines: {wall:.2f} s wall, {cpu:.2f} s CPU; SQLite {total * 1000 / count:.3f} ms a line")
    for key, (calls, seconds) in sorted(_TIMES.items(), key=lambda item: -item[1][1])[: args.top]:
        print(f"{seconds * 1000 / count:8.3f} ms a line  {int(calls):7d} calls  {key}")


if __name__ == "__main__":
    main()
