"""What ``supportdesk batch`` itself spends per line, around the write path (issue 19).

    .venv/bin/python bench/cli_batch_overhead.py WORKSPACE LINES.jsonl

Runs the batch in this process on the lines of ``LINES.jsonl`` with the write itself
(:func:`supportdesk.domain.write.apply`) replaced by a no-op, twice, and prints the CPU time of
each run a line (the first pays the imports and the engine, the second is the steady state):
what is left is the JSON line read and
parsed, the command found, click's parsing, the command body's own reads (the ticket, the
actor), the captured output and the result line, and each group's empty ``BEGIN``/``COMMIT``.
Nothing is written to the workspace. Make the lines with ``bench/cli_batch.py``'s ``_mix``; run
main's tree with ``PYTHONPATH`` to compare, turn about.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path
from typing import Any


class _Applied:
    """What ``apply`` returns, as far as the CLI reads it."""

    warnings: tuple[str, ...] = ()


def _run(workspace: str, data: bytes) -> tuple[float, str]:
    from supportdesk.cli.main import run
    from supportdesk.cli.state import STATE, State

    STATE.__dict__.update(State().__dict__)  # a new session, as a new process has
    sys.argv = ["supportdesk", "-w", workspace, "batch"]
    sys.stdin = io.TextIOWrapper(io.BytesIO(data))
    printed, sys.stdout = sys.stdout, io.StringIO()
    started = time.process_time()
    with contextlib.suppress(SystemExit):
        run()
    spent = time.process_time() - started
    if STATE._workspace is not None:
        STATE._workspace.close()
    out, sys.stdout = sys.stdout.getvalue(), printed
    return spent, out


def main() -> None:
    from supportdesk.domain import write

    def applied(*_args: Any, **_options: Any) -> _Applied:
        return _Applied()

    write.apply = applied  # type: ignore[assignment]
    workspace, path = sys.argv[1], Path(sys.argv[2])
    data = path.read_bytes()
    lines = data.count(b"\n")
    for run in ("first run", "second run"):
        spent, out = _run(workspace, data)
        ok = out.count('"ok": true')
        print(f"{run}: {lines} lines ({ok} ok), cpu {spent:.3f} s, {spent / max(lines, 1) * 1e6:.0f} µs a line")


if __name__ == "__main__":
    main()
