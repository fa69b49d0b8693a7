"""CPU of a REST create's write, in process: the thread time spent inside ``rest.run_write``.

Usage: python bench/rest_write_cpu.py [--threads 1] [--creates 500] [--rounds 5]

``rest_creates.py`` measures the whole ``serve`` process (HTTP, event loop, triage) and, on a
machine shared with other work, carries ±0.5 ms of noise a create; a change to the write path
worth 0.1 ms does not show there. Here a FastAPI ``TestClient`` on a fresh SQLite server
database (triage off, no rate limit) sends ``POST /v1/tickets`` with an ``Idempotency-Key`` and a
new requester each from ``--threads`` threads, and only the CPU of the threads inside
``run_write`` is summed (``time.thread_time``): the claim, the mutation, the change log, the
stored answer, the commit, the after-commit work. With ``--threads`` > 1 the writes queue and
SQLite's group commit forms groups (a leader's thread time then covers its followers' writes;
the sum is the same work). Prints each round's CPU per create and the median; compare trees
turn about with ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from supportdesk.server import admin, rest
from supportdesk.server.app import create_app
from supportdesk.server.db import open_database
from supportdesk.server.routes import ticket_writes
from supportdesk.server.state import ServerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    spent = [0.0]
    lock = threading.Lock()
    original = rest.run_write

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            used = time.thread_time() - started
            with lock:
                spent[0] += used

    ticket_writes.run_write = timed  # type: ignore[assignment]  # the create route's own reference
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(str(Path(folder) / "server.db"))
        try:
            app = create_app(database, ServerConfig(triage=False, rate=0))
            admin.add_agent(database, "Ada", "ada@example.com", "admin", [])
            _token_id, token = admin.new_token(database, "ada@example.com")
            figures = []
            with TestClient(app) as client:
                client.headers["authorization"] = f"Bearer {token}"
                _creates(client, 100, options.threads)  # routes built, caches warm
                for _round in range(options.rounds):
                    spent[0] = 0.0
                    _creates(client, options.creates, options.threads)
                    figures.append(spent[0] / options.creates * 1000)
            committer = rest._committer(app.state.server)
        finally:
            database.dispose()
    shown = ", ".join(f"{figure:.3f}" for figure in figures)
    print(
        f"write CPU a create ({options.threads} threads; {committer.grouped} grouped in {committer.groups} groups): "
        f"{shown} ms -> median {statistics.median(figures):.3f} ms"
    )


def _creates(client: TestClient, count: int, threads: int) -> None:
    def send(share: int) -> None:
        for _ in range(share):
            key = str(uuid.uuid4())
            body = {
                "subject": f"Payment failed for order {key[:8]}",
                "body": "The card was declined.",
                "requester": {"email": f"{key[:8]}@bench.test"},
            }
            answer = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})
            assert answer.status_code == 201, answer.text

    workers = [threading.Thread(target=send, args=(count // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
