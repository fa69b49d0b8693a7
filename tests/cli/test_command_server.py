"""The command server (issue 19): real ``supportdesk`` processes handing their lines to a real
server over a Unix socket, compared with the same lines run on their own.

Every test that expects a line to be forwarded also checks the server's ``served`` count, so a
client that quietly ran the line itself cannot pass for one that used the server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from supportdesk.cli import command_socket as wire
from supportdesk.cli.command_server import CommandServer, code_stamp
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.cli.conftest import copy_workspace

pytestmark = pytest.mark.integration

SCRIPT = str(Path(sys.executable).with_name("supportdesk"))


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Server:
    folder: Path
    socket: Path

    def env(self, **more: str) -> dict[str, str]:
        return {**os.environ, wire.VARIABLE: str(self.socket), **more}

    def status(self) -> dict[str, object] | None:
        from supportdesk.cli.command_server_cmd import server_status

        return server_status(self.socket)

    def served(self) -> int:
        found = self.status()
        assert found is not None, "the command server is not running"
        return int(found["served"])  # type: ignore[arg-type]


def _start(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, "command-server", "start", "--socket", str(folder / "command.sock"), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, wire.VARIABLE: "off"},
    )


@pytest.fixture
def server() -> Iterator[Server]:
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))  # short: a socket path is ≤ 107 bytes
    folder.chmod(0o700)
    started = _start(folder, "--idle", "0")
    assert started.returncode == 0, started.stderr
    running = Server(folder, folder / "command.sock")
    pid = int(running.status()["pid"])  # type: ignore[index, call-overload]
    yield running
    subprocess.run([SCRIPT, "command-server", "stop", "--socket", str(running.socket)], capture_output=True, timeout=60)
    _wait_for(lambda: not _alive(pid), "the command server to end")
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of a parent that has not reaped it yet counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture
def workspace(demo_workspace: Workspace, tmp_path: Path) -> Iterator[Path]:
    copy = copy_workspace(demo_workspace, tmp_path / "ws")
    copy.close()
    yield tmp_path / "ws"


def _run(
    args: list[str], env: dict[str, str], *, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def _messages(workspace: Path) -> int:
    with closing(sqlite3.connect(workspace / DB_NAME)) as connection:
        return int(connection.execute("SELECT count(*) FROM message").fetchone()[0])


def _a_ticket(workspace: Path) -> str:
    with closing(sqlite3.connect(workspace / DB_NAME)) as connection:
        found = connection.execute("SELECT number FROM ticket WHERE status IN ('new', 'open') ORDER BY number LIMIT 1")
        return str(found.fetchone()[0])


def test_lines_answer_as_they_do_on_their_own(server: Server, workspace: Path) -> None:
    number = _a_ticket(workspace)
    lines = [
        ["-w", str(workspace), "tickets", "list", "--json", "--limit", "5"],
        ["-w", str(workspace), "tickets", "show", number, "--json"],
        ["-w", str(workspace), "tickets", "list", "--query", "status:open priority:high", "--limit", "3"],
        ["-w", str(workspace), "tickets", "note"],  # a usage error: exit 2, one line
        ["-w", str(workspace), "tickets", "show", "999999"],  # not found: exit 3
        ["-w", str(workspace), "tickets", "list", "--query", "status:nonsense"],  # a bad query
        ["-w", str(workspace / "missing"), "tickets", "list"],  # no workspace there
        ["--help"],
        ["tickets", "note", "--help"],
        ["--version"],
    ]
    before = server.served()
    for line in lines:
        alone = _run(line, {**os.environ, wire.VARIABLE: "off"})
        served = _run(line, server.env())
        assert (served.returncode, served.stdout, served.stderr) == (alone.returncode, alone.stdout, alone.stderr), line
    assert server.served() == before + len(lines)
    assert "Traceback" not in "".join(_run(line, server.env()).stderr for line in lines)


def test_a_write_runs_once_even_when_eight_arrive_together(server: Server, workspace: Path) -> None:
    number = _a_ticket(workspace)
    before, served = _messages(workspace), server.served()
    writers = [
        subprocess.Popen(
            [SCRIPT, "-w", str(workspace), "tickets", "note", number, "--body", f"note {index}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=server.env(),
        )
        for index in range(8)
    ]
    outcomes = [(writer.wait(timeout=120), writer.stderr.read()) for writer in writers]  # type: ignore[union-attr]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert _messages(workspace) == before + 8
    assert server.served() == served + 8


def test_stdin_folder_environment_and_umask_are_the_clients(server: Server, workspace: Path, tmp_path: Path) -> None:
    number = _a_ticket(workspace)
    here = tmp_path / "here"
    here.mkdir()
    (here / "scan.txt").write_text("the scanned receipt")
    served = server.served()
    env = server.env(SUPPORTDESK_WORKSPACE=str(workspace))  # the workspace from the environment, not -w
    noted = _run(
        ["tickets", "note", number, "--body-file", "-", "--attach", "scan.txt"], env, stdin="typed on stdin\n", cwd=here
    )
    assert noted.returncode == 0, noted.stderr
    shown = json.loads(_run(["tickets", "show", number, "--json"], env).stdout)
    bodies = [message["body"] for message in shown["messages"]]
    assert "typed on stdin" in bodies[-1]
    last = shown["messages"][-1]
    assert any(file["filename"] == "scan.txt" for file in last.get("attachments", [])), last
    exported = _run(["export", "--output", "out.jsonl"], env, cwd=here)  # a relative path: the client's folder
    assert exported.returncode == 0, exported.stderr
    assert (here / "out.jsonl").exists()
    masked = subprocess.run(
        ["sh", "-c", f"umask 027 && exec '{SCRIPT}' export --output masked.jsonl"],
        env=env,
        cwd=here,
        capture_output=True,
        timeout=120,
    )
    assert masked.returncode == 0, masked.stderr
    assert (here / "masked.jsonl").stat().st_mode & 0o777 == 0o640
    assert server.served() == served + 4


def test_ctrl_c_reaches_the_command_and_a_killed_client_takes_it_along(server: Server, workspace: Path) -> None:
    for sent, expected in ((signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)):
        client = subprocess.Popen(
            [SCRIPT, "-w", str(workspace), "batch"],  # reads stdin, which stays open
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=server.env(),
        )
        _wait_for(lambda: server.status()["commands_running"] == 1, "the batch to run in the server")  # type: ignore[index]
        client.send_signal(sent)
        assert client.wait(timeout=60) == expected
        _wait_for(lambda: server.status()["commands_running"] == 0, "the batch to end with its client")  # type: ignore[index]
        client.stdin.close()  # type: ignore[union-attr]


def test_a_line_the_server_cannot_take_runs_on_its_own(server: Server, workspace: Path) -> None:
    line = ["-w", str(workspace), "tickets", "list", "--limit", "2"]
    alone = _run(line, {**os.environ, wire.VARIABLE: "off"})
    served = server.served()
    # another interpreter setting than the server's: the line runs in the client itself
    other = _run(line, server.env(PYTHONWARNINGS="ignore::DeprecationWarning"))
    assert (other.returncode, other.stdout) == (alone.returncode, alone.stdout)
    assert server.served() == served
    # a folder others may enter is not trusted, whoever listens in it
    server.folder.chmod(0o755)
    try:
        opened = _run(line, server.env())
    finally:
        server.folder.chmod(0o700)
    assert (opened.returncode, opened.stdout) == (alone.returncode, alone.stdout)
    assert server.served() == served
    # commands that want the terminal or serve never go there
    for command in (
        ["macros", "edit", "x"],
        ["console"],
        ["import", "x"],
        [],
        ["--install-completion"],
        ["-x", "tickets"],
    ):
        assert not wire.forwardable(command, {})
    for command in (["--help"], ["-w", "x", "--version"], ["tickets", "--help"], ["tickets", "--show-completion"][:1]):
        assert wire.forwardable(command, {})
    assert wire.forwardable(["-w", "x", "--profile=p", "tickets", "list"], {})
    assert not wire.forwardable(["tickets", "list"], {"_SUPPORTDESK_COMPLETE": "bash_complete"})


def test_start_refuses_a_folder_others_may_enter(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        started = _start(folder)
        assert started.returncode == 2
        assert started.stderr.count("\n") == 1 and "nobody else may enter" in started.stderr
        linked = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
        linked.rmdir()
        folder.chmod(0o700)
        linked.symlink_to(folder)
        assert not wire.private_folder(str(linked))
        linked.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _raw(server: Server) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(30)
    connection.connect(str(server.socket))
    return connection


def _answer(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_malformed_and_unfinished_requests_run_nothing_and_the_server_goes_on(server: Server, workspace: Path) -> None:
    number = _a_ticket(workspace)
    before, served = _messages(workspace), server.served()
    garbage = [
        b"\x00\x00\x00\x05[1,2]",  # not an object
        b"\x00\x00\x00\x03{x}",  # not JSON
        struct.pack(">I", wire.MAX_HEADER + 1) + b"{}",  # longer than allowed
        b"\x00\x00",  # ends early
    ]
    for data in garbage:
        with closing(_raw(server)) as connection:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
            assert _answer(connection) == b""
    good = {
        "kind": "run",
        "facts": wire.interpreter_facts({key: value for key, value in os.environ.items()}),
        "argv": ["-w", str(workspace), "tickets", "note", number, "--body", "never"],
        "program": "supportdesk",
        "cwd": "/",
        "environment": dict(os.environ),
        "umask": 0o022,
        "streams": [["utf-8", "strict", False]] * 3,
    }
    bad_fields = [{**good, "argv": "tickets list"}, {**good, "cwd": "relative"}, {**good, "umask": 0o7777}]
    bad_fields += [{**good, "environment": {"A": 1}}, {**good, "streams": []}, {**good, "argv": ["a\0b"]}]
    for request in bad_fields:
        with closing(_raw(server)) as connection:
            wire.send_request(connection, request, [0, 1, 2])
            assert _answer(connection) == b"no malformed\n"
    with closing(_raw(server)) as connection:  # without the three descriptors
        wire.send_request(connection, good, [])
        assert _answer(connection) == b"no descriptors\n"
    with closing(_raw(server)) as connection:  # another interpreter's facts
        wire.send_request(connection, {**good, "facts": {**good["facts"], "executable": "/usr/bin/python3"}}, [0, 1, 2])
        assert _answer(connection) == b"no interpreter\n"
    with closing(_raw(server)) as connection:  # ready, but the client never says go
        wire.send_request(connection, good, [0, 1, 2])
        assert _answer(connection) == b"ready\n"
    assert _messages(workspace) == before
    assert server.served() == served
    # and a real client is still served
    assert _run(["-w", str(workspace), "tickets", "note", number, "--body", "after"], server.env()).returncode == 0
    assert _messages(workspace) == before + 1
    assert server.served() == served + 1


def test_changed_code_is_refused_and_stops_the_server(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text("x = 1\n")
    stamp = code_stamp(str(package))
    (package / "module.py").write_text("x = 22\n")
    assert code_stamp(str(package)) != stamp
    (package / "other.py").write_text("")
    older = (package / "other.py").stat()
    stamp = code_stamp(str(package))
    os.utime(package / "other.py", ns=(older.st_atime_ns, older.st_mtime_ns - 10**10))  # older, same size
    assert code_stamp(str(package)) != stamp
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    try:
        here = CommandServer(str(folder / "command.sock"), idle_seconds=0)
        here.stamp = here.stamp + 1  # as if the sources changed since it started
        left, right = socket.socketpair()
        request = {
            "kind": "run",
            "facts": here.facts,
            "argv": ["tickets", "list"],
            "program": "supportdesk",
            "cwd": "/",
            "environment": {},
            "umask": 0o022,
            "streams": [[None, None, False]] * 3,
        }
        child, kept = here._start(left, request, [0, 1, 2])
        assert (child, kept) == (None, False)
        assert right.recv(64) == b"no changed\n"
        assert here._stopping
        left.close()
        right.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_an_idle_server_ends_and_removes_its_socket() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    try:
        assert _start(folder, "--idle", "0.02").returncode == 0  # 1.2 s
        running = Server(folder, folder / "command.sock")
        pid = int(running.status()["pid"])  # type: ignore[index, call-overload]
        _wait_for(lambda: not running.socket.exists() and not _alive(pid), "the idle server to end")
        status = _run(["command-server", "status", "--socket", str(running.socket)], running.env())
        assert status.returncode == 3 and "no command server runs" in status.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_client_imports_no_heavy_library() -> None:
    heavy = "{'sqlalchemy', 'typer', 'click', 'pydantic', 'rich', 'pathlib'}"
    probe = (
        "import sys, supportdesk.cli.main, supportdesk.cli.command_client; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert shown.stdout.strip() == "[]"


def test_after_an_upgrade_lines_run_alone_until_start_replaces_the_server(workspace: Path) -> None:
    import supportdesk.cli.command_socket as touched_module

    source = Path(touched_module.__file__)
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    running = Server(folder, folder / "command.sock")
    saved = source.stat()
    pids: list[int] = []
    try:
        assert _start(folder, "--idle", "0").returncode == 0
        pids.append(int(running.status()["pid"]))  # type: ignore[index, call-overload]
        os.utime(source, ns=(saved.st_atime_ns, saved.st_mtime_ns + 10**10))  # as a pip upgrade would
        shown = _run(["command-server", "status", "--socket", str(running.socket)], running.env())
        assert "current: False" in shown.stdout and "start it again" in shown.stdout
        line = ["-w", str(workspace), "tickets", "list", "--limit", "2"]
        alone = _run(line, {**os.environ, wire.VARIABLE: "off"})
        served = _run(line, running.env())
        assert (served.returncode, served.stdout) == (alone.returncode, alone.stdout)
        _wait_for(lambda: not _alive(pids[0]), "the outdated server to stop")
        assert _start(folder, "--idle", "0").returncode == 0  # a fresh one, on the new code
        pids.append(int(running.status()["pid"]))  # type: ignore[index, call-overload]
        before = running.served()
        assert _run(line, running.env()).stdout == alone.stdout
        assert running.served() == before + 1
        os.utime(source, ns=(saved.st_atime_ns, saved.st_mtime_ns))
        replaced = _start(folder, "--idle", "0")  # the running one is outdated again: start replaces it
        assert replaced.returncode == 0, replaced.stderr
        pids.append(int(running.status()["pid"]))  # type: ignore[index, call-overload]
        assert pids[2] != pids[1] and not _alive(pids[1])
    finally:
        os.utime(source, ns=(saved.st_atime_ns, saved.st_mtime_ns))
        subprocess.run(
            [SCRIPT, "command-server", "stop", "--socket", str(running.socket)], capture_output=True, timeout=60
        )
        for pid in pids:
            _wait_for(lambda pid=pid: not _alive(pid), "the command servers to end")  # type: ignore[misc]
        shutil.rmtree(folder, ignore_errors=True)


def test_start_never_replaces_a_file_that_is_not_a_socket() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    try:
        settings = folder / "config.toml"  # a mistyped --socket
        settings.write_text("[general]\n")
        started = _start(folder, "--socket", str(settings))
        assert started.returncode == 2 and "is not a socket" in started.stderr
        assert settings.read_text() == "[general]\n"
        here = CommandServer(str(settings), idle_seconds=0)
        with pytest.raises(SystemExit, match="not a socket"):
            here.listen()
        assert settings.read_text() == "[general]\n"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_signal_the_client_ignores_does_not_reach_its_command(server: Server, workspace: Path) -> None:
    client = subprocess.Popen(
        [SCRIPT, "-w", str(workspace), "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server.env(),
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),  # as nohup starts it
    )
    _wait_for(lambda: server.status()["commands_running"] == 1, "the batch to run in the server")  # type: ignore[index]
    client.send_signal(signal.SIGHUP)  # the terminal went away: ignored, on its own as served
    number = _a_ticket(workspace)
    line = json.dumps({"cmd": "tickets note", "args": {"ticket": number, "body": "still here"}})
    out, err = client.communicate(f"{line}\n".encode(), timeout=120)
    assert client.returncode == 0, err
    assert json.loads(out.decode().splitlines()[-1])["ok"] is True


def test_typers_variables_read_at_its_import_make_a_line_run_on_its_own(server: Server, workspace: Path) -> None:
    line = ["tickets", "--help"]
    alone = _run(line, {**os.environ, wire.VARIABLE: "off", "TERMINAL_WIDTH": "50"})
    served = server.served()
    other = _run(line, server.env(TERMINAL_WIDTH="50"))
    assert other.stdout == alone.stdout and max(len(row) for row in other.stdout.splitlines()) <= 50
    assert server.served() == served


def test_a_command_ends_with_its_server(workspace: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    running = Server(folder, folder / "command.sock")
    try:
        assert _start(folder, "--idle", "0").returncode == 0
        pid = int(running.status()["pid"])  # type: ignore[index, call-overload]
        client = subprocess.Popen(
            [SCRIPT, "-w", str(workspace), "batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=running.env(),
        )
        _wait_for(lambda: running.status()["commands_running"] == 1, "the batch to run")  # type: ignore[index]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) == 1
        os.kill(pid, signal.SIGKILL)  # the server dies (the OOM killer): its command must not go on alone
        _wait_for(lambda: not _alive(int(children[0])), "the orphaned command to end")
        _out, err = client.communicate(timeout=60)
        assert client.returncode == 1 and b"outcome is unknown" in err
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_client_that_trickles_its_request_holds_nobody_up(server: Server, workspace: Path) -> None:
    import threading

    dropped = threading.Event()
    done = threading.Event()

    def trickle() -> None:
        with closing(_raw(server)) as connection:
            connection.settimeout(1)
            connection.sendall(struct.pack(">I", 1000))  # a request of 1,000 bytes is announced …
            for _ in range(300):  # … and sent a byte every 0.1 s for 30 s, unless the server hangs up first
                if done.is_set():
                    return
                try:
                    connection.send(b" ")
                    if connection.recv(1) == b"":
                        dropped.set()
                        return
                except TimeoutError:
                    continue
                except OSError:
                    dropped.set()
                    return

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        served = server.served()
        line = _run(["-w", str(workspace), "tickets", "list", "--limit", "1"], server.env())
        assert line.returncode == 0
        assert server.served() == served + 1
        _wait_for(dropped.is_set, "the server to drop the trickling client", seconds=20)
    finally:
        done.set()
        trickler.join()
