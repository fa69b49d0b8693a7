"""Attacks on the command server (issue 19) by a careless user and a hostile process of the same
user: what a served line does differently from the same line on its own, what a dying server or
command leaves behind, and what one slow or chatty peer does to everybody else.

Each test here failed before the fix it names (see README, "The command server (2026-12-08)").
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from supportdesk.cli import command_server
from supportdesk.cli import command_socket as wire
from supportdesk.cli.command_client import LOST
from supportdesk.cli.command_server import CommandServer
from tests.cli.test_command_server import SCRIPT, Server, _alive, _wait_for
from tests.cli.test_command_server import server as server
from tests.cli.test_command_server import workspace as workspace

pytestmark = pytest.mark.integration


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120, env=env)
    return done.returncode, done.stdout, done.stderr


def _children(pid: int) -> list[int]:
    """The processes ``pid`` forked and has not reaped (its commands)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(word) for word in text.split()]


@contextmanager
def _own_server(env: dict[str, str]) -> Iterator[Server]:
    """A server started with ``env`` (the facts a client must share), stopped or killed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    path = folder / "command.sock"
    started = subprocess.run(
        [SCRIPT, "command-server", "start", "--socket", str(path), "--idle", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, wire.VARIABLE: "off"},
    )
    assert started.returncode == 0, started.stderr
    running = Server(folder, path)
    pid = int(running.status()["pid"])  # type: ignore[index, call-overload]
    try:
        yield running
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
        _wait_for(lambda: not _alive(pid), "the command server to end")
        shutil.rmtree(folder, ignore_errors=True)


def _batch_waiting_on_stdin(server: Server, workspace: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A ``batch`` served by ``server``, reading a stdin that stays open; and its command's pid."""
    client = subprocess.Popen(
        [SCRIPT, "-w", str(workspace), "batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server.env(),
    )
    server_pid = int(server.status()["pid"])  # type: ignore[index, call-overload]
    _wait_for(lambda: len(_children(server_pid)) == 1, "the batch to run in the server")
    return client, _children(server_pid)[0]


def test_a_command_killed_outright_ends_its_client_the_same_way(server: Server, workspace: Path) -> None:
    """The OOM killer's SIGKILL on a served command: its client ends by SIGKILL too (exit 137 in
    a shell), as the process would have on its own — before, the client tried to install a
    handler for SIGKILL and died of an OSError traceback with exit 1."""
    client, command = _batch_waiting_on_stdin(server, workspace)
    os.kill(command, signal.SIGKILL)
    assert client.wait(timeout=60) == -signal.SIGKILL
    assert b"Traceback" not in client.stderr.read()  # type: ignore[union-attr]
    client.stdin.close()  # type: ignore[union-attr]


def test_a_killed_server_takes_its_running_commands_along(workspace: Path) -> None:
    """SIGKILL on the server while a ``batch`` reads the client's stdin: the client says the
    outcome is unknown (exit 1) and its command ends too. Before, the command lived on as an
    orphan after its client had returned to the shell, reading the same stdin (a terminal: the
    keystrokes meant for the shell) and writing to the same terminal."""
    with _own_server(dict(os.environ)) as running:
        server_pid = int(running.status()["pid"])  # type: ignore[index, call-overload]
        client, command = _batch_waiting_on_stdin(running, workspace)
        os.kill(server_pid, signal.SIGKILL)
        assert client.wait(timeout=60) == 1
        try:
            _wait_for(lambda: not _alive(command), "the orphaned command to end", seconds=10)
        finally:
            client.stdin.close()  # type: ignore[union-attr]
            if _alive(command):
                os.kill(command, signal.SIGKILL)
        assert client.stderr.read().decode() == LOST  # type: ignore[union-attr]  # the command held it open


def _combined(args: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[int, bytes]:
    """Exit code and stdout and stderr as one stream (``2>&1``), in the order they were written."""
    done = subprocess.run(
        [SCRIPT, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120
    )
    return done.returncode, done.stdout


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED", "buffered"])
def test_stdout_and_stderr_interleave_as_on_their_own(workspace: Path, unbuffered: str) -> None:
    """``2>&1`` keeps the order a line's own process writes in. A dry-run update prints its rows on
    stdout and its summary on stderr: with ``PYTHONUNBUFFERED=1`` (common in containers and CI)
    the summary came first when served, last on its own (the child's streams were buffered
    whatever the client's were). And stdin keeps a lone carriage return (Python splits stdin at
    newlines only): ``1<TAB>x<CR>2<TAB>x`` is one line, ticket 1, on its own, but the child's
    universal newlines made it two lines, tickets 1 and 2."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    update = ["-w", str(workspace), "tickets", "update", "--set", "priority=urgent", "--dry-run"]
    lines = [([*update, "--query", "status:open"], b""), ([*update, "-"], b"1\tx\r2\tx\n")]
    with _own_server(env) as running:
        served = running.served()
        for args, stdin in lines:
            alone = _combined([*args, "--plain"], {**env, wire.VARIABLE: "off"}, stdin)
            assert _combined([*args, "--plain"], {**env, wire.VARIABLE: str(running.socket)}, stdin) == alone, args
        assert running.served() == served + len(lines)


@pytest.mark.parametrize(
    "variable", ["TERMINAL_WIDTH=50", "TYPER_USE_RICH=0", "GITHUB_ACTIONS=true", "PY_COLORS=1"], ids=lambda v: v
)
def test_help_follows_the_clients_terminal_settings(server: Server, variable: str) -> None:
    """typer reads ``TERMINAL_WIDTH``, ``TYPER_USE_RICH``, ``GITHUB_ACTIONS``/``FORCE_COLOR``/
    ``PY_COLORS`` when it is imported, which in a command server was once, with the server's
    environment: a served ``--help`` ignored the client's width and colour settings. A client that
    sets them otherwise than the server now runs its line on its own."""
    name, _, value = variable.partition("=")
    base = {key: item for key, item in server.env().items() if key != name}
    served = server.served()
    assert _run(["tickets", "--help"], base)[0] == 0
    assert server.served() == served + 1  # help is served when nothing differs
    alone = _run(["tickets", "--help"], {**base, name: value, wire.VARIABLE: "off"})
    assert _run(["tickets", "--help"], {**base, name: value}) == alone


def test_a_slow_client_holds_the_server_no_longer_than_the_handshake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server is one thread: while it reads a request nobody else is served, no exit code is
    reported and no Ctrl-C passed on. ``HANDSHAKE_SECONDS`` bounded each read, not the request:
    a client sending a byte now and then (a slow-loris, or one stopped and woken) held it for as
    long as it liked. Now the whole handshake — request and go — has that long."""
    monkeypatch.setattr(command_server, "HANDSHAKE_SECONDS", 0.5)
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    here = CommandServer(str(folder / "command.sock"), idle_seconds=0)
    here.listen()
    stop = threading.Event()

    def dribble() -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
            peer.connect(here.path)
            peer.sendall(struct.pack(">I", 1000))
            ends = time.monotonic() + 4.0
            while not stop.wait(0.1) and time.monotonic() < ends:
                try:
                    peer.sendall(b" ")
                except OSError:
                    return

    slow = threading.Thread(target=dribble)
    slow.start()
    try:
        assert here._listener is not None
        _wait_for(lambda: bool(select.select([here._listener], [], [], 0)[0]), "the slow client to connect")
        started = time.monotonic()
        assert here._accept() is None
        took = time.monotonic() - started
    finally:
        stop.set()
        slow.join()
        here.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert took < 2.0, f"one slow client held the server {took:.1f} s"


def test_signals_split_across_reads_are_passed_as_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's ``signal N`` lines queue up while the server is busy (another handshake); read
    4 KiB at a time, a line cut in two was taken as two: ``signal 1`` | ``5`` passed SIGHUP for a
    SIGTERM (and ``signal 1`` | ``9`` a hang-up for a Ctrl-Z's stop, which ends the command)."""
    passed: list[tuple[int, int]] = []
    monkeypatch.setattr(command_server, "_signal", lambda pid, number: passed.append((pid, number)))
    here = CommandServer("/nonexistent/command.sock", idle_seconds=0)
    ours, client = socket.socketpair()
    ours.setblocking(False)
    here._children[4242] = command_server._Child(ours)
    sent = [signal.SIGINT] * 2 + [signal.SIGCONT] * 407 + [signal.SIGTERM, signal.SIGSTOP]
    client.sendall(b"".join(f"signal {int(number)}\n".encode() for number in sent))
    assert 2 * len("signal 2\n") + 407 * len("signal 18\n") == 4096 - 8  # the cut falls inside "15"
    try:
        while len(passed) < len(sent) and here._from_client(4242) is None:
            if not select.select([ours], [], [], 0)[0]:
                break
    finally:
        ours.close()
        client.close()
    assert [number for _, number in passed] == [int(number) for number in sent]


def _fds(pid: int) -> list[str]:
    return sorted((entry.name for entry in Path(f"/proc/{pid}/fd").iterdir()), key=int)


def test_the_server_keeps_no_descriptor_or_child_across_200_requests(server: Server, workspace: Path) -> None:
    """Held (no fix needed): 200 requests — served lines, requests passing ten descriptors instead
    of three, malformed fields, garbage — leave the server with the descriptors it started with
    and no unreaped child; a command holds none of the server's sockets, pipes or log."""
    pid = int(server.status()["pid"])  # type: ignore[index, call-overload]
    before = _fds(pid)
    good = {
        "kind": "run",
        "facts": wire.interpreter_facts(dict(os.environ)),
        "argv": ["-w", str(workspace), "status"],
        "program": "supportdesk",
        "cwd": "/",
        "environment": dict(os.environ),
        "umask": 0o022,
        "streams": [["utf-8", "strict", False, False]] * 3,
    }
    null = os.open(os.devnull, os.O_RDWR)
    ten = [os.open(os.devnull, os.O_RDONLY) for _ in range(10)]
    try:
        for index in range(200):
            with closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as connection:
                connection.settimeout(60)
                connection.connect(str(server.socket))
                kind = index % 4
                if kind == 0:
                    wire.send_request(connection, good, [null] * 3)
                    assert connection.recv(64) == b"ready\n"
                    connection.sendall(b"go\n")
                    assert connection.recv(64) == b"exit 0\n"
                elif kind == 1:
                    wire.send_request(connection, good, ten)  # the kernel hands over the first three only
                    assert connection.recv(64) == b"ready\n"
                elif kind == 2:
                    wire.send_request(connection, {**good, "umask": -1}, [null] * 3)
                    assert connection.recv(64) == b"no malformed\n"
                else:
                    connection.sendall(b"\x00\x00\x00\x03{x}")
                    connection.shutdown(socket.SHUT_WR)
                    assert connection.recv(64) == b""
        client, command = _batch_waiting_on_stdin(server, workspace)
        try:
            servers = {str(Path(f"/proc/{pid}/fd/{fd}").readlink()) for fd in before} - {os.devnull}

            def held() -> set[str]:  # what the command holds beyond its three streams
                return {str(Path(f"/proc/{command}/fd/{fd}").readlink()) for fd in _fds(command) if int(fd) > 2}

            def clean() -> bool:  # none of the server's (its socket, pipe, log) and no socket at all
                return not held() & servers and not any(t.startswith(("socket:", "anon_inode:")) for t in held())

            _wait_for(clean, "the command to let go of the server's descriptors", seconds=10)
        finally:
            client.stdin.close()  # type: ignore[union-attr]
            assert client.wait(timeout=60) == 0
    finally:
        for fd in [null, *ten]:
            os.close(fd)
    _wait_for(lambda: not _children(pid) and _fds(pid) == before, "the server's descriptors and children to settle")


#: Runs its arguments as a background job of its terminal (a process group of their own) and says
#: how that job ended within five seconds: ``stopped N``, ``ended N`` or ``running``.
_BACKGROUND_JOB = r"""
import os, sys, time, signal
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.execv(sys.argv[1], sys.argv[1:])
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
    if done:
        stopped = os.WIFSTOPPED(status)
        print("stopped", os.WSTOPSIG(status)) if stopped else print("ended", os.waitstatus_to_exitcode(status))
        break
    time.sleep(0.02)
else:
    print("running")
os.killpg(pid, signal.SIGKILL)
"""


def test_a_background_job_reading_its_terminal_stops_as_on_its_own(server: Server, workspace: Path) -> None:
    """``supportdesk batch &`` in an interactive shell: on its own the job stops (SIGTTIN) when it
    reads the terminal, until ``fg``. A server's child has no controlling terminal, so it read the
    keystrokes meant for the shell instead. A client whose stdin is its terminal while its job is
    in the background now runs its line itself."""
    import pty

    pid, terminal = pty.fork()
    if pid == 0:  # a session of its own with the pty as its controlling terminal, like a shell's
        try:
            env = server.env()
            os.execve(
                sys.executable, [sys.executable, "-c", _BACKGROUND_JOB, SCRIPT, "-w", str(workspace), "batch"], env
            )
        finally:
            os._exit(127)
    said = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        said += chunk
    os.waitpid(pid, 0)
    os.close(terminal)
    assert said.decode(errors="replace").split() == ["stopped", str(int(signal.SIGTTIN))]


def test_starts_racing_for_one_socket_all_succeed_with_one_server() -> None:
    """Three ``start``s at once (a login script in three terminals): each passes the "is one
    running?" check while the others still import, one binds the socket and the others find it
    taken. Before, those said "the command server did not start" with exit 1 although one ran;
    now they say one already runs, exit 0, as a ``start`` after it would."""
    folder = Path(tempfile.mkdtemp(prefix="sdcs-", dir="/tmp"))
    folder.chmod(0o700)
    path = folder / "command.sock"
    line = [SCRIPT, "command-server", "start", "--socket", str(path), "--idle", "0"]
    env = {**os.environ, wire.VARIABLE: "off"}
    try:
        starts = [subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(3)]
        outcomes = [(start.wait(timeout=120), start.stderr.read()) for start in starts]  # type: ignore[union-attr]
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        found = Server(folder, path).status()
        assert found is not None
        _wait_for(lambda: _servers_on(path) == [int(found["pid"])], "the losing servers to end")  # type: ignore[call-overload]
    finally:
        for pid in _servers_on(path):
            os.kill(pid, signal.SIGTERM)
        _wait_for(lambda: not _servers_on(path), "the command servers to end")
        shutil.rmtree(folder, ignore_errors=True)


def _servers_on(path: Path) -> list[int]:
    """The command-server processes started for ``path`` that still run."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(path).encode() in words and entry.name.isdigit() and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_each_line_reads_its_own_clients_clock(server: Server, workspace: Path) -> None:
    """Held without a fix: the process's one clock (``store.times``) is read lazily and the server
    never reads it before a fork, so each served line takes ``SUPPORTDESK_NOW`` from its own
    client, one after another on the same server, exactly as on its own."""
    line = ["-w", str(workspace), "tickets", "list", "--query", "created>3d", "--plain", "--fields", "number"]
    served = server.served()
    answers = []
    for now in ("2026-11-25T12:00:00Z", "2026-11-20T12:00:00Z"):
        alone = _run(line, {**server.env(SUPPORTDESK_NOW=now), wire.VARIABLE: "off"})
        assert _run(line, server.env(SUPPORTDESK_NOW=now)) == alone
        answers.append(alone)
    assert answers[0] != answers[1]  # the two clocks see different tickets
    assert server.served() == served + 2
