"""What the CLI benchmarks share: timing a whole ``supportdesk`` process, and demo workspaces."""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TURNS = itertools.count()
COMMAND = [str(Path(sys.executable).with_name("supportdesk"))]
LAST_CPU = 0.0


def by_turns(args: list[str]) -> list[str]:
    """``args`` with ``{status}`` replaced by ``pending`` and ``open`` on alternate calls: a
    status change run again and again then changes the ticket every time (a change that changes
    nothing never loads the write path, so it would measure nothing)."""
    if not any("{status}" in arg for arg in args):
        return args
    status = ("pending", "open")[next(_TURNS) % 2]
    return [arg.replace("{status}", status) for arg in args]


def timed(args: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall time of one whole process (start-up included) and its stdout; a failure stops the run.

    The process's CPU time (user + system) is kept in ``LAST_CPU``: on a machine shared with
    other work, wall time includes waiting for a core, CPU time does not.
    """
    global LAST_CPU
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [*COMMAND, *by_turns(args)],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, result.stdout


def compile_sources(*roots: Path) -> None:
    """Byte-compile the sources a run imports, as ``pip install`` does for an installed package.

    An editable checkout compiles each module on first import and caches the result — unless
    ``PYTHONDONTWRITEBYTECODE`` is set (it is in our sessions' shells), and then every process
    compiles every module it imports again: ~40 % of a ``tickets show`` at the time of issue 19.
    ``compileall`` writes the caches whatever that variable says; a process only reads them.
    """
    import compileall

    for root in roots or (ROOT / "src",):
        compileall.compile_dir(str(root), quiet=1)


def median_of(runs: int, args: list[str]) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time, of ``runs`` runs (after a warm-up run)."""
    timed(args)
    times, cpu = [], []
    for _ in range(runs):
        times.append(timed(args)[0])
        cpu.append(LAST_CPU)
    return statistics.median(times), min(times), statistics.median(cpu)


def load() -> str:
    """The machine's load average, printed with each result."""
    return "load average " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def demo_workspace(path: Path, tickets: int) -> Path:
    """A demo workspace of ``tickets`` tickets at ``path``, built once and reused."""
    if not (path / "supportdesk.db").exists():
        print(f"building a {tickets:,}-ticket demo workspace at {path} …", file=sys.stderr)
        timed(["--workspace", str(path), "demo", "--tickets", str(tickets)])
    return path


def copy_workspace(source: Path, target: Path) -> Path:
    """A private copy to write into (the backup API includes what is still in the WAL)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with (
        closing(sqlite3.connect(source / "supportdesk.db")) as src,
        closing(sqlite3.connect(target / "supportdesk.db")) as dst,
    ):
        src.backup(dst)
    return target
