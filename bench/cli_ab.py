"""Before and after, interleaved: whole ``supportdesk`` processes from another source tree
(``--before``, e.g. main's ``src`` from ``git archive``) and from this checkout, run turn about
so both see the same load. Prints the median wall and cpu time of each.

    git archive main src | tar -x -C /tmp/before
    .venv/bin/python bench/cli_ab.py --before /tmp/before/src [--workspace /tmp/cli50k] [--runs 25]
    .venv/bin/python bench/cli_ab.py --before /tmp/before/src --cases speed --workspace /tmp/cli10k --tickets 10000

``--cases speed`` runs ``bench/cli_speed.py``'s reads, writes and help (issue 19) on a private
copy of the workspace (the writes land there); ``--only 'write|--help'`` runs the cases whose
label holds one of the |-separated texts.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

from cli_common import COMMAND, ROOT, by_turns, compile_sources, copy_workspace, demo_workspace, load


def _cases(workspace: Path) -> dict[str, list[str]]:
    root = str(workspace)
    return {
        "--help": ["--help"],
        "tickets --help": ["tickets", "--help"],
        "tickets list --help": ["tickets", "list", "--help"],
        "tickets list -q 'tag:refund status<solved' --plain": [
            "-w",
            root,
            "tickets",
            "list",
            "-q",
            "tag:refund status<solved",
            "--plain",
        ],
        "tickets show 1042": ["-w", root, "tickets", "show", "1042"],
    }


def _once(args: list[str], pythonpath: str | None) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*COMMAND, *by_turns(args)], capture_output=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.decode()[:300]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the src folder of the version to compare with")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli50k"))
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--cases", choices=("help", "speed"), default="help")
    parser.add_argument("--only", metavar="TEXT", help="run only the cases whose label contains TEXT")
    args = parser.parse_args()
    compile_sources(Path(args.before), ROOT / "src")
    workspace = demo_workspace(args.workspace, args.tickets)
    print(load())
    cases = _cases(workspace)
    if args.cases == "speed":
        from cli_speed import _cases as speed_cases

        copy = copy_workspace(workspace, args.workspace.with_name(args.workspace.name + "-ab"))
        cases = dict(speed_cases(str(copy)))
    for label, command in cases.items():
        if args.only and not any(part in label for part in args.only.split("|")):
            continue
        times: dict[str, tuple[list[float], list[float]]] = {"before": ([], []), "after": ([], [])}
        for run in range(args.runs):
            order = ("before", "after") if run % 2 else ("after", "before")
            for which in order:
                wall, cpu = _once(command, args.before if which == "before" else None)
                times[which][0].append(wall)
                times[which][1].append(cpu)

        def ms(values: list[float]) -> str:
            return f"{statistics.median(values) * 1000:5.0f}"

        print(
            f"{label:<52} before wall {ms(times['before'][0])} cpu {ms(times['before'][1])}"
            f"  | after wall {ms(times['after'][0])} cpu {ms(times['after'][1])}  (ms, median of {args.runs})"
        )
    print(load())


if __name__ == "__main__":
    main()
