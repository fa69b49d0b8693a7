"""Several server processes on one PostgreSQL database: ``serve --workers N`` (uvicorn's process
manager), and separate servers on separate ports as separate hosts would be — pokes and presence
cross between them through LISTEN/NOTIFY, one of them receives mail, and SQLite refuses them."""

from __future__ import annotations

import os
import queue
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.channels.server_helpers import SECRET, write_config
from tests.live import Deployment, LiveServer, api, deploy, free_port

pytestmark = pytest.mark.integration

Events = queue.Queue[tuple[str, dict[str, Any]]]


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> Any:
    """Poll ``condition`` until it is truthy (a loaded machine gets a generous ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@contextmanager
def listening(server: LiveServer, token: str) -> Iterator[Events]:
    """The events of one agent's stream on ``server``, as (event, data), in a thread."""
    from supportdesk.sync.client import ServerClient

    events: Events = queue.Queue()
    stop = threading.Event()
    client = ServerClient(server.url, token)

    def run() -> None:
        try:
            for event in client.events(read_timeout=5):
                events.put(event)
                if stop.is_set():
                    return
        except Exception as error:
            if not stop.is_set():
                events.put(("error", {"error": str(error)}))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert next_event(events, "hello") is not None
        yield events
    finally:
        stop.set()
        client.close()


