"""The standing fault harness: seeded runs of a small team syncing through a hostile network.

One :class:`FaultRun` holds the servers for many seeds: a SQLite server process, or two server
processes on one PostgreSQL database, all behind a :class:`~tests.faults.proxy.FaultyProxy`
that loses, cuts and delays traffic. Each seed (:func:`run_seed`) gets a team of its own (two
groups, three agents with their workspaces) and then, for a few dozen steps drawn from the seed:

- agents write (tickets, notes, replies that carry the customer message they answer, tags,
  priorities, claims, moves to the other group, statuses) and customers write in;
- sync rounds run in threads, and as ``supportdesk sync`` processes (some SIGKILLed mid-round),
  while Sam's console runs its background sync the whole time — so rounds overlap on one
  workspace all the time; a *race* starts a round of Sam's through a slow lane (a pull sent
  late and answered later still) between two changes Tom makes to the same ticket, the interleaving that let an older
  round write over a newer one;
- servers are SIGKILLed and restarted, the proxy's weather turns, every open connection is cut;
- each client process and each restarted server runs with its own clock (``SUPPORTDESK_NOW``
  skewed by up to minutes).

Then the network calms, everything is restarted and every workspace syncs until nothing is
pending, and the invariants are checked:

- **nothing lost**: every mutation an agent wrote reached the server (its result is stored);
  every accepted message is on the server, and every refused reply or note is in its
  workspace's draft;
- **nothing doubled**: no message (each body is unique) is on the server or in a replica twice;
- **converged**: every replica equals what its agent may see on the server, row for row.

Replay one seed: ``python bench/sync_faults.py --backend sqlite --first 17 --seeds 1 --keep``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase, open_database
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import DB_NAME, Workspace
from supportdesk.sync.attach import attach
from supportdesk.sync.client import ServerClient, SyncError
from supportdesk.sync.engine import SyncEngine
from supportdesk.sync.profiles import Profile, save_profile, store_token
from supportdesk.sync.service import SyncService
from tests.faults.proxy import FaultyProxy, Weather
from tests.faults.zygote import Forked, Zygote
from tests.live import LiveServer
from tests.sync.compare import differences, replica_view, server_view

#: What a forked ``supportdesk`` process must see as the harness does (the test's isolated home).
PASSED_ON = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "SUPPORTDESK_CONFIG", "PYTHONPATH")


def skewed_now(seconds: float) -> str:
    """A ``SUPPORTDESK_NOW`` value: this process's clock moved by ``seconds``, running on."""
    return f"{(utcnow() + timedelta(seconds=seconds)).isoformat()}@{time.time()!r}"


# --- the servers, for many seeds ----------------------------------------------------------------


@dataclass
class FaultRun:
    backend: str
    root: Path
    db_url: str
    database: ServerDatabase
    servers: list[LiveServer]
    proxy: FaultyProxy
    template: Path
    zygote: Zygote
    slow_lane: FaultyProxy
    restarts: int = 0
    log_offsets: dict[int, int] = field(default_factory=dict)

    def alive(self) -> list[LiveServer]:
        return [s for s in self.servers if s.process is not None and s.process.poll() is None]

    def restart(self, server: LiveServer, skew: float) -> None:
        server.kill()
        server.env = {"SUPPORTDESK_NOW": skewed_now(skew)}
        server.start()
        self.restarts += 1

    def server_trouble(self) -> list[str]:
        """Tracebacks and 500s the servers logged since the last call."""
        found: list[str] = []
        for server in self.servers:
            size = server.log.stat().st_size if server.log.exists() else 0
            start = self.log_offsets.get(server.port, 0)
            if size > start:
                with server.log.open("rb") as log:
                    log.seek(start)
                    text = log.read().decode(errors="replace")
                self.log_offsets[server.port] = size
                for line in text.splitlines():
                    if "Traceback" in line or '" 500' in line or "ERROR" in line:
                        found.append(f"server {server.port}: {line.strip()[:300]}")
        return found

    def all_up(self) -> None:
        for server in self.servers:
            if server.process is None or server.process.poll() is not None:
                self.restart(server, 0.0)


