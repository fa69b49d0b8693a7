"""``tickets show`` and ``tickets list --query`` as whole processes (goal: ≤ 250 ms each).

    .venv/bin/python bench/cli_read.py [--workspace /tmp/cli50k] [--tickets 50000] [--runs 15]

Builds the demo workspace first if it is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli_common import demo_workspace, load, median_of

COMMANDS = (
    ("tickets show 1042", ["tickets", "show", "1042"]),
    ("tickets show 1042 --json", ["tickets", "show", "1042", "--json"]),
    ("tickets list -q 'tag:refund status<solved'", ["tickets", "list", "-q", "tag:refund status<solved", "--plain"]),
    ("tickets list -q 'status:open assignee:me'", ["tickets", "list", "-q", "status:open assignee:me", "--plain"]),
    ("tickets list -q 'refund' (free text, 50)", ["tickets", "list", "-q", "refund", "--plain", "-n", "50"]),
    (
        "tickets list -q 'priority>=high' --json -n 200",
        ["tickets", "list", "-q", "priority>=high", "--json", "-n", "200"],
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli50k"))
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(load())
    root = demo_workspace(args.workspace, args.tickets)
    for label, command in COMMANDS:
        median, best, cpu = median_of(args.runs, ["--workspace", str(root), *command])
        print(f"{label:<48} median {median * 1000:6.0f} ms   best {best * 1000:6.0f} ms   cpu {cpu * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
