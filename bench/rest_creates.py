"""REST creates per second with an Idempotency-Key on each, and the cost of a retried key.

Usage: python bench/rest_creates.py [--creates 1000] [--clients 8] [--postgres] [--no-triage] [--requesters N]
       [--profile FILE]

``--clients`` threads (each with its own keep-alive connection and agent token) POST
``/v1/tickets`` with a fresh key per ticket until ``--creates`` tickets exist; then every key is
sent again once, and the replays per second are measured too (a replay answers the stored
response without writing). The server runs as ``supportdesk serve`` on 127.0.0.1; each client
sends one create before the clock starts (the first request of a process builds FastAPI's
routes).

Besides rates and latencies it prints the **server's CPU time per request** (user + system of the
``serve`` process, from ``/proc``, triage thread included): on a machine shared with other work
the rate says more about the neighbours than about the code, the CPU per request much less.
``--no-triage`` serves with ``--no-triage`` (new tickets are then not triaged in the background).
``--requesters N`` opens the tickets for N customers in turn (known after their first ticket, as
an integration's are) instead of a new customer for every ticket (the default).
``--profile FILE`` samples the server with ``py-spy record --format raw --threads`` (idle waits
left out) from the first timed create until the server went quiet after them (their triage
included): collapsed stacks, one line each with its sample count, to sum per frame; with
``--gil`` only the samples of the thread holding the interpreter lock. ``FILE.threads`` gets the
CPU seconds each of the server's threads used over the same span (``/proc``, by thread id, as
py-spy names them): which thread spent the CPU, where py-spy's samples also count waits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from sync_harness import Server, drop_postgres, fresh_postgres, make_team


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (or of its thread ``thread``) so far (Linux ``/proc``)."""
    stat = Path(f"/proc/{pid}/task/{thread}/stat" if thread is not None else f"/proc/{pid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, tokens: list[str], keys: list[str], clients: int, requesters: int = 0) -> tuple[float, list[float]]:
    """Send one create per key from ``clients`` threads; ``(seconds, latencies)``."""
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [keys[index::clients] for index in range(clients)]

    def worker(index: int) -> None:
        token = tokens[index % len(tokens)]
        own: list[float] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for number, key in enumerate(shares[index]):
                who = f"customer{(number * clients + index) % requesters}" if requesters else key[:8]
                body = {
                    "subject": f"Payment failed for order {key[:8]}",
                    "body": "The card was declined.",
                    "requester": {"email": f"{who}@bench.test"},
                    "group": "Tier 1",
                }
                started = time.perf_counter()
                answer = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})
                own.append(time.perf_counter() - started)
                assert answer.status_code == 201, answer.text
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", action="store_true", help="Serve from PostgreSQL (SUPPORTDESK_TEST_PG_URL).")
    parser.add_argument("--no-triage", action="store_true", help="Serve with --no-triage.")
    parser.add_argument("--requesters", type=int, default=0, help="N customers in turn (0: a new one per ticket).")
    parser.add_argument("--profile", type=Path, help="py-spy the server's creates into this file (raw).")
    parser.add_argument("--gil", action="store_true", help="With --profile: sample only the GIL's holder.")
    parser.add_argument("--native", action="store_true", help="With --profile: C frames too (waits on the GIL show).")
    options = parser.parse_args()
    extra = ("--no-triage",) if options.no_triage else ()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        name = f"sd_rest_{os.getpid()}"
        db = fresh_postgres(name) if options.postgres else str(tmp / "server.db")
        tokens = list(make_team(db, agents=options.clients).values())
        keys = [str(uuid.uuid4()) for _ in range(options.creates)]
        warm_up = [str(uuid.uuid4()) for _ in range(options.clients)]
        try:
            with Server(db, tmp / "server.log", extra) as server:
                assert server.process is not None
                pid = server.process.pid
                run(server.url, tokens, warm_up, options.clients, options.requesters)
                spy = _py_spy(pid, options.profile, options.gil, options.native) if options.profile else None
                threads = _thread_cpu(pid)
                cpu = cpu_seconds(pid)
                created, latencies = run(server.url, tokens, keys, options.clients, options.requesters)
                # what the create left behind (triage of each new ticket) belongs to the create
                _settle(pid)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
                    after = _thread_cpu(pid)
                    used = {tid: seconds - threads.get(tid, 0.0) for tid, seconds in after.items()}
                    lines = [f"{tid} {seconds:.3f}" for tid, seconds in sorted(used.items(), key=lambda t: -t[1])]
                    Path(f"{options.profile}.threads").write_text("\n".join(lines) + "\n")
                create_cpu, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
                replayed, replay_latencies = run(server.url, tokens, keys, options.clients, options.requesters)
                replay_cpu = cpu_seconds(pid) - cpu
        finally:
            if options.postgres:
                drop_postgres(name)
    who = f"{options.requesters} requesters in turn" if options.requesters else "a new requester each"
    print(f"serve {' '.join(extra) or '(defaults)'} on {'PostgreSQL' if options.postgres else 'SQLite'}, {who}")
    for label, seconds, times, cpu in (
        ("creates", created, latencies, create_cpu),
        ("replays", replayed, replay_latencies, replay_cpu),
    ):
        times.sort()
        print(
            f"{label}: {len(times) / seconds:.0f}/s over {len(times)} with {options.clients} clients; "
            f"p50 {statistics.median(times) * 1000:.1f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms; "
            f"server CPU {cpu / len(times) * 1000:.1f} ms per request"
        )


def _thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of process ``pid`` so far, by thread id."""
    found: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = cpu_seconds(pid, int(task.name))
        except (OSError, ValueError):
            continue  # ended meanwhile
    return found


def _py_spy(pid: int, out: Path, gil: bool, native: bool) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` into ``out`` (collapsed stacks), started and attached."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [spy, "record", "-p", str(pid), "--format", "raw", "--threads", "--rate", "250", "-o", str(out)]
    command += ["--gil"] if gil else []
    command += ["--native"] if native else []
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the clock starts
    return process


def _settle(pid: int, quiet: float = 1.0, limit: float = 120.0) -> None:
    """Wait until the server used (almost) no CPU for ``quiet`` seconds: its background work
    for the creates (triage, webhooks) is done."""
    deadline = time.monotonic() + limit
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - before < 0.05 * quiet:
            return
        before = now


if __name__ == "__main__":
    main()
