"""supportdesk's command line against Request Tracker 5's ``rt``, side by side (issue 19).

    .venv/bin/python bench/rt_side_by_side.py [--tickets 10000] [--runs 9] [--folder /tmp/rt-side-by-side]

Needs Debian's ``request-tracker5`` with ``rt5-db-sqlite`` (``/usr/bin/rt``, ``plackup``).
What it builds, once per ``--folder`` and ``--tickets`` (reused on the next run):

- a supportdesk demo workspace of N tickets (``supportdesk demo --tickets N``);
- an RT database of the same N tickets: a copy of Debian's fresh RT SQLite database in which
  ``bench/rt_side_by_side_setup.pl`` (RT's own Perl API) gives root a password, makes one queue
  per demo group and some requestor users, and creates one template ticket (the customer's
  message, root's reply — which opens it — and root's comment, with the notification mail RT
  records). The template's rows (ticket, its four role groups with their principals, members
  and cached members, its transactions and their attachments) are then copied once per demo
  ticket with that ticket's number as RT id, its subject, its group as queue, its status
  (pending and on_hold as ``stalled``, solved and closed as ``resolved``) and its first
  customer message, first public reply and first note as the bodies. RT's API takes seconds a
  ticket on this machine; the copies are RT's own rows, so RT reads and writes them as its own.

Then RT runs under plackup (Starlet, 2 workers, as tests/cli/test_import_rt_rest.py starts it)
on 127.0.0.1, ``rt`` talks to it as root (RTSERVER/RTUSER/RTPASSWD, a private HOME that keeps
its session cookie, so only the warm-up run logs in), and a supportdesk command server runs
on a private socket. For each operation the runs go turn about: ``rt``, ``supportdesk`` alone
(``SUPPORTDESK_COMMAND_SERVER=off``), ``supportdesk`` handed to the command server; the writes
go to copies of both stores. Measured, p50 of ``--runs`` after a warm-up: wall time of the whole
process (start-up included, as the issue measures), and CPU — the process's own plus what its
server spent meanwhile (RT's plackup process group for ``rt``, the command server and its reaped
fork for a served line), so neither side hides work in a server.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from cli_command_server import _server_pid
from cli_common import compile_sources, copy_workspace, demo_workspace, load

RT_FRESH_DB = Path("/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb")
RT_APP = Path("/usr/share/request-tracker5/libexec/rt-server")
PLACKUP = Path("/usr/bin/plackup")
RT_CLI = Path("/usr/bin/rt")
SETUP = Path(__file__).with_name("rt_side_by_side_setup.pl")
PASSWORD = "side by side"
CUSTOMERS = 200
RT_STATUS = {
    "new": "new",
    "open": "open",
    "pending": "stalled",
    "on_hold": "stalled",
    "solved": "resolved",
    "closed": "resolved",
}
SUPPORTDESK = str(Path(sys.executable).with_name("supportdesk"))


# --- the RT database ---------------------------------------------------------------------------


def _demo_tickets(workspace: Path) -> Iterator[tuple[int, str, str, str, str, str | None, str | None, str]]:
    """(number, subject, status, group, first customer message, first reply, first note, created)."""
    query = """
        SELECT t.number, t.subject, t.status, g.name,
          (SELECT body FROM message m WHERE m.ticket_id = t.id AND m.author_kind = 'customer'
             ORDER BY m.created_at LIMIT 1),
          (SELECT body FROM message m WHERE m.ticket_id = t.id AND m.author_kind = 'agent' AND m.public
             ORDER BY m.created_at LIMIT 1),
          (SELECT body FROM message m WHERE m.ticket_id = t.id AND NOT m.public ORDER BY m.created_at LIMIT 1),
          strftime('%Y-%m-%d %H:%M:%S', t.created_at)
        FROM ticket t JOIN groups g ON g.id = t.group_id ORDER BY t.number
    """
    with closing(sqlite3.connect(workspace / "supportdesk.db")) as connection:
        yield from connection.execute(query)


def _groups(workspace: Path) -> list[str]:
    with closing(sqlite3.connect(workspace / "supportdesk.db")) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM groups ORDER BY name")]


def _setup(database: Path, groups: list[str]) -> tuple[int, dict[str, int], list[int]]:
    """RT's Perl API: root's password, the queues, the customers, the template ticket."""
    done = subprocess.run(
        ["perl", str(SETUP), str(database), PASSWORD, str(CUSTOMERS), *groups],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"rt_side_by_side_setup.pl failed: {done.stderr[-2000:]}")
    template, queues, customers = 0, {}, []
    for line in done.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "template":
            template = int(rest)
        elif kind == "queue":
            number, _, name = rest.partition(" ")
            queues[name] = int(number)
        elif kind == "customer":
            customers.append(int(rest))
    return template, queues, customers


def _rows(connection: sqlite3.Connection, sql: str, *args: object) -> list[dict[str, object]]:
    cursor = connection.execute(sql, args)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _insert(connection: sqlite3.Connection, table: str, rows: list[dict[str, object]]) -> None:
    if rows:
        names = list(rows[0])
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [tuple(row[name] for name in names) for row in rows],
        )


def fill_rt(database: Path, workspace: Path) -> int:
    """A copy of RT's fresh database holding the demo's tickets (see the module's docstring)."""
    shutil.copy(RT_FRESH_DB, database)
    database.chmod(0o600)
    template, queues, customers = _setup(database, _groups(workspace))
    with closing(sqlite3.connect(database)) as connection, connection:
        ticket = _rows(connection, "SELECT * FROM Tickets WHERE id = ?", template)[0]
        roles = _rows(connection, "SELECT * FROM Groups WHERE Domain = 'RT::Ticket-Role' AND Instance = ?", template)
        role_ids = [row["id"] for row in roles]
        marks = ",".join("?" * len(role_ids))
        principals = _rows(connection, f"SELECT * FROM Principals WHERE id IN ({marks})", *role_ids)
        members = _rows(connection, f"SELECT * FROM GroupMembers WHERE GroupId IN ({marks})", *role_ids)
        cached = _rows(
            connection, f"SELECT * FROM CachedGroupMembers WHERE GroupId IN ({marks}) ORDER BY id", *role_ids
        )
        transactions = _rows(
            connection,
            f"SELECT * FROM Transactions WHERE (ObjectType = 'RT::Ticket' AND ObjectId = ?) "
            f"OR (ObjectType = 'RT::Group' AND ObjectId IN ({marks})) ORDER BY id",
            template,
            *role_ids,
        )
        kinds = {row["id"]: row["Type"] for row in transactions}
        parts = _rows(
            connection,
            f"SELECT * FROM Attachments WHERE TransactionId IN ({','.join('?' * len(kinds))}) ORDER BY id",
            *kinds,
        )
        requestor = next(row for row in roles if row["Name"] == "Requestor")["id"]
        template_customer = next(row["MemberId"] for row in members if row["GroupId"] == requestor)
        connection.execute("DELETE FROM Tickets WHERE id = ?", (template,))
        done = ",".join("?" * len(kinds))
        connection.execute(f"DELETE FROM Attachments WHERE TransactionId IN ({done})", list(kinds))
        connection.execute(f"DELETE FROM Transactions WHERE id IN ({done})", list(kinds))
        connection.execute(f"DELETE FROM CachedGroupMembers WHERE GroupId IN ({marks})", role_ids)
        connection.execute(f"DELETE FROM GroupMembers WHERE GroupId IN ({marks})", role_ids)
        connection.execute(f"DELETE FROM Groups WHERE id IN ({marks})", role_ids)
        connection.execute(f"DELETE FROM Principals WHERE id IN ({marks})", role_ids)
        next_id = {
            table: itertools.count(connection.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])
            for table in ("Principals", "Transactions", "Attachments", "CachedGroupMembers", "GroupMembers")
        }
        count = 0
        for number, subject, status, group, asked, replied, noted, created in _demo_tickets(workspace):
            count += 1
            customer = customers[number % len(customers)]
            role = {old: next(next_id["Principals"]) for old in role_ids}

            def principal(old: object, *, role: dict[object, int] = role, customer: int = customer) -> object:
                return customer if old == template_customer else role.get(old, old)

            _insert(connection, "Principals", [{**row, "id": role[row["id"]]} for row in principals])
            _insert(connection, "Groups", [{**row, "id": role[row["id"]], "Instance": number} for row in roles])
            _insert(
                connection,
                "GroupMembers",
                [
                    {**row, "id": next(next_id["GroupMembers"]), "GroupId": role[row["GroupId"]],
                     "MemberId": principal(row["MemberId"])}
                    for row in members
                ],
            )  # fmt: skip
            cache: dict[object, int] = {}
            for row in cached:
                cache[row["id"]] = next(next_id["CachedGroupMembers"])
            _insert(
                connection,
                "CachedGroupMembers",
                [
                    {**row, "id": cache[row["id"]], "GroupId": role[row["GroupId"]],
                     "MemberId": principal(row["MemberId"]), "Via": cache.get(row["Via"], row["Via"]),
                     "ImmediateParentId": principal(row["ImmediateParentId"])}
                    for row in cached
                ],
            )  # fmt: skip
            txn = {row["id"]: next(next_id["Transactions"]) for row in transactions}
            new_transactions = []
            for row in transactions:
                moved = {**row, "id": txn[row["id"]], "Created": created}
                if row["ObjectType"] == "RT::Ticket":
                    moved["ObjectId"] = number
                else:
                    moved["ObjectId"] = role[row["ObjectId"]]
                if row["Type"] == "Create" and row["ObjectType"] == "RT::Ticket":
                    moved["Creator"] = customer
                new_transactions.append(moved)
            if RT_STATUS[status] not in ("open", "new"):
                new_transactions.append(
                    {**transactions[-1], "id": next(next_id["Transactions"]), "ObjectId": number, "Type": "Status",
                     "Field": "Status", "OldValue": "open", "NewValue": RT_STATUS[status], "Data": None,
                     "Created": created}
                )  # fmt: skip
            _insert(connection, "Transactions", new_transactions)
            bodies = {"Create": asked, "Correspond": replied, "Comment": noted}
            part = {row["id"]: next(next_id["Attachments"]) for row in parts}
            new_parts = []
            for row in parts:
                moved = {**row, "id": part[row["id"]], "TransactionId": txn[row["TransactionId"]],
                         "Parent": part.get(row["Parent"], 0), "Created": created}  # fmt: skip
                body = bodies.get(str(kinds[row["TransactionId"]]))
                if body and row["ContentType"] == "text/plain":
                    moved["Content"] = body
                if kinds[row["TransactionId"]] == "Create":
                    moved["Subject"] = subject
                new_parts.append(moved)
            _insert(connection, "Attachments", new_parts)
            _insert(
                connection,
                "Tickets",
                [
                    {**ticket, "id": number, "EffectiveId": number, "Queue": queues[group], "Subject": subject,
                     "Status": RT_STATUS[status], "Created": created, "LastUpdated": created,
                     "Resolved": created if RT_STATUS[status] == "resolved" else ticket["Resolved"]}
                ],
            )  # fmt: skip
    return count


