"""Whole ``supportdesk`` processes with and without the command server, turn about (issue 19).

    .venv/bin/python bench/cli_command_server.py [--workspace /tmp/cli10k] [--tickets 10000] [--runs 15]

The cases are ``bench/cli_speed.py``'s (reads, writes, ``--help``) on the same 10k demo. For each
case the runs alternate: the line on its own (``SUPPORTDESK_COMMAND_SERVER=off``), then the same
line handed to a command server started for this run. Reported per side: p50 and p90 wall, and
the p50 CPU of the whole line — for a served line that is the client's own CPU plus its forked
child's, read from the server's reaped-children counters (``/proc/PID/stat`` cutime + cstime),
so the work moved into the server is counted, not hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cli_common
from cli_common import compile_sources, copy_workspace, demo_workspace, load, timed
from cli_speed import _cases

TICK = os.sysconf("SC_CLK_TCK")


def _children_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[13]) + int(fields[14])) / TICK  # cutime, cstime: the reaped children's CPU


def _server_pid(path: Path) -> int:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(str(path))
    body = b'{"kind":"ping"}'
    connection.sendall(len(body).to_bytes(4, "big") + body)
    answer = connection.recv(65536).decode()
    connection.close()
    return int(json.loads(answer.removeprefix("pong "))["pid"])


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/cli10k"))
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", metavar="TEXT", help="only the cases whose label holds TEXT (or one of A|B)")
    args = parser.parse_args()
    compile_sources()
    print(load())
    source = demo_workspace(args.workspace, args.tickets)
    copy = copy_workspace(source, args.workspace.with_name(args.workspace.name + "-writes"))
    folder = Path(tempfile.mkdtemp(prefix="sdcs-bench-", dir="/tmp"))
    folder.chmod(0o700)
    path = folder / "command.sock"
    script = str(Path(sys.executable).with_name("supportdesk"))
    off = {"SUPPORTDESK_COMMAND_SERVER": "off"}
    on = {"SUPPORTDESK_COMMAND_SERVER": str(path)}
    subprocess.run(
        [script, "command-server", "start", "--socket", str(path), "--idle", "0"], check=True, env={**os.environ, **off}
    )
    pid = _server_pid(path)
    try:
        print(f"{'case':<60} {'alone p50/p90 · cpu':>26} {'served p50/p90 · cpu':>26}")
        for label, command in _cases(str(copy)):
            if args.only and not any(part in label for part in args.only.split("|")):
                continue
            timed(command, env=off)
            timed(command, env=on)
            samples: dict[str, tuple[list[float], list[float]]] = {"off": ([], []), "on": ([], [])}
            for _ in range(args.runs):
                for side, env in (("off", off), ("on", on)):
                    before = _children_cpu(pid)
                    wall = timed(command, env=env)[0]
                    cpu = cli_common.LAST_CPU + (_children_cpu(pid) - before)
                    samples[side][0].append(wall)
                    samples[side][1].append(cpu)
            cells = []
            for side in ("off", "on"):
                walls, cpus = samples[side]
                p50, p90 = _percentile(walls, 0.5) * 1000, _percentile(walls, 0.9) * 1000
                cells.append(f"{p50:5.0f} / {p90:5.0f} ms · {statistics.median(cpus) * 1000:4.0f} ms")
            print(f"{label:<60} {cells[0]:>26} {cells[1]:>26}")
    finally:
        subprocess.run(
            [script, "command-server", "stop", "--socket", str(path)], check=False, env={**os.environ, **off}
        )
    print(load())


if __name__ == "__main__":
    main()
