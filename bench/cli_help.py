"""Wall time of ``supportdesk --help`` as a whole process (goal: ≤ 200 ms).

.venv/bin/python bench/cli_help.py [--runs 20]
"""

from __future__ import annotations

import argparse

from cli_common import load, median_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(load())
    for command in (["--help"], ["tickets", "--help"], ["tickets", "update", "--help"]):
        median, best, cpu = median_of(args.runs, command)
        label = f"supportdesk {' '.join(command)}"
        print(f"{label:<36} median {median * 1000:6.0f} ms   best {best * 1000:6.0f} ms   cpu {cpu * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