# --- RT under plackup ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_rt(folder: Path, database: Path) -> Iterator[tuple[str, int]]:
    """RT's web app on 127.0.0.1 with its own site config, caches and sessions in ``folder``;
    yields its URL and its process group (plackup and its workers)."""
    port = _free_port()
    home = folder / "rt-site"
    shutil.rmtree(home, ignore_errors=True)
    for name in ("mason", "sessions", "site.d"):
        (home / name).mkdir(parents=True)
    config = home / "RT_SiteConfig.pm"
    config.write_text(
        "\n".join(
            [
                "Set($DatabaseType, 'SQLite');",
                f"Set($DatabaseName, '{database}');",
                "Set($WebDomain, '127.0.0.1');",
                f"Set($WebPort, {port});",
                "Set($WebPath, '');",
                f"Set($MasonDataDir, '{home / 'mason'}');",
                f"Set($MasonSessionDir, '{home / 'sessions'}');",
                "Set($LogToSTDERR, 'error');",
                "Set($LogToSyslog, undef);",
                "Set($LogToFile, undef);",
                "Set($MailCommand, 'testfile');",
                "1;",
            ]
        )
    )
    env = {**os.environ, "RT_SITE_CONFIG": str(config), "RT_SITE_CONFIG_DIR": str(home / "site.d")}
    starlet = subprocess.run(["perl", "-MStarlet", "-e1"], capture_output=True, check=False).returncode == 0
    server = ["-s", "Starlet", "--max-workers", "2"] if starlet else []
    log = home / "rt.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PLACKUP), *server, "-E", "deployment", "--host", "127.0.0.1", "--port", str(port), str(RT_APP)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"RT did not start: {log.read_text(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/REST/1.0/", timeout=5).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        yield url, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


# --- CPU on both sides ---------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def group_cpu(pgid: int) -> float:
    """CPU seconds of every process of a process group, with the children they reaped (RT's
    plackup master and its Starlet workers, which it replaces now and then)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)
            except OSError:
                continue
            if int(fields[2]) == pgid:
                total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def process_cpu(pid: int) -> float:
    """CPU seconds of one process with its reaped children (the command server and its forks)."""
    return sum(int(value) for value in _stat(str(pid))[11:15]) / TICK


# --- the command server -------------------------------------------------------------------------


@contextmanager
def command_server() -> Iterator[tuple[Path, int]]:
    """A supportdesk command server on a private socket, as bench/cli_command_server.py starts it."""
    folder = Path(tempfile.mkdtemp(prefix="sdcs-rt-", dir="/tmp"))
    folder.chmod(0o700)
    path = folder / "command.sock"
    off = {**os.environ, "SUPPORTDESK_COMMAND_SERVER": "off"}
    subprocess.run([SUPPORTDESK, "command-server", "start", "--socket", str(path), "--idle", "0"], check=True, env=off)
    try:
        yield path, _server_pid(path)
    finally:
        subprocess.run([SUPPORTDESK, "command-server", "stop", "--socket", str(path)], check=False, env=off)
        shutil.rmtree(folder, ignore_errors=True)


# --- the cases ----------------------------------------------------------------------------------

_TURNS: dict[tuple[str, ...], itertools.count[int]] = {}


def _by_turns(args: list[str]) -> list[str]:
    """``{sd}`` / ``{rt}`` become two statuses on alternate runs of the same line (supportdesk
    alone and served share one count: they write the same workspace), so every status change
    changes something — a change to the status a ticket has is not the write being measured."""
    turn = next(_TURNS.setdefault(tuple(args), itertools.count())) % 2
    sd, rt = ("pending", "open")[turn], ("stalled", "open")[turn]
    return [arg.replace("{sd}", sd).replace("{rt}", rt) for arg in args]


def cases(workspace: Path, group: str, show: int, write: int, status: int) -> list[tuple[str, list[str], list[str]]]:
    """(label, rt's argv, supportdesk's argv) — as equivalent as the two tools allow."""
    w = ["-w", str(workspace)]
    short = ["--plain", "--fields", "number,subject", "-n", "100000"]
    return [
        (
            f"list: open tickets of {group!r} (number, subject)",
            [str(RT_CLI), "ls", "-s", f"Queue = '{group}' AND Status = 'open'"],
            [*w, "tickets", "list", "-q", f'status:open group:"{group}"', *short],
        ),
        (
            "list: the same, RT's default table / sd's --plain",
            [str(RT_CLI), "ls", f"Queue = '{group}' AND Status = 'open'"],
            [*w, "tickets", "list", "-q", f'status:open group:"{group}"', "--plain", "-n", "100000"],
        ),
        (
            "search: 'refund' (RT: Subject LIKE; sd: full text)",
            [str(RT_CLI), "ls", "-s", "Subject LIKE 'refund'"],
            [*w, "tickets", "list", "-q", "refund", *short],
        ),
        (f"show {show} with its history", [str(RT_CLI), "show", str(show)], [*w, "tickets", "show", str(show)]),
        (
            "create (subject, requester, body)",
            [
                str(RT_CLI),
                "create",
                "-t",
                "ticket",
                "set",
                f"queue={group}",
                "subject=Bench ticket",
                "requestor=bench@example.com",
                "text=Hello",
            ],
            [*w, "tickets", "create", "-s", "Bench ticket", "-r", "bench@example.com", "-b", "Hello", "--group", group],
        ),
        (
            f"reply to {write}",
            [str(RT_CLI), "correspond", "-m", "Thanks, looking into it.", str(write)],
            [*w, "tickets", "reply", str(write), "-b", "Thanks, looking into it."],
        ),
        (
            f"note/comment on {write}",
            [str(RT_CLI), "comment", "-m", "internal", str(write)],
            [*w, "tickets", "note", str(write), "-b", "internal"],
        ),
        (
            f"set status of {status} (stalled/pending, open by turns)",
            [str(RT_CLI), "edit", f"ticket/{status}", "set", "status={rt}"],
            [*w, "tickets", "update", str(status), "--set", "status={sd}", "--yes"],
        ),
    ]


def run(argv: list[str], env: dict[str, str], server: Callable[[], float] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds of one whole process, and its stdout; a failure stops the bench.

    CPU is the process's own (user + system) plus what ``server`` (a server's cumulative CPU)
    grew by meanwhile: RT's web app for ``rt``, the command server and its fork for a served
    line, so work moved into a server is counted, not hidden.
    """
    argv = _by_turns(argv)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    served_before = server() if server else 0.0
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu += (server() - served_before) if server else 0.0
    if done.returncode != 0 or "rt: " in done.stderr:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/rt-side-by-side"))
    parser.add_argument("--group", default="Tier 1", help="the queue / group of the list case")
    parser.add_argument("--only", metavar="TEXT", help="only the cases whose label holds TEXT")
    args = parser.parse_args()
    for needed in (RT_FRESH_DB, RT_APP, PLACKUP, RT_CLI):
        if not needed.exists():
            raise SystemExit(f"needs Debian's request-tracker5 + rt5-db-sqlite: {needed} is missing")
    folder = args.folder / str(args.tickets)
    folder.mkdir(parents=True, exist_ok=True)
    compile_sources()
    print(load())
    source = demo_workspace(folder / "supportdesk", args.tickets)
    database = folder / "rtdb"
    if not (folder / "rtdb.done").exists():
        started = time.perf_counter()
        count = fill_rt(database, source)
        (folder / "rtdb.done").write_text(str(count))
        print(f"RT filled with {count:,} tickets in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rt_database = folder / "rtdb-run"  # the writes go to copies: the next run starts from the same data
    shutil.copy(database, rt_database)
    workspace = copy_workspace(source, folder / "supportdesk-run")
    top = int(Path(folder / "rtdb.done").read_text())
    show, write, status = min(1042, top), max(1, top - 8), max(1, top - 9)
    rt_home = folder / "rt-home"
    shutil.rmtree(rt_home, ignore_errors=True)
    rt_home.mkdir(mode=0o700)
    with running_rt(folder, rt_database) as (url, rt_group), command_server() as (path, server_pid):
        rt_env = {**os.environ, "HOME": str(rt_home), "RTSERVER": url, "RTUSER": "root", "RTPASSWD": PASSWORD}
        sides = {
            "rt": (rt_env, lambda: group_cpu(rt_group)),
            "alone": ({**os.environ, "SUPPORTDESK_COMMAND_SERVER": "off"}, None),
            "served": ({**os.environ, "SUPPORTDESK_COMMAND_SERVER": str(path)}, lambda: process_cpu(server_pid)),
        }
        print(
            f"{'operation':<52} {'rows':>8} | {'wall p50: RT':>12} {'sd':>6} {'served':>6} {'RT/sd':>5} {'RT/srv':>6}"
            f" | {'CPU p50: RT':>11} {'sd':>6} {'served':>6} {'RT/sd':>5} {'RT/srv':>6}"
        )
        for label, rt_argv, sd_argv in cases(workspace, args.group, show, write, status):
            if args.only and args.only not in label:
                continue
            argvs = {"rt": rt_argv, "alone": [SUPPORTDESK, *sd_argv], "served": [SUPPORTDESK, *sd_argv]}
            rows = {side: len(run(argvs[side], *sides[side])[2].splitlines()) for side in sides}  # warm-up
            samples: dict[str, tuple[list[float], list[float]]] = {side: ([], []) for side in sides}
            for _ in range(args.runs):
                for side in sides:
                    wall, cpu, _ = run(argvs[side], *sides[side])
                    samples[side][0].append(wall)
                    samples[side][1].append(cpu)
            wall_rt, wall_sd, wall_srv = (statistics.median(samples[side][0]) * 1000 for side in sides)
            cpu_rt, cpu_sd, cpu_srv = (statistics.median(samples[side][1]) * 1000 for side in sides)
            print(
                f"{label:<52} {rows['rt']:>3}/{rows['alone']:<4} | {wall_rt:10.0f}ms {wall_sd:4.0f}ms {wall_srv:4.0f}ms"
                f" {wall_rt / wall_sd:5.1f} {wall_rt / wall_srv:6.1f} | {cpu_rt:9.0f}ms {cpu_sd:4.0f}ms"
                f" {cpu_srv:4.0f}ms {cpu_rt / cpu_sd:5.1f} {cpu_rt / cpu_srv:6.1f}",
                flush=True,
            )
    print(load())
    print(json.dumps({"tickets": top, "runs": args.runs}))


if __name__ == "__main__":
    main()
