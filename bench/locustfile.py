"""Agents under load (issue 13), with Locust: each simulated agent holds an event stream, pulls
when poked and pushes notes at a human rate with bursts.

Set up a team of agents (one Tier 1 group, a token each, tokens written one a line):

    python bench/locustfile.py setup --db postgresql://…/bench --agents 1000 --tokens /tmp/tokens.txt

Serve it (e.g. ``supportdesk serve --db … --workers 2 --rate-limit 0 --streams-per-token 0``),
then run Locust headless against it:

    SUPPORTDESK_BENCH_TOKENS=/tmp/tokens.txt locust -f bench/locustfile.py --headless \\
        -u 1000 -r 50 -t 5m --host http://127.0.0.1:8765

Locust reports, besides each endpoint's latency and errors, ``push -> other agent applied``: the
time from one agent's push being sent to another agent's pull returning that push's seq (the
first other agent to see it; every agent shares one group, so every push is seen by all).
``bench/README.md`` says what was measured. Locust is not a dependency of supportdesk: install
it where you run the load (``pip install locust``).
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

CLIENT_PREFIX = "locust-agent-"
#: Seconds between an agent's pushes: a human rate, with a burst of 2-5 pushes now and then.
THINK = (5.0, 20.0)
BURST_CHANCE = 0.1

if __name__ != "__main__":
    import gevent
    from locust import HttpUser, between, events, task

    _tokens = [line.strip() for line in Path(os.environ["SUPPORTDESK_BENCH_TOKENS"]).read_text().splitlines() if line]
    _next_token = itertools.count()
    #: seq -> when its push was sent (perf_counter), until the first other agent applies it.
    _sent: dict[int, tuple[float, str]] = {}
    _sent_lock = threading.Lock()

    class Agent(HttpUser):
        wait_time = between(*THINK)

        def on_start(self) -> None:
            index = next(_next_token) % len(_tokens)
            self.client_id = f"{CLIENT_PREFIX}{index:08d}"
            self.client.headers["Authorization"] = f"Bearer {_tokens[index]}"
            self.cursor = 0
            self.mutation_id = 0
            self.ticket_id: str | None = None
            self.poked = gevent.event.Event()
            self._last_mutation()
            self._pull()
            self.stream = gevent.spawn(self._listen)
            self.puller = gevent.spawn(self._pull_on_poke)

        def on_stop(self) -> None:
            self.stream.kill()
            self.puller.kill()

        def _last_mutation(self) -> None:
            answer = self.client.get(
                "/v1/pull",
                params={"cursor": 0, "limit": 1, "client_id": self.client_id},
                name="/v1/pull (last mutation id)",
            )
            if answer.ok:
                self.mutation_id = int(answer.json()["last_mutation_id"])

        def _listen(self) -> None:
            """The agent's event stream: a poke wakes the puller (reconnects if it ends)."""
            while True:
                try:
                    with self.client.get("/v1/events", stream=True, name="/v1/events (open)", timeout=None) as stream:
                        for line in stream.iter_lines():
                            if line and line.startswith(b"event: poke"):
                                self.poked.set()
                except Exception:  # counted by Locust as a failed request; reconnect after a pause
                    gevent.sleep(1.0)

        def _pull_on_poke(self) -> None:
            while True:
                self.poked.wait()
                self.poked.clear()
                self._pull()

        def _pull(self) -> None:
            more = True
            while more:
                answer = self.client.get("/v1/pull", params={"cursor": self.cursor}, name="/v1/pull")
                if not answer.ok:
                    return
                page: dict[str, Any] = answer.json()
                now = time.perf_counter()
                for change in page["changes"]:
                    with _sent_lock:
                        sent = _sent.get(int(change["seq"]))
                        if sent is not None and sent[1] != self.client_id:
                            del _sent[int(change["seq"])]
                    if sent is not None and sent[1] != self.client_id:
                        events.request.fire(
                            request_type="SYNC",
                            name="push -> other agent applied",
                            response_time=(now - sent[0]) * 1000,
                            response_length=0,
                            exception=None,
                            context={},
                        )
                    if self.ticket_id is None and change["entity"] == "ticket" and change["op"] == "upsert":
                        self.ticket_id = str(change["data"]["id"])
                self.cursor = int(page["cursor"])
                more = bool(page["more"])

        def _push(self, name: str, args: dict[str, Any]) -> None:
            self.mutation_id += 1
            body = {
                "client_id": self.client_id,
                "schema_version": 1,
                "mutations": [{"id": self.mutation_id, "name": name, "args": args}],
            }
            sent = time.perf_counter()
            with self.client.post("/v1/push", json=body, name=f"/v1/push {name}", catch_response=True) as answer:
                if not answer.ok:
                    answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                    self._last_mutation()
                    return
                result = answer.json()["results"][0]
                if not result["ok"]:
                    answer.failure(str(result.get("error")))
                    return
                with _sent_lock:
                    _sent[int(result["seq"])] = (sent, self.client_id)
                    if len(_sent) > 100_000:  # never applied by another agent: forget the oldest
                        for seq in sorted(_sent)[:50_000]:
                            del _sent[seq]

        @task(10)
        def note(self) -> None:
            for _ in range(random.randint(2, 5) if random.random() < BURST_CHANCE else 1):
                if self.ticket_id is None:
                    self.create()
                else:
                    self._push("ticket.note", {"ticket_id": self.ticket_id, "body": "Looked into it: " + "x" * 80})

        @task(1)
        def create(self) -> None:
            args = {
                "subject": "Cannot log in",
                "body": "Since this morning the login page spins.",
                "requester": {"value": f"{self.client_id}@example.com"},
            }
            self._push("ticket.create", args)


def setup(db: str, agents: int, tokens: Path) -> None:
    """Make a Tier 1 group, ``agents`` agents in it and a token each; write the tokens."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from supportdesk.server import admin
    from supportdesk.server.db import open_database

    database = open_database(db)
    try:
        admin.add_group(database, "Tier 1")
        lines = []
        for index in range(agents):
            email = f"agent{index}@load.test"
            admin.add_agent(database, f"Agent {index}", email, "agent", ["Tier 1"])
            lines.append(admin.new_token(database, email)[1])
        tokens.write_text("\n".join(lines) + "\n")
        tokens.chmod(0o600)
    finally:
        database.dispose()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("setup", help="Make the agents and their tokens.")
    made.add_argument("--db", required=True)
    made.add_argument("--agents", type=int, default=1000)
    made.add_argument("--tokens", type=Path, required=True)
    options = parser.parse_args()
    setup(options.db, options.agents, options.tokens)
