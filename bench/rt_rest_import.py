"""``import --from rt --url``: tickets/s from a running Request Tracker over REST2, against RT's
own limit (the same GETs and searches sent with nothing done with the answers).

    .venv/bin/python bench/rt_rest_import.py --url http://127.0.0.1:PORT --token TOKEN \\
        [--database RTDB] [--runs 3]

RT has to be running already (see tests/cli/test_import_rt_rest.py for how the tests start
Debian's RT under plackup on a copy of its database filled by tests/cli/data/rt_fill.pl).
Each run, turn about: (1) the import's requests replayed alone — recorded once from a read of
every ticket, then sent again over one connection, answers read and dropped; (2) a whole
``supportdesk import --from rt --url`` process into a new workspace; (3) with ``--database``,
the import of RT's database file, for comparison. Wall and cpu (user + system) per run, the
median of ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from supportdesk.domain import request_tracker_rest as rest  # noqa: E402
from supportdesk.domain.request_tracker import mapped  # noqa: E402


def record_requests(url: str, token: str) -> tuple[list[tuple[str, str, dict[str, Any], Any]], int]:
    """The requests an import sends (read once, nothing written) and the tickets it read."""
    sent: list[tuple[str, str, dict[str, Any], Any]] = []
    with rest.RTClient(url, rest.Credentials(token=token)) as client:
        original = client._send

        def spy(method: str, path: str, params: dict[str, Any], body: Any, limit: int) -> Any:
            sent.append((method, path, dict(params), body))
            return original(method, path, params, body, limit)

        client._send = spy  # type: ignore[method-assign]
        source = rest.RestSource(client)
        source.count()
        tickets = sum(1 for _ in mapped(source, None))
    return sent, tickets


def replay(url: str, token: str, requests: list[tuple[str, str, dict[str, Any], Any]]) -> tuple[float, float]:
    """Wall and cpu seconds of sending ``requests`` and reading the answers, nothing else."""
    import httpx

    base = rest.api_base(url)
    started, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(headers={"Authorization": f"token {token}"}, timeout=300) as client:
        for method, path, params, body in requests:
            answer = client.request(method, base + path, params=params, json=body)
            answer.read()
            assert answer.status_code == 200, (path, answer.status_code)
    return time.perf_counter() - started, time.process_time() - cpu


def process(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and cpu seconds of one supportdesk process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/supportdesk"), *args], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"supportdesk {' '.join(args)} failed: {done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--database", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    requests, tickets = record_requests(args.url, args.token)
    print(f"{tickets} tickets, {len(requests)} requests an import sends")
    env = {**os.environ, "SUPPORTDESK_RT_TOKEN": args.token}
    rows: dict[str, list[tuple[float, float]]] = {"raw": [], "url": [], "file": []}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            rows["raw"].append(replay(args.url, args.token, requests))
            target = Path(scratch) / f"url-{run}"
            wall, cpu, out = process(["-w", str(target), "import", "--from", "rt", "--url", args.url], env)
            rows["url"].append((wall, cpu))
            print(f"run {run + 1}: raw {rows['raw'][-1][0]:.2f} s, import {wall:.2f} s ({out})")
            if args.database:
                target = Path(scratch) / f"file-{run}"
                wall, cpu, out = process(["-w", str(target), "import", "--from", "rt", str(args.database)], env)
                rows["file"].append((wall, cpu))
            shutil.rmtree(Path(scratch), ignore_errors=True)
            Path(scratch).mkdir(exist_ok=True)
    for label, name in (("raw REST2 requests", "raw"), ("import --url", "url"), ("import RTDB file", "file")):
        if not rows[name]:
            continue
        wall = statistics.median(w for w, _ in rows[name])
        cpu = statistics.median(c for _, c in rows[name])
        print(f"{label:<20} wall {wall:7.2f} s = {tickets / wall:6.1f} tickets/s   cpu (this side) {cpu:6.2f} s")
    raw, url = statistics.median(w for w, _ in rows["raw"]), statistics.median(w for w, _ in rows["url"])
    print(f"import --url takes {url / raw:.2f}× the time of its requests alone")
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
