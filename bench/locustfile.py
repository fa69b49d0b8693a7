"""Agents under load (issue 13), with Locust: each simulated agent holds an event stream, applies
the records a poke carries (pulling only when it cannot) and works its group's tickets at a
human rate, with bursts.

Set up a team (groups of ``--group-size`` agents, a token each, 20 tickets per group already in):

    python bench/locustfile.py setup --db postgresql://…/bench --agents 1000 --team /tmp/team.json

Serve it, e.g. ``supportdesk serve --db … --workers 2 --rate-limit 0 --streams-per-token 0``
(raise ``ulimit -n`` first: every agent holds two connections), then run Locust headless against
it from the same folder:

    SUPPORTDESK_BENCH_TEAM=/tmp/team.json SUPPORTDESK_BENCH_SERVER_PID=<serve's pid> \\
        locust -f bench/locustfile.py --headless -u 1000 -r 20 -t 6m --host http://127.0.0.1:8765

What an agent does: it starts from the change log's end (its console is already filled), opens
``/v1/events?records=true`` and keeps it open (reconnecting after a cut, which counts as a
failure); a poke that carries records (``{from, seq, changes}``) while its cursor is in
[from, seq) is applied at once and moves the cursor, as the console does
(``supportdesk.sync.engine.apply_poke``); one that comes during a pull is held and applied after
it if it still fits; any other poke makes it pull (plain pokes that come during a pull are
folded into one more pull). ``SUPPORTDESK_BENCH_RECORDS=0`` opens plain streams (every
poke pulls: the run before this change). Every
``THINK`` seconds (``SUPPORTDESK_BENCH_THINK=low,high`` changes them; the first push comes after
one such wait) pushes one mutation on a ticket of its group — a reply, a note, a status, a tag
or, rarely, a new ticket — and one time in ten a burst of 2-5 in a row (working through a queue).

Besides each endpoint's latency and errors, Locust's table holds two figures the issue asks for:

* ``push -> each other agent applied``: from a push being sent to *every* other agent that may
  see it having a pull return that push's seq (so a reply in a group of 50 gives 49 samples);
* ``push -> first other agent applied``: the same, the first agent only;
* ``poke applied (no pull)``: pokes whose records were applied without a pull (count only).

With ``SUPPORTDESK_BENCH_SERVER_PID`` the server's resident memory (its worker processes
included) is sampled every 5 s; at the end the file prints the RSS before the streams opened,
the most seen, and per open stream. Locust is not a dependency of supportdesk: install it where
you run the load (``pip install locust``). ``bench/README.md`` says what was measured.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

CLIENT_PREFIX = "locust-agent-"
#: Seconds between an agent's pushes. A support agent answers a ticket every few minutes and
#: touches it two or three times (reply, status, tag): about one push a minute on average.
THINK = tuple(float(s) for s in os.environ.get("SUPPORTDESK_BENCH_THINK", "20,100").split(","))
#: Ask for pokes that carry the records (the console does); 0: plain pokes, a pull on each.
RECORDS = os.environ.get("SUPPORTDESK_BENCH_RECORDS", "1") != "0"
BURST_CHANCE = 0.1
#: A push's send time is kept this long for the agents who have yet to apply it.
KEEP_SENT = 120.0

if __name__ != "__main__":
    import gevent
    import gevent.event
    from locust import between, events, task
    from locust.contrib.fasthttp import FastHttpUser

    _team: dict[str, Any] = json.loads(Path(os.environ["SUPPORTDESK_BENCH_TEAM"]).read_text())
    _next_agent = iter(range(10**9))
    #: seq -> (sent at, pushing client, agents who applied it so far)
    _sent: dict[int, tuple[float, str, set[str]]] = {}
    _streams_open = 0
    _rss: dict[str, float] = {}

    def _report(name: str, milliseconds: float) -> None:
        events.request.fire(
            request_type="SYNC", name=name, response_time=milliseconds, response_length=0, exception=None, context={}
        )

    def _failure(name: str, error: Exception) -> None:
        events.request.fire(
            request_type="SYNC", name=name, response_time=0, response_length=0, exception=error, context={}
        )

    class Agent(FastHttpUser):
        wait_time = between(*THINK)
        network_timeout = 90.0
        connection_timeout = 90.0

        def on_start(self) -> None:
            index = next(_next_agent) % len(_team["agents"])
            agent = _team["agents"][index]
            self.client_id = f"{CLIENT_PREFIX}{index:08d}"
            self.bearer = {"Authorization": f"Bearer {agent['token']}"}
            self.team_group = _team["groups"][agent["group"]]
            self.cursor = int(_team["cursor"])
            self.mutation_id = 0
            self.poked = gevent.event.Event()
            self.pulling = False
            #: pokes with records that came during a pull: applied after it when they still fit
            self.held: list[dict[str, Any]] = []
            self._last_mutation()
            self.stream = gevent.spawn(self._listen)
            self.puller = gevent.spawn(self._pull_on_poke)
            # agents do not all push in the second they sit down: the first push comes after a think
            gevent.sleep(random.uniform(0, THINK[1]))

        def on_stop(self) -> None:
            self.stream.kill()
            self.puller.kill()

        def _last_mutation(self) -> None:
            params = {"cursor": self.cursor, "limit": 1, "client_id": self.client_id}
            answer = self.client.get("/v1/pull", params=params, headers=self.bearer, name="/v1/pull (last mutation id)")
            if answer.ok and answer.content:
                self.mutation_id = int(answer.json()["last_mutation_id"])

        def _listen(self) -> None:
            """The agent's event stream: a poke wakes the puller; a cut is a failure, then reconnect."""
            global _streams_open
            while True:
                counted = False
                try:
                    path = "/v1/events?records=true" if RECORDS else "/v1/events"
                    answer = self.client.get(path, headers=self.bearer, stream=True, name="/v1/events (open)")
                    answer.raise_for_status()
                    lines = answer._response  # geventhttpclient's response: a line as soon as it arrives
                    while True:
                        line = lines.readline(b"\n")
                        if not line:
                            raise ConnectionError("the server ended the stream")
                        if line.startswith(b"event: hello"):
                            counted = True
                            _streams_open += 1
                            self.poked.set()  # catch up on what happened while connecting
                        elif line.startswith(b"event: poke"):
                            self._on_poke(lines.readline(b"\n"))
                        elif line.startswith(b"event: closed"):
                            raise ConnectionError("the server closed the stream")
                except gevent.GreenletExit:
                    raise
                except Exception as error:
                    _failure("/v1/events (cut)", error)
                    gevent.sleep(1.0)
                finally:
                    if counted:
                        _streams_open -= 1

        def _on_poke(self, line: bytes) -> None:
            """Apply a poke's records when the cursor is within their range, else pull."""
            data: dict[str, Any] = json.loads(line[5:]) if line.startswith(b"data:") else {}
            if self.pulling and "changes" in data:
                self.held.append(data)  # the pull may reach its start: try it after the pull
            elif not self._apply(data) and (int(data.get("seq", 0)) > self.cursor or self.pulling):
                self.poked.set()

        def _apply(self, data: dict[str, Any]) -> bool:
            """Apply a poke's records if the cursor is within their range (True), as the console does."""
            first, seq = data.get("from"), int(data.get("seq", 0))
            if "changes" not in data or not isinstance(first, int) or not first <= self.cursor < seq:
                return False
            self._applied([c for c in data["changes"] if int(c["seq"]) > self.cursor])
            self.cursor = seq
            _report("poke applied (no pull)", 0.0)
            return True

        def _applied(self, changes: list[dict[str, Any]]) -> None:
            now = time.perf_counter()
            for change in changes:
                sent = _sent.get(int(change["seq"]))
                if sent is None or sent[1] == self.client_id or self.client_id in sent[2]:
                    continue
                if not sent[2]:
                    _report("push -> first other agent applied", (now - sent[0]) * 1000)
                sent[2].add(self.client_id)
                _report("push -> each other agent applied", (now - sent[0]) * 1000)

        def _pull_on_poke(self) -> None:
            while True:
                self.poked.wait()
                self.poked.clear()
                self._pull()
                held, self.held = self.held, []
                for data in held:  # in the order they came; one that does not fit means a pull
                    if int(data["seq"]) > self.cursor and not self._apply(data):
                        self.poked.set()

        def _pull(self) -> None:
            more = True
            self.pulling = True
            try:
                while more:
                    params = {"cursor": self.cursor}
                    answer = self.client.get("/v1/pull", params=params, headers=self.bearer, name="/v1/pull")
                    if not answer.ok or not answer.content:
                        return
                    page: dict[str, Any] = answer.json()
                    self._applied(page["changes"])
                    self.cursor = max(self.cursor, int(page["cursor"]))
                    more = bool(page["more"])
            finally:
                self.pulling = False

        def _push(self, name: str, args: dict[str, Any]) -> None:
            self.mutation_id += 1
            body = {
                "client_id": self.client_id,
                "schema_version": 1,
                "mutations": [{"id": self.mutation_id, "name": name, "args": args}],
            }
            sent = time.perf_counter()
            with self.client.post(
                "/v1/push", json=body, headers=self.bearer, name=f"/v1/push {name}", catch_response=True
            ) as answer:
                if not answer.ok:
                    answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                    self._last_mutation()
                    return
                result = answer.json()["results"][0]
                if not result["ok"]:
                    answer.failure(str(result.get("error")))
                    return
                if result.get("seq"):
                    # the push's last record's seq: every record of it comes in the same pull page
                    _sent[int(result["seq"])] = (sent, self.client_id, set())
            cutoff = time.perf_counter() - KEEP_SENT
            for seq in [seq for seq, kept in _sent.items() if kept[0] < cutoff][:100]:
                del _sent[seq]

        def _one(self) -> None:
            ticket_id = random.choice(self.team_group["tickets"])
            kind = random.random()
            if kind < 0.45:
                self._push("ticket.reply", {"ticket_id": ticket_id, "body": "Thanks for waiting: " + "x" * 120})
            elif kind < 0.75:
                self._push("ticket.note", {"ticket_id": ticket_id, "body": "Looked into it: " + "x" * 80})
            elif kind < 0.85:
                status = random.choice(("open", "pending"))
                self._push("ticket.set_status", {"ticket_id": ticket_id, "status": status})
            elif kind < 0.95:
                self._push("ticket.tag", {"ticket_id": ticket_id, "tags": [random.choice(("refund", "login", "vip"))]})
            else:
                args = {
                    "subject": "Cannot log in",
                    "body": "Since this morning the login page spins.",
                    "requester": {"value": self.team_group["requester"]},
                    "group_id": self.team_group["id"],
                }
                self._push("ticket.create", args)

        @task
        def work(self) -> None:
            for _ in range(random.randint(2, 5) if random.random() < BURST_CHANCE else 1):
                self._one()

    def _rss_mb(pid: int) -> float:
        pids = [pid]
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            pids += [int(child) for child in children.read_text().split()]
        total = 0.0
        for each in pids:
            try:
                for line in Path(f"/proc/{each}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                continue
        return total

    def _sample_rss(pid: int) -> None:
        _rss["before"] = _rss_mb(pid)
        while True:
            gevent.sleep(5.0)
            rss = _rss_mb(pid)
            if rss > _rss.get("peak", 0.0):
                _rss["peak"], _rss["streams_at_peak"] = rss, float(_streams_open)
            if _streams_open >= _rss.get("streams_most", 0.0):
                _rss["streams_most"], _rss["rss_at_most"] = float(_streams_open), rss

    @events.test_start.add_listener
    def _start(environment: Any, **_kwargs: Any) -> None:
        pid = os.environ.get("SUPPORTDESK_BENCH_SERVER_PID")
        if pid:
            gevent.spawn(_sample_rss, int(pid))

    @events.quitting.add_listener
    def _quit(environment: Any, **_kwargs: Any) -> None:
        if "before" not in _rss:
            return
        most = _rss.get("streams_most", 0.0)
        per_stream = (_rss.get("rss_at_most", 0.0) - _rss["before"]) * 1024 / most if most else 0.0
        print(
            f"server RSS: {_rss['before']:.0f} MB before the agents, {_rss.get('peak', 0):.0f} MB at most "
            f"({_rss.get('streams_at_peak', 0):.0f} streams open), {_rss.get('rss_at_most', 0):.0f} MB with the most "
            f"streams open ({most:.0f}): at most {per_stream:.1f} KB per open stream "
            "(pulls and pushes in flight included)"
        )


def setup(db: str, agents: int, group_size: int, tickets_per_group: int, team: Path) -> None:
    """Groups of ``group_size`` agents with a token each, ``tickets_per_group`` tickets in each
    group (opened by the system, as mail would), and the change log's end; written as JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from sqlalchemy import text

    from supportdesk.domain.context import SYSTEM
    from supportdesk.server import admin
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database

    database = open_database(db)
    try:
        groups: list[dict[str, Any]] = []
        people: list[dict[str, Any]] = []
        for number in range((agents + group_size - 1) // group_size):
            group_id = admin.add_group(database, f"Team {number + 1:02d}")
            requester = f"customer{number}@load.test"
            tickets = [
                str(
                    apply_as(
                        database,
                        SYSTEM,
                        "ticket.create",
                        {
                            "subject": f"Order {number}-{index} never arrived",
                            "body": "Where is my parcel?",
                            "requester": {"value": requester},
                            "group_id": group_id,
                        },
                    )[0]["ticket_id"]
                )
                for index in range(tickets_per_group)
            ]
            groups.append({"id": group_id, "requester": requester, "tickets": tickets})
        for index in range(agents):
            email = f"agent{index}@load.test"
            group = index // group_size
            admin.add_agent(database, f"Agent {index}", email, "agent", [f"Team {group + 1:02d}"])
            people.append({"token": admin.new_token(database, email)[1], "group": group})
        with database.engine.connect() as connection:
            cursor = connection.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar() or 0
        team.write_text(json.dumps({"cursor": int(cursor), "groups": groups, "agents": people}))
        team.chmod(0o600)
    finally:
        database.dispose()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("setup", help="Make the groups, agents, tokens and tickets.")
    made.add_argument("--db", required=True)
    made.add_argument("--agents", type=int, default=1000)
    made.add_argument("--group-size", type=int, default=50)
    made.add_argument("--tickets-per-group", type=int, default=20)
    made.add_argument("--team", type=Path, required=True, help="where to write the team (JSON, tokens in it)")
    options = parser.parse_args()
    setup(options.db, options.agents, options.group_size, options.tickets_per_group, options.team)
