"""The fault harness over many seeds: lost, doubled and diverged counts per backend.

Usage: python bench/sync_faults.py --backend sqlite --seeds 1000 [--first 1] [--steps 40] [--keep]
       python bench/sync_faults.py --backend postgresql --seeds 1000   (needs SUPPORTDESK_TEST_PG_URL)

Each seed is one run of ``tests/faults/harness.py`` (read its docstring for what happens and
what is checked); a failing seed keeps its folder (workspaces, CLI logs) under --root and is
printed with its violations. ``--first N --seeds 1`` replays seed N alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives in tests/faults

from tests.faults.harness import SeedReport, fault_run, run_seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--root", type=Path, default=None, help="Where seeds run (default: a temporary folder).")
    parser.add_argument("--keep", action="store_true", help="Keep every seed's folder, not only failing ones.")
    parser.add_argument("--report", type=Path, default=None, help="Write every seed's report here as JSON lines.")
    options = parser.parse_args()
    root = options.root or Path(tempfile.mkdtemp(prefix="sd-faults-"))
    os.environ.setdefault("XDG_CONFIG_HOME", str(root / "config"))
    os.environ.setdefault("SUPPORTDESK_CONFIG", str(root / "config" / "config.toml"))
    totals: Counter[str] = Counter()
    failed: list[SeedReport] = []
    started = time.monotonic()
    with fault_run(options.backend, root, seed=options.first) as run:
        for seed in range(options.first, options.first + options.seeds):
            report = run_seed(run, seed, steps=options.steps, keep=options.keep)
            print(report.line(), report.phases, flush=True)
            for problem in report.lost + report.doubled + report.diverged + report.anomalies:
                print(f"    {problem}", flush=True)
            totals.update(
                seeds=1,
                lost=len(report.lost),
                doubled=len(report.doubled),
                diverged=len(report.diverged),
                anomalies=len(report.anomalies),
                writes=report.writes,
                replies=report.replies,
                replies_accepted=report.replies_accepted,
                replies_once=report.replies_once,
                replies_refused=report.replies_refused,
                refused_kept=report.refused_kept,
            )
            totals.update(report.faults)
            if not report.ok:
                failed.append(report)
            if options.report:
                with options.report.open("a") as out:
                    out.write(json.dumps({**report.__dict__, "faults": dict(report.faults)}) + "\n")
    minutes = (time.monotonic() - started) / 60
    print(
        f"\n{options.backend}: {totals['seeds']} seeds in {minutes:.1f} min — lost {totals['lost']}, "
        f"doubled {totals['doubled']}, diverged {totals['diverged']} (anomalies {totals['anomalies']}); "
        f"{totals['writes']} writes; {totals['replies']} replies: {totals['replies_once']} of the "
        f"{totals['replies_accepted']} accepted arrived exactly once, {totals['replies_refused']} refused "
        f"({totals['refused_kept']} refused replies and notes found in their drafts)"
    )
    faults = {k: v for k, v in sorted(totals.items()) if k not in {"seeds", "lost", "doubled", "diverged"}}
    print(f"faults injected: {faults}")
    if failed:
        print(f"failing seeds: {[r.seed for r in failed]} (folders under {root})")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