@contextlib.contextmanager
def fault_run(backend: str, root: Path, *, seed: int = 0) -> Iterator[FaultRun]:
    """Servers (one on SQLite, two on one PostgreSQL database) behind a faulty proxy."""
    from tests.live import server_database

    root.mkdir(parents=True, exist_ok=True)
    template = root / "template"
    template.mkdir(exist_ok=True)
    Workspace.open(template).close()
    with server_database(backend, root) as url:
        database = open_database(url)
        count = 2 if backend == "postgresql" else 1
        servers = [LiveServer(url, root, keepalive=1.0) for _ in range(count)]
        proxy = FaultyProxy([s.port for s in servers], seed)
        slow_lane = FaultyProxy([s.port for s in servers], seed, delays=(0.5, 2.0), only=b"GET /v1/pull")
        slow_lane.weather = Weather(stall=1.0)
        zygote = Zygote()
        try:
            for server in servers:
                server.env = {"SUPPORTDESK_NOW": skewed_now(0.0)}
                server.start()
            yield FaultRun(backend, root, url, database, servers, proxy, template / DB_NAME, zygote, slow_lane)
        finally:
            zygote.close()
            slow_lane.close()
            proxy.close()
            for server in servers:
                server.stop()
            database.dispose()


# --- one seed -------------------------------------------------------------------------------------


@dataclass
class Agent:
    who: str
    agent_id: str
    email: str
    group: str
    profile: str
    root: Path
    workspace: Workspace
    client_id: str = ""


@dataclass
class Written:
    who: str
    mutation_id: int
    name: str
    ticket_id: str | None
    message_id: str | None
    body: str | None


@dataclass
class SeedReport:
    seed: int
    backend: str
    seconds: float = 0.0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    writes: int = 0
    replies: int = 0  # written by agents
    replies_accepted: int = 0  # the server applied them
    replies_once: int = 0  # … and each is on the server exactly once
    replies_refused: int = 0  # the server refused them (a newer customer message, a ticket gone)
    refused_kept: int = 0  # refused replies and notes found in their drafts
    refused_other: int = 0  # refused mutations without text (a lost claim, a closed ticket)
    faults: Counter[str] = field(default_factory=Counter)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.diverged)

    def line(self) -> str:
        state = "ok" if self.ok else "VIOLATED"
        return (
            f"seed {self.seed} {self.backend}: {state} in {self.seconds:.1f} s — {self.writes} writes, "
            f"{self.replies_once}/{self.replies_accepted} accepted replies exactly once, "
            f"{self.refused_kept} refused kept as drafts; "
            f"lost {len(self.lost)}, doubled {len(self.doubled)}, diverged {len(self.diverged)}; "
            f"faults {dict(sorted(self.faults.items()))}"
        )


