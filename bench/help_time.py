"""Wall time of ``supportdesk --help`` as a whole process: ``python bench/help_time.py``."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from _timing import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    command = [shutil.which("supportdesk") or f"{sys.prefix}/bin/supportdesk", "--help"]
    samples = []
    for _ in range(args.repeat + 2):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append((time.perf_counter() - started) * 1000)
    samples = samples[2:]
    p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
    print(f"supportdesk --help: p50 {p50:.0f} ms, p95 {p95:.0f} ms, n={len(samples)}")


if __name__ == "__main__":
    main()