def next_event(events: Events, kind: str, match: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            event, data = events.get(timeout=1)
        except queue.Empty:
            continue
        assert event != "error", data
        if event == kind and match(data):
            return data
    raise AssertionError(f"no {kind} event within 60 s")


def no_event(events: Events, kind: str, within: float) -> None:
    """No ``kind`` event arrives in ``within`` seconds (after a later event proves delivery works)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            event, data = events.get(timeout=0.2)
        except queue.Empty:
            continue
        assert event != kind, data


def new_ticket(server: LiveServer, token: str, subject: str = "Printer on fire") -> str:
    """A Tier 1 ticket made over REST; its id."""
    body = {"subject": subject, "body": "help", "requester": {"email": "c@example.com"}, "group": "Tier 1"}
    with api(server, token) as client:
        response = client.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def pushed_ticket(server: LiveServer, token: str, client_id: str, mutation_id: int) -> int:
    """A ticket made by a sync push; the seq its change took."""
    args = {"subject": "Pushed", "body": "there", "requester": {"value": "e@example.com"}}
    body = {
        "client_id": client_id,
        "schema_version": 1,
        "mutations": [{"id": mutation_id, "name": "ticket.create", "args": args}],
    }
    with api(server, token) as client:
        response = client.post("/v1/push", json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["results"][0]["seq"])


def worker_pids(server: LiveServer) -> list[int]:
    """The worker processes uvicorn spawned for ``server`` (not its resource tracker)."""
    assert server.process is not None
    parent = server.process.pid
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


# --- serve --workers -----------------------------------------------------------------------


def test_several_workers_are_refused_on_sqlite_in_one_line(tmp_path: Path) -> None:
    for flags, env in ((["--workers", "2"], {}), ([], {"SUPPORTDESK_WORKERS": "3"})):
        result = subprocess.run(
            [sys.executable, "-m", "supportdesk", "serve", "--db", str(tmp_path / "s.db"), "--port", "1", *flags],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and "needs a PostgreSQL database" in lines[0], result.stderr
    assert not (tmp_path / "s.db").exists()


def test_serve_flags_read_their_environment_variables(tmp_path: Path) -> None:
    """``SUPPORTDESK_PORT`` and ``SUPPORTDESK_LOG_LEVEL`` stand for --port and --log-level."""
    port = free_port()
    command = [sys.executable, "-m", "supportdesk", "serve", "--db", str(tmp_path / "s.db")]
    env = {
        **os.environ,
        "SUPPORTDESK_TRIAGE": "0",
        "SUPPORTDESK_PORT": str(port),
        "SUPPORTDESK_LOG_LEVEL": "warning",
    }
    with (tmp_path / "env.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for(lambda: _answers(f"http://127.0.0.1:{port}/v1/health"), what="the server on SUPPORTDESK_PORT")
        finally:
            process.terminate()
            process.wait(30)
    # --log-level warning: uvicorn's INFO start-up lines are not written
    assert "Uvicorn running" not in (tmp_path / "env.log").read_text()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_two_workers_on_postgresql_serve_one_port_and_converge(tmp_path: Path) -> None:
    with deploy("postgresql", tmp_path, extra=["--workers", "2"]) as running:
        pids = worker_pids(running.server)
        assert len(pids) == 2
        sam, tom = running.replica("sam"), running.replica("tom")
        try:
            with listening(running.server, running.team.tokens["tom"]) as events:
                args = {"subject": "Two workers", "body": "hi", "requester": {"value": "c@example.com"}}
                ticket = sam.apply("ticket.create", {**args, "group_id": running.team.tier1}).result["ticket_id"]
                sam.sync()
                # whichever worker took the push and whichever holds tom's stream, the poke arrives
                seq = int(sam.rows("SELECT cursor FROM sync_state")[0][0])
                next_event(events, "poke", lambda data: int(data["seq"]) >= seq)
            tom.sync()
            assert tom.rows("SELECT subject FROM ticket WHERE id = ?", ticket) == [("Two workers",)]
            # many requests over fresh connections, spread by the kernel over both workers: all answer
            for _ in range(20):
                with running.api("sam") as client:
                    assert client.get("/v1/me").status_code == 200
        finally:
            sam.close()
            tom.close()
        # a worker that dies is replaced by uvicorn's manager, and the port keeps answering
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: len(worker_pids(running.server)) == 2 and pids[0] not in worker_pids(running.server))
        wait_for(lambda: _answers(f"{running.server.url}/v1/health"), what="health after a worker died")


# --- pokes and presence across processes ------------------------------------------------------


@pytest.fixture
def two_hosts(tmp_path: Path) -> Iterator[tuple[Deployment, LiveServer]]:
    """Two single-process servers on different ports over one PostgreSQL database."""
    with deploy("postgresql", tmp_path) as running:
        second = LiveServer(running.server.db, tmp_path).start()
        try:
            yield running, second
        finally:
            second.stop()


def test_presence_crosses_processes_only_to_those_who_may_see_the_ticket(
    two_hosts: tuple[Deployment, LiveServer],
) -> None:
    running, second = two_hosts
    ticket = new_ticket(running.server, running.team.tokens["sam"])
    with (
        listening(second, running.team.tokens["tom"]) as tom_events,
        listening(second, running.team.tokens["bea"]) as bea_events,
    ):
        with running.api("sam") as client:
            answer = client.post("/v1/presence", json={"ticket_id": ticket, "state": "typing"})
        assert answer.status_code == 204
        seen = next_event(tom_events, "presence", lambda data: data["ticket_id"] == ticket)
        assert (seen["agent_id"], seen["state"]) == (running.team.ids["sam"], "typing")
        # bea (Billing) may not see a Tier 1 ticket: a poke reaches her, sam's presence never does
        new_ticket(running.server, running.team.tokens["ada"], "After the presence")
        next_event(bea_events, "poke")
        no_event(bea_events, "presence", 2.0)
    # an agent who connects to the second process later is told who is in the ticket now
    with listening(second, running.team.tokens["tom"]) as late:
        seen = next_event(late, "presence", lambda data: data["ticket_id"] == ticket)
        assert seen["agent_id"] == running.team.ids["sam"]


def test_a_push_through_one_process_pokes_agents_of_the_other_both_ways(
    two_hosts: tuple[Deployment, LiveServer],
) -> None:
    running, second = two_hosts
    with (
        listening(running.server, running.team.tokens["tom"]) as on_first,
        listening(second, running.team.tokens["tom"]) as on_second,
    ):
        for number, writer in enumerate((running.server, second), start=1):
            seq = pushed_ticket(writer, running.team.tokens["sam"], "two-hosts", number)
            for events in (on_first, on_second):
                next_event(events, "poke", lambda data, least=seq: int(data["seq"]) >= least)


# --- one process receives mail ------------------------------------------------------------------


def _smtp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _lock_tries(db: str) -> list[tuple[int, str]]:
    """When each idle connection last asked for the receivers' lock (a retry changes the time;
    the process holding the lock asks ``SELECT 1`` instead)."""
    import psycopg

    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid, query_start FROM pg_stat_activity"
            " WHERE state = 'idle' AND query LIKE 'SELECT pg_try_advisory_lock%'"
        ).fetchall()
    return [(pid, started.isoformat()) for pid, started in rows]


def test_one_process_receives_mail_and_another_takes_over_when_it_dies(tmp_path: Path) -> None:
    """Two servers (as two hosts: SMTP on 127.0.0.1 and 127.0.0.2, same port) on one database:
    only the one holding the receivers' lock listens; killed, the other starts listening."""
    write_config({"channels": {"secret": SECRET, "mail_domain": "acme.test", "attachments_dir": str(tmp_path / "a")}})
    port = free_port()
    with deploy("postgresql", tmp_path, extra=["--smtp-port", str(port), "--smtp-host", "127.0.0.1"]) as running:
        wait_for(lambda: _smtp_open("127.0.0.1", port), what="the first server's SMTP listener")
        second = LiveServer(running.server.db, tmp_path, extra=["--smtp-port", str(port), "--smtp-host", "127.0.0.2"])
        second.start()
        try:
            # The second process has been refused the lock twice (its first try at start-up, then
            # a retry round 5 s later) and is still not listening.
            tries: dict[int, set[str]] = {}

            def refused_twice() -> bool:
                assert not _smtp_open("127.0.0.2", port), "both processes receive mail"
                for pid, started in _lock_tries(running.server.db):
                    tries.setdefault(pid, set()).add(started)
                return any(len(times) >= 2 for times in tries.values())

            wait_for(refused_twice, what="the second server trying the receivers' lock again")
            running.server.kill()
            wait_for(lambda: _smtp_open("127.0.0.2", port), what="the second server taking the SMTP listener over")
            with smtplib.SMTP("127.0.0.2", port, timeout=30) as smtp:
                smtp.sendmail(
                    "c@example.com",
                    ["support@acme.test"],
                    b"From: c@example.com\r\nTo: support@acme.test\r\nSubject: Taken over\r\n"
                    b"Message-ID: <over@example.com>\r\n\r\nhello\r\n",
                )
            with api(second, running.team.tokens["ada"]) as client:
                found = wait_for(
                    lambda: [t for t in client.get("/v1/tickets").json()["tickets"] if t["subject"] == "Taken over"]
                )
            assert len(found) == 1
        finally:
            second.stop()