class Seed:
    """The moving parts of one seed (see the module docstring)."""

    def __init__(self, run: FaultRun, seed: int, steps: int) -> None:
        self.run = run
        self.seed = seed
        self.steps = steps
        self.rng = random.Random(seed)
        self.report = SeedReport(seed, run.backend)
        self.root = run.root / f"seed-{seed}"
        self.agents: dict[str, Agent] = {}
        self.groups: dict[str, str] = {}
        self.written: list[Written] = []
        self.customer_bodies: list[str] = []
        self.threads: list[threading.Thread] = []
        self.processes: list[tuple[Forked, Path]] = []
        self.restarts_due: list[tuple[int, LiveServer]] = []
        self.restarting: list[threading.Thread] = []
        self.console: SyncService | None = None

    # --- set-up ------------------------------------------------------------------------------

    def make_team(self) -> None:
        database, tag = self.run.database, f"s{self.seed}"
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.groups = {
            "front": admin.add_group(database, f"Front {tag}"),
            "back": admin.add_group(database, f"Back {tag}"),
        }
        for who, group in (("sam", "front"), ("tom", "front"), ("bea", "back")):
            email = f"{who}.{tag}@faults.test"
            agent_id = admin.add_agent(database, f"{who.title()} {tag}", email, "agent", [self.groups[group]])
            token = admin.new_token(database, email)[1]
            root = self.root / who
            root.mkdir()
            shutil.copy(self.run.template, root / DB_NAME)
            (root / "attachments").mkdir()
            workspace = Workspace.open(root)
            profile = Profile(f"{tag}-{who}", self.run.proxy.url, email, "file")
            attach(workspace, profile, agent_id)
            store_token(profile, token)
            save_profile(profile)
            agent = Agent(who, agent_id, email, self.groups[group], profile.name, root, workspace)
            with workspace.reading() as connection:
                agent.client_id = connection.execute("SELECT client_id FROM sync_state").fetchone()[0]
            self.agents[who] = agent

    def client(self, agent: Agent, timeout: float = 15.0) -> ServerClient:
        from supportdesk.sync.attach import open_client

        return open_client(agent.workspace, timeout=timeout)

    def sync(self, agent: Agent, *, wait: float = 120.0) -> bool:
        """One round in this thread; False when the network or a server failed it."""
        client = self.client(agent)
        try:
            SyncEngine(agent.workspace, client, wait=wait).sync_once()
            return True
        except SyncError:
            return False
        finally:
            client.close()

    # --- the steps -----------------------------------------------------------------------------

    def run_steps(self) -> None:
        rng = self.rng
        self.run.proxy.weather = Weather.calm()  # a seed whose harness failed may have left a storm
        self.run.all_up()  # ... or a server down
        for agent in self.agents.values():
            assert any(self.sync(agent) for _attempt in range(3)), "the first fill failed in calm weather"
        sam = self.agents["sam"]
        self.console = SyncService(sam.workspace, interval=rng.uniform(0.3, 2.0), max_backoff=1.0, profile=sam.profile)
        self.console.start()
        self.run.proxy.weather = Weather.stormy(rng)
        for step in range(self.steps):
            self.restart_due(step)
            roll = rng.random()
            agent = self.agents[rng.choice(["sam", "sam", "tom", "bea"])]
            if roll < 0.45:
                self.write(agent, step)
            elif roll < 0.53:
                self.customer_writes(step)
            elif roll < 0.65:
                self.sync_in_thread(agent)
            elif roll < 0.80:
                self.sync_in_process(agent)
            elif roll < 0.82:
                self.sync_in_process(sam)
                self.sync_in_thread(sam)
                self.report.faults["overlap"] += 1
            elif roll < 0.86:
                self.race(step)
            elif roll < 0.89:
                if not self.report.faults["server-sigkill"] and rng.random() < 0.5:
                    self.kill_server(step)  # once a seed at most: a restart costs seconds
            elif roll < 0.95:
                self.run.proxy.weather = Weather.stormy(rng) if rng.random() < 0.7 else Weather.calm()
                self.report.faults["weather"] += 1
            else:
                self.run.proxy.cut_all()
                self.report.faults["cut-all"] += 1
            time.sleep(rng.uniform(0.02, 0.25))

    def tickets(self, agent: Agent) -> list[tuple[str, str, str | None, str]]:
        with agent.workspace.reading() as connection:
            return [
                (row[0], row[1], row[2], row[3])
                for row in connection.execute(
                    "SELECT id, status, assignee_id, coalesce(group_id, '') FROM ticket WHERE status != 'closed' "
                    "AND group_id IN (?, ?) ORDER BY id",
                    (self.groups["front"], self.groups["back"]),
                )
            ]

    def latest_customer_message(self, agent: Agent, ticket_id: str) -> str | None:
        with agent.workspace.reading() as connection:
            row = connection.execute(
                "SELECT id FROM message WHERE ticket_id = ? AND author_kind = 'customer' AND public "
                "ORDER BY created_at DESC, id DESC LIMIT 1",
                (ticket_id,),
            ).fetchone()
        return str(row[0]) if row else None

    def write(self, agent: Agent, step: int) -> None:
        rng, tag = self.rng, f"s{self.seed}:{agent.who}:{step}"
        tickets = self.tickets(agent)
        roll = rng.random()
        if not tickets or roll < 0.15:
            name, body = "ticket.create", f"{tag}:create"
            args: dict[str, Any] = {
                "subject": f"Case {tag}",
                "body": body,
                "requester": {"value": f"c{rng.randrange(4)}.s{self.seed}@example.com"},
                "group_id": agent.group,
            }
        else:
            ticket_id, _status, assignee, group = rng.choice(tickets)
            body = None
            if roll < 0.40:
                name, body = "ticket.note", f"{tag}:note"
                args = {"ticket_id": ticket_id, "body": body}
            elif roll < 0.60:
                name, body = "ticket.reply", f"{tag}:reply"
                args = {"ticket_id": ticket_id, "body": body}
                seen = self.latest_customer_message(agent, ticket_id)
                if seen:
                    args["seen_message_id"] = seen
            elif roll < 0.68:
                name = rng.choice(["ticket.tag", "ticket.untag"])
                args = {"ticket_id": ticket_id, "tags": [rng.choice(["vip", "bug", "refund"])]}
            elif roll < 0.76:
                name = "ticket.set_priority"
                args = {"ticket_id": ticket_id, "priority": rng.choice(["low", "normal", "high", "urgent"])}
            elif roll < 0.84:
                name = "ticket.assign"
                args = {
                    "ticket_id": ticket_id,
                    "assignee_id": agent.agent_id,
                    "expect_assignee": True,
                    "expected_assignee_id": assignee,
                }
            elif roll < 0.89:
                other = self.groups["back"] if group == self.groups["front"] else self.groups["front"]
                name = "ticket.assign"
                args = {"ticket_id": ticket_id, "group_id": other, "assignee_id": None}
            else:
                name = "ticket.set_status"
                args = {"ticket_id": ticket_id, "status": rng.choice(["open", "pending", "solved", "solved", "closed"])}
        try:
            outcome = write.apply(agent.workspace, name, args)
        except DomainError:
            return  # refused locally, as the console would refuse it: nothing was written
        assert outcome.mutation_id is not None
        self.written.append(
            Written(
                agent.who,
                outcome.mutation_id,
                name,
                outcome.result.get("ticket_id") or args.get("ticket_id"),
                outcome.result.get("message_id"),
                body,
            )
        )

    def customer_writes(self, step: int) -> None:
        from sqlalchemy import text

        with self.run.database.engine.connect() as connection:
            found = [
                row[0]
                for row in connection.execute(
                    text("SELECT id FROM ticket WHERE group_id IN (:a, :b) AND status != 'closed' ORDER BY id"),
                    {"a": self.groups["front"], "b": self.groups["back"]},
                )
            ]
        if not found:
            return
        body = f"s{self.seed}:customer:{step}"
        with contextlib.suppress(DomainError):
            apply_as(self.run.database, SYSTEM, "ticket.receive", {"ticket_id": self.rng.choice(found), "body": body})
            self.customer_bodies.append(body)

    def race(self, step: int) -> None:
        """A round of Sam's starts through the slow lane while Tom changes a ticket Sam sees twice,
        syncing each time (which pokes Sam's console): the slow round's pull may land between the
        two changes and its answer after the console's round applied the second one — it must
        not write its older copy over it."""
        sam, tom = self.agents["sam"], self.agents["tom"]
        shared = [t for t in self.tickets(tom) if t[3] == self.groups["front"]]
        if not shared:
            return
        ticket_id = self.rng.choice(shared)[0]
        self.report.faults["race"] += 1
        from supportdesk.sync.profiles import get_profile, load_token

        slow = ServerClient(self.run.slow_lane.url, load_token(get_profile(sam.profile)), timeout=15)
        thread = threading.Thread(target=self._slow_round, args=(sam, slow), daemon=True)
        thread.start()
        self.threads.append(thread)
        for _turn in range(2):
            args = {"ticket_id": ticket_id, "priority": self.rng.choice(["low", "normal", "high", "urgent"])}
            with contextlib.suppress(DomainError):
                outcome = write.apply(tom.workspace, "ticket.set_priority", args)
                assert outcome.mutation_id is not None
                self.written.append(Written("tom", outcome.mutation_id, "ticket.set_priority", ticket_id, None, None))
            self.sync(tom, wait=30)

    def _slow_round(self, agent: Agent, client: ServerClient) -> None:
        try:
            SyncEngine(agent.workspace, client, wait=60).sync_once()
        except SyncError:
            pass
        finally:
            client.close()

    def sync_in_thread(self, agent: Agent) -> None:
        thread = threading.Thread(target=self.sync, args=(agent,), kwargs={"wait": 60.0}, daemon=True)
        thread.start()
        self.threads.append(thread)
        self.report.faults["thread-round"] += 1

    def sync_in_process(self, agent: Agent) -> None:
        """``supportdesk sync`` in a process of its own (forked warm, see ``zygote.py``), with its
        own clock; some are SIGKILLed mid-round."""
        rng = self.rng
        log = self.root / f"cli-{len(self.processes)}.log"
        env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
        env["SUPPORTDESK_NOW"] = skewed_now(rng.uniform(-600, 600))
        argv = ["--workspace", str(agent.root), "sync", "-q", "--wait", "60"]
        process = self.run.zygote.run(argv, env, log)
        kill_at = time.monotonic() + rng.uniform(0.05, 1.5) if rng.random() < 0.4 else None
        self.processes.append((process, log))
        self.report.faults["cli-round"] += 1
        if kill_at is not None:
            self.report.faults["cli-sigkill"] += 1

            def kill() -> None:
                time.sleep(max(0.0, kill_at - time.monotonic()))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)

            threading.Thread(target=kill, daemon=True).start()

    def kill_server(self, step: int) -> None:
        alive = self.run.alive()
        if not alive:
            return
        server = self.rng.choice(alive)
        server.kill()
        self.report.faults["server-sigkill"] += 1
        self.restarts_due.append((step + self.rng.randrange(1, 5), server))

    def restart_due(self, step: int) -> None:
        for due, server in list(self.restarts_due):
            if due <= step:
                self.restarts_due.remove((due, server))
                skew = self.rng.uniform(-120, 120)
                thread = threading.Thread(target=self._restart, args=(server, skew), daemon=True)
                thread.start()
                self.restarting.append(thread)

    def _restart(self, server: LiveServer, skew: float) -> None:
        with contextlib.suppress(RuntimeError):  # killed again while starting: quiescence brings it up
            self.run.restart(server, skew)

    # --- quiescence and the invariants ------------------------------------------------------------

    def quiesce(self) -> None:
        self.run.proxy.weather = Weather.calm()
        self.restarts_due.clear()
        for thread in self.restarting:
            thread.join(180)
        self.run.all_up()
        for process, log in self.processes:
            try:
                code = process.wait(180)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
                self.report.anomalies.append(f"a sync process hung ({log.name})")
                continue
            # a process killed before it opened its log leaves none
            output = log.read_text(errors="replace") if log.exists() else ""
            if "Traceback" in output:
                self.report.anomalies.append(f"a traceback from a sync process ({log.name}): {output[-400:]}")
            elif code not in (0, 1, 4, -signal.SIGKILL):
                self.report.anomalies.append(f"sync exited {code} ({log.name}): {output.strip()[-300:]}")
        for thread in self.threads:
            thread.join(180)
            if thread.is_alive():
                self.report.anomalies.append("a sync thread hung")
        if self.console is not None:
            self.console.stop(10)
        for _round in range(6):
            for agent in self.agents.values():
                for _attempt in range(5):
                    if self.sync(agent):
                        break
                    time.sleep(0.2)
            if all(self.pending(agent) == 0 for agent in self.agents.values()):
                break
        for agent in self.agents.values():  # everyone pulls everyone's last pushes
            self.sync(agent)

    def pending(self, agent: Agent) -> int:
        with agent.workspace.reading() as connection:
            return int(
                connection.execute(
                    "SELECT count(*) FROM outbox WHERE id > (SELECT last_acked_mutation_id FROM sync_state)"
                ).fetchone()[0]
            )

    def check(self) -> None:
        from sqlalchemy import select, text

        from supportdesk.domain.tx import table

        report = self.report
        database = self.run.database
        results = table("mutation_result")
        with database.engine.connect() as connection:
            for agent in self.agents.values():
                stored = {
                    int(row[0]): row[1]
                    for row in connection.execute(
                        select(results.c.mutation_id, results.c.result).where(results.c.client_id == agent.client_id)
                    )
                }
                with agent.workspace.reading() as local:
                    top = int(local.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])
                    acked = int(local.execute("SELECT last_acked_mutation_id FROM sync_state").fetchone()[0])
                    written_top = max([w.mutation_id for w in self.written if w.who == agent.who], default=0)
                    if self.pending(agent):
                        report.diverged.append(f"{agent.who}: {self.pending(agent)} mutations still pending")
                    expected = max(top, acked, written_top)
                    missing = sorted(set(range(1, expected + 1)) - set(stored))
                    if missing:
                        report.lost.append(f"{agent.who}: mutations {missing[:10]} never reached the server")
                for item in (w for w in self.written if w.who == agent.who):
                    self._check_written(connection, agent, item, stored.get(item.mutation_id))
            bodies = {
                row[0]: int(row[1])
                for row in connection.execute(
                    text("SELECT body, count(*) FROM message WHERE body LIKE :p GROUP BY body"),
                    {"p": f"s{self.seed}:%"},
                )
            }
        report.doubled.extend(f"server: {body!r} {n} times" for body, n in bodies.items() if n > 1)
        for body in self.customer_bodies:
            if bodies.get(body, 0) == 0:
                report.lost.append(f"customer message {body!r} is not on the server")
        for agent in self.agents.values():
            with agent.workspace.reading() as local:
                twice = local.execute(
                    "SELECT body, count(*) FROM message WHERE body LIKE ? GROUP BY body HAVING count(*) > 1",
                    (f"s{self.seed}:%",),
                ).fetchall()
            report.doubled.extend(f"{agent.who}'s replica: {row[0]!r} {row[1]} times" for row in twice)
            problems = differences(server_view(database, agent.agent_id), replica_view(agent.workspace), limit=5)
            report.diverged.extend(f"{agent.who}: {problem}" for problem in problems)
        report.writes = len(self.written)

    def _check_written(self, connection: Any, agent: Agent, item: Written, stored: Any) -> None:
        from sqlalchemy import text

        report = self.report
        if item.name == "ticket.reply":
            report.replies += 1
        if stored is None:
            return  # reported with the missing ids
        outcome = json.loads(stored) if isinstance(stored, str) else stored
        if item.name == "ticket.reply":
            report.replies_accepted += bool(outcome.get("ok"))
            report.replies_refused += not outcome.get("ok")
        if outcome.get("ok"):
            if item.message_id is None:
                return
            count = connection.execute(
                text("SELECT count(*) FROM message WHERE id = :m"), {"m": item.message_id}
            ).scalar()
            by_body = connection.execute(
                text("SELECT count(*) FROM message WHERE body = :b"), {"b": item.body}
            ).scalar()
            if count == 1 and by_body == 1:
                if item.name == "ticket.reply":
                    report.replies_once += 1
            elif count == 0:
                report.lost.append(f"{agent.who}: {item.name} {item.mutation_id} accepted but its message is missing")
            else:
                report.doubled.append(
                    f"{agent.who}: {item.name} {item.mutation_id}: {count} messages, {by_body} bodies"
                )
            return
        if item.name in ("ticket.reply", "ticket.note") and item.body:
            kind = "reply" if item.name == "ticket.reply" else "note"
            with agent.workspace.reading() as local:
                row = local.execute(
                    "SELECT body FROM draft WHERE ticket_id = ? AND kind = ?", (item.ticket_id, kind)
                ).fetchone()
            if row is None or item.body not in row[0]:
                error = (outcome.get("error") or {}).get("message")
                report.lost.append(f"{agent.who}: refused {item.name} {item.mutation_id} ({error}) is in no draft")
            else:
                report.refused_kept += 1
        else:
            report.refused_other += 1

    def close(self, keep: bool) -> None:
        for agent in self.agents.values():
            agent.workspace.close()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


def run_seed(run: FaultRun, seed: int, *, steps: int = 40, keep: bool = False) -> SeedReport:
    """One seed from set-up to the invariants; the seed's folder is kept when it failed (or ``keep``)."""
    started = time.monotonic()
    run.proxy.reseed(seed)
    run.proxy.weather = Weather.calm()
    seed_run = Seed(run, seed, steps)
    run.server_trouble()  # what earlier seeds left in the logs is theirs
    try:
        for phase in (seed_run.make_team, seed_run.run_steps, seed_run.quiesce, seed_run.check):
            begun = time.monotonic()
            phase()
            seed_run.report.phases[phase.__name__] = round(time.monotonic() - begun, 2)
    except Exception as error:  # the harness's own failure: reported, and the next seed goes on
        import traceback

        seed_run.report.anomalies.append(f"harness error: {''.join(traceback.format_exception(error))[-1500:]}")
        with contextlib.suppress(Exception):
            seed_run.quiesce()
    finally:
        seed_run.report.anomalies.extend(run.server_trouble())
        report = seed_run.report
        report.faults.update({f"proxy-{k}": v for k, v in run.proxy.counts.items()})
        report.seconds = time.monotonic() - started
        seed_run.close(keep or not report.ok)
    return report
