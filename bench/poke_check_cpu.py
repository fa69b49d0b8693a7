"""CPU to check one poke that carries records, as a console does before applying it (issue 13).

Runs whichever check the ``supportdesk`` on the path has: ``sync.poke_check.check_poke`` (every
column's value checked) or, on an older tree, ``sync.engine.poke_changes`` (pydantic only). Turn
about with main::

    git -C /work/main archive main | tar -x -C /tmp/main-src
    PYTHONPATH=/tmp/main-src/src .venv/bin/python bench/poke_check_cpu.py
    .venv/bin/python bench/poke_check_cpu.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from supportdesk.sync.rows import spec


def _row(table_name: str) -> dict[str, Any]:
    table = spec(table_name)
    row: dict[str, Any] = {}
    for column in table.columns:
        if column in table.json:
            row[column] = {"a": 1}
        elif column in table.booleans:
            row[column] = True
        elif column in table.times:
            row[column] = "2026-12-07 06:00:00.000000"
        else:
            row[column] = f"{column}-value"
    return row


POKE: dict[str, Any] = {
    "from": 100,
    "seq": 103,
    "scope": "s" * 16,
    "changes": [
        {"seq": 101, "entity": "ticket", "op": "upsert", "data": _row("ticket")},
        {"seq": 102, "entity": "message", "op": "upsert", "data": _row("message")},
        {"seq": 103, "entity": "ticket_tag", "op": "upsert", "data": _row("ticket_tag")},
    ],
}


def _check() -> tuple[str, Callable[[dict[str, Any]], Any]]:
    try:
        from supportdesk.sync.poke_check import check_poke

        return "check_poke", check_poke
    except ImportError:
        from supportdesk.sync.engine import poke_changes  # type: ignore[attr-defined]

        return "poke_changes", poke_changes


def main(calls: int = 20_000) -> None:
    name, check = _check()
    assert check(POKE) is not None
    started = time.process_time()
    for _ in range(calls):
        check(POKE)
    print(f"{name}: {(time.process_time() - started) / calls * 1e6:.1f} µs CPU per poke of 3 records")


if __name__ == "__main__":
    main()
