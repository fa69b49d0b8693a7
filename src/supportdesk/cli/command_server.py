"""The command server: SQLAlchemy, pydantic, typer and the write path imported once, a child
forked for each command line a client hands over.

Why: a ``supportdesk`` process spends ~80 % of a write importing (issue 19: ~0.5 s a CLI write,
the goal 0.2 s). Scripts that call the CLI in a loop pay that every time. Mercurial met the same
cost with its command server and ``chg``; this is that design. The server runs as the user who
started it (``supportdesk command-server start``), listens on a Unix socket in a folder only that
user may enter, and answers only that user's processes (the kernel's ``SO_PEERCRED``, not a
claim in the request). For each line it forks; the child takes the client's stdin, stdout and
stderr (passed over the socket), folder, environment, umask and program name, and runs the line
exactly as ``supportdesk`` would have (:func:`supportdesk.cli.main.run_here`). The server keeps
the connection, passes on the client's signals while the child is its own, and reports the
child's exit code once it has reaped it.

What a child cannot take from its client is refused up front, and the client runs the line
itself: another interpreter or venv, other start-up flags or ``PYTHON*``/``LD_*``/locale
variables (:func:`supportdesk.cli.command_socket.interpreter_facts`), or code changed on disk
since the server started (then the server also stops, so the next ``start`` loads the new code).
No database is opened and no thread started before a fork: a child shares nothing with the
server but imported modules.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

from supportdesk.cli import command_socket as wire

#: At most this many commands run at once; a client beyond that runs its line itself.
MOST_CHILDREN = 64
#: How long a connecting client may take, in all, to send its request and its ``go`` (the server
#: answers one connection at a time: a slow or stopped client holds the others up this long at most).
HANDSHAKE_SECONDS = 2.0
#: The packages whose every module is imported before the first fork (not the console, the team
#: server, the assist models or the channels: no forwarded command needs them).
PRELOADED = ("supportdesk.store", "supportdesk.domain", "supportdesk.sync", "supportdesk.cli")
#: Imported by a command line's first steps (settings, a decorator typer imports when it builds
#: a command), found by listing what children imported after the packages above.
_ALSO_PRELOADED = (
    "supportdesk.config",
    "platformdirs.unix",
    "tomllib",
    "typer._click.decorators",
    "typer.rich_utils",
    "sqlalchemy.dialects.sqlite.pysqlite",
)


@dataclass
class Request:
    """A command line to run in this (child) process, as its client ran it."""

    argv: list[str]
    program: str
    cwd: str
    environment: dict[str, str]
    umask: int
    #: Each standard stream's encoding, errors, line buffering and write-through.
    streams: list[tuple[str | None, str | None, bool, bool]]
    #: Signals the client ignores (``nohup``, a background job): the command ignores them too.
    ignored: list[int] = field(default_factory=list)


@dataclass
class _Child:
    connection: socket.socket
    started: float = field(default_factory=time.monotonic)
    #: The end of the client's last message, when a read cut it in two.
    partial: bytes = b""


def preload() -> list[str]:
    """Import what forwarded lines need; return the modules that failed to import (logged, not fatal)."""
    import importlib
    import pkgutil

    from supportdesk.cli.root import app
    from supportdesk.cli.startup import load_all

    load_all(app)
    failed: list[str] = []
    for name in PRELOADED:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" in module.name or module.name == __name__:
                continue
            try:
                importlib.import_module(module.name)
            except Exception as error:  # an optional dependency missing: that command imports it itself
                failed.append(f"{module.name}: {error}")
    for name in _ALSO_PRELOADED:
        importlib.import_module(name)
    from supportdesk.store.core_tables import table
    from supportdesk.store.tables import BUILDERS

    for table_name in BUILDERS:  # pure metadata, built once here instead of in every child
        table(table_name)
    from supportdesk.domain.registry import registered

    for spec in registered().values():  # their validators are built on first use (defer_build): ~18 ms a line
        try:
            spec.args.model_rebuild(force=True)
        except Exception as error:  # a model that cannot build yet builds in the child, as it would alone
            failed.append(f"{spec.name}'s arguments: {error}")
    return failed


def code_stamp(package: str) -> int:
    """A stamp of the code a child would run: every source file of the package (its name, size and
    modification time — any one changed, added or removed changes the stamp, not only the newest)
    and the import path's folders (a ``pip install`` changes site-packages). Comparable within
    this process only (``hash`` of strings is salted per process)."""
    entries: list[tuple[str, int, int]] = []
    for root, folders, files in os.walk(package):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                status = os.stat(path)
                entries.append((path, status.st_size, status.st_mtime_ns))
    for entry in sys.path:
        try:
            if entry and os.path.isdir(entry):
                entries.append((entry, 0, os.stat(entry).st_mtime_ns))
        except OSError:
            continue
    return hash(tuple(entries))


def _valid_run(request: dict[str, Any]) -> Request | None:
    """The request's fields, or None when any is missing or of the wrong kind."""
    argv, program, cwd = request.get("argv"), request.get("program"), request.get("cwd")
    environment, umask, streams = request.get("environment"), request.get("umask"), request.get("streams")
    if not (isinstance(argv, list) and all(isinstance(word, str) for word in argv)):
        return None
    if not (isinstance(program, str) and isinstance(cwd, str) and os.path.isabs(cwd)):
        return None
    if not isinstance(environment, dict):
        return None
    if not all(isinstance(key, str) and isinstance(value, str) for key, value in environment.items()):
        return None
    if any("\0" in text for text in [*argv, program, cwd, *environment, *environment.values()]):
        return None
    if not (isinstance(umask, int) and not isinstance(umask, bool) and 0 <= umask <= 0o777):
        return None
    if not (isinstance(streams, list) and len(streams) == 3):
        return None
    kept: list[tuple[str | None, str | None, bool, bool]] = []
    for stream in streams:
        if not (isinstance(stream, list) and len(stream) in (3, 4)):
            return None
        encoding, errors, *buffering = stream
        if not all(isinstance(flag, bool) for flag in buffering):
            return None
        if not all(value is None or (isinstance(value, str) and len(value) < 64) for value in (encoding, errors)):
            return None
        kept.append((encoding, errors, buffering[0], len(buffering) == 2 and buffering[1]))
    ignored = request.get("ignored", [])
    passed = {int(getattr(signal, name)) for name in wire.CLIENT_SIGNALS}
    if not (isinstance(ignored, list) and all(type(number) is int and number in passed for number in ignored)):
        return None
    return Request(list(argv), program, cwd, dict(environment), umask, kept, sorted(set(ignored)))


class CommandServer:
    """One listening socket, the children it forked, and when to stop."""

    def __init__(self, path: str, *, idle_seconds: float) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self.facts = wire.interpreter_facts(os.environ)
        self.package = str(self.facts["package"])
        self.stamp = code_stamp(self.package)
        self.served = 0
        self.started = time.time()
        self._children: dict[int, _Child] = {}
        self._stopping = False
        self._last = time.monotonic()
        self._listener: socket.socket | None = None
        self._inode = 0
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()

    # --- set-up and tear-down (the server process only) ---------------------------------------

    def listen(self) -> None:
        """Bind the socket (mode 0600 from the start) in a private folder, replacing a dead one."""
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.exists(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        if not wire.private_folder(folder):
            raise SystemExit(f"{folder} must be a folder of yours that nobody else may enter (mode 0700)")
        if os.path.lexists(self.path):
            import stat

            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):  # a mistyped --socket: never delete a file
                raise SystemExit(f"{self.path} exists and is not a socket: choose another --socket")
            if _answers(self.path):
                raise SystemExit(f"a command server already listens on {self.path}")
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(mask)
        listener.listen(64)
        listener.setblocking(False)
        self._inode = os.stat(self.path).st_ino
        self._listener = listener

    def close(self) -> None:
        """Stop listening and remove the socket if it is still this server's."""
        if self._listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            try:
                if os.stat(self.path).st_ino == self._inode:
                    os.unlink(self.path)
            except OSError:
                pass

    # --- the loop -----------------------------------------------------------------------------

    def serve(self, ready_fd: int | None = None) -> Request | None:
        """Serve until stopped or idle; returns None in the server, a :class:`Request` in a child."""
        assert self._listener is not None
        os.set_blocking(self._wake_write, False)
        signal.set_wakeup_fd(self._wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop_on_signal)
        signal.signal(signal.SIGINT, self._stop_on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self._selector.register(self._listener, selectors.EVENT_READ, "listener")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        gc.collect()
        gc.freeze()  # what is imported now is never collected: children do not copy its pages to scan it
        if ready_fd is not None:
            os.write(ready_fd, f"ready {os.getpid()}\n".encode())
            os.close(ready_fd)
        while not (self._stopping and not self._children):
            if self._stopping:
                self.close()
            for key, _events in self._selector.select(self._timeout()):
                if key.data == "listener":
                    request = self._accept()
                    if request is not None:
                        return request
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_read, 4096)
                else:
                    self._from_client(key.data)
            self._reap()
            if self.idle_seconds > 0 and not self._children and time.monotonic() - self._last > self.idle_seconds:
                self._stopping = True
        self.close()
        return None

    def _timeout(self) -> float | None:
        if self._stopping:
            return 1.0
        if self.idle_seconds <= 0:
            return 5.0  # a missed SIGCHLD is still reaped
        return max(0.05, min(5.0, self.idle_seconds - (time.monotonic() - self._last)))

    def _stop_on_signal(self, _number: int, _frame: object) -> None:
        self._stopping = True

    def _accept(self) -> Request | None:
        assert self._listener is not None
        try:
            connection, _address = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return None
        fds: list[int] = []
        forked = False
        deadline = time.monotonic() + HANDSHAKE_SECONDS  # for the whole handshake: nobody is served meanwhile
        try:
            connection.settimeout(HANDSHAKE_SECONDS)
            if wire.peer_uid(connection) != os.getuid():
                return None
            request, fds = wire.receive_request(connection, deadline)
            self._last = time.monotonic()
            kind = request.get("kind")
            if kind == "ping":
                found = {**self.status(), "current": code_stamp(self.package) == self.stamp}
                found["serves_you"] = request.get("facts") == self.facts and found["current"]
                connection.sendall(f"pong {json.dumps(found)}\n".encode())
            elif kind == "stop":
                self._stopping = True
                connection.sendall(b"stopping\n")
            elif kind == "run":
                child, forked = self._start(connection, request, fds, deadline)
                if child is not None:
                    return child
        except (OSError, ValueError):
            pass
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if not forked:
                connection.close()
        return None

    def _start(
        self, connection: socket.socket, request: dict[str, Any], fds: list[int], deadline: float | None = None
    ) -> tuple[Request | None, bool]:
        """Check the request, wait for the client's ``go``, fork. Returns the request in the child
        (else None), and whether a child now owns the connection."""
        run = _valid_run(request)
        refusal = None
        if run is None:
            refusal = "malformed"
        elif len(fds) != 3:
            refusal = "descriptors"
        elif request.get("facts") != self.facts:
            refusal = "interpreter"
        elif self._stopping:
            refusal = "stopping"
        elif len(self._children) >= MOST_CHILDREN:
            refusal = "busy"
        elif code_stamp(self.package) != self.stamp:
            refusal = "changed"
            self._stopping = True
        if refusal is not None or run is None:
            connection.sendall(f"no {refusal}\n".encode())
            return None, False
        connection.sendall(b"ready\n")
        if _read_line(connection, deadline) != "go":
            return None, False  # the client gave up before go: it runs the line itself, so nothing runs here
        server_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError as error:
            message = f"supportdesk: error: the command server could not start the command: {error.strerror}\n"
            os.write(fds[2], message.encode())
            connection.sendall(b"exit 1\n")
            return None, False
        if pid == 0:
            self._become_child(fds, connection, server_pid)
            return run, False
        self.served += 1
        connection.setblocking(False)
        self._children[pid] = _Child(connection)
        self._selector.register(connection, selectors.EVENT_READ, pid)
        return None, True

    def _become_child(self, fds: list[int], connection: socket.socket, server_pid: int) -> None:
        """In the child: drop the server's signals, socket, pipes and other clients; take the client's fds."""
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _end_with(server_pid)
        self._selector.close()
        if self._listener is not None:
            self._listener.close()  # the file stays: only close() in the server removes it
            self._listener = None
        for child in self._children.values():
            child.connection.close()
        self._children.clear()
        connection.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        fds.clear()

    def _from_client(self, pid: int) -> None:
        """A client's message while its command runs: a signal to pass on, or its end."""
        child = self._children.get(pid)
        if child is None:
            return
        try:
            data = child.connection.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away (killed): its command goes too, as it would have with it
            self._selector.unregister(child.connection)
            _signal(pid, signal.SIGTERM)
            return
        allowed = {int(getattr(signal, name)) for name in wire.PASSED_SIGNALS}
        *lines, rest = (child.partial + data).split(b"\n")
        child.partial = rest if len(rest) <= 64 else b""  # a message is never longer
        for line in (line.decode("ascii", "replace") for line in lines):
            word, _, value = line.partition(" ")
            if word == "signal" and value.isdigit() and int(value) in allowed:
                _signal(pid, int(value))  # still unreaped here, so the id is still this child's

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self._children.pop(pid, None)
            self._last = time.monotonic()
            if child is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(child.connection)
            try:
                child.connection.setblocking(True)
                child.connection.settimeout(1.0)
                child.connection.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
            child.connection.close()

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "socket": self.path,
            "started": self.started,
            "served": self.served,
            "commands_running": len(self._children),
            "idle_seconds": self.idle_seconds,
            "package": self.package,
        }


#: Linux's prctl option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _end_with(server_pid: int) -> None:
    """In the child: be terminated when the server dies (SIGKILL, the OOM killer), as when its
    client dies. Only the server can tell the client the exit code and pass it signals; without
    it a command would live on as an orphan after its client told the shell the outcome is
    unknown, still reading that client's stdin (a terminal: keystrokes meant for the shell)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: nothing to ask for
        return
    if os.getppid() != server_pid:  # the server died before the request above
        os.kill(os.getpid(), signal.SIGTERM)


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, number)


def _read_line(connection: socket.socket, deadline: float | None = None) -> str | None:
    data = b""
    while not data.endswith(b"\n") and len(data) < 64:
        try:
            chunk = wire.until(connection, deadline).recv(64 - len(data))
        except (OSError, ValueError):
            return None
        if not chunk:
            return None
        data += chunk
    return data.decode("ascii", "replace").strip()


def _answers(path: str) -> bool:
    """Whether a server listens on ``path`` (a connection is accepted)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _text_stream(
    fd: int, writing: bool, encoding: str | None, errors: str | None, line_buffering: bool, write_through: bool
) -> Any:
    """A standard stream made as the interpreter makes its own (CPython's ``create_stdio``): no
    buffer under a write-through one (``-u``), the file's block size otherwise, and newlines
    left alone (stdin splits at ``\\n`` only, a lone ``\\r`` stays)."""
    import io

    name = ("<stdin>", "<stdout>", "<stderr>")[fd]
    unbuffered = writing and write_through
    buffered: Any = open(fd, "wb" if writing else "rb", buffering=0 if unbuffered else -1, closefd=False)  # noqa: SIM115
    (buffered if unbuffered else buffered.raw).name = name
    return io.TextIOWrapper(
        buffered,
        encoding=encoding or "utf-8",
        errors=errors or "strict",
        newline="\n",
        line_buffering=line_buffering,
        write_through=write_through,
    )


def run_request(request: Request) -> int:
    """In the child: become the client's process (folder, environment, umask, streams) and run its line."""
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.environment)
    time.tzset()
    (sin, sout, serr) = request.streams
    # the originals too: code that reaches for sys.__stdout__ must meet the client's encoding
    sys.stdin = sys.__stdin__ = _text_stream(0, False, *sin)  # type: ignore[misc]
    sys.stdout = sys.__stdout__ = _text_stream(1, True, *sout)  # type: ignore[misc]
    sys.stderr = sys.__stderr__ = _text_stream(2, True, *serr)  # type: ignore[misc]
    sys.argv = [request.program, *request.argv]
    for number in request.ignored:
        signal.signal(number, signal.SIG_IGN)
    try:
        os.chdir(request.cwd)
    except OSError as error:
        sys.stderr.write(f"supportdesk: error: the current folder cannot be entered: {error.strerror}\n")
        return 1
    from supportdesk.cli.main import run_here

    run_here(request.argv, program=request.program)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -P -c 'from supportdesk.cli.command_server import main; main()' --socket PATH``.

    Started by ``supportdesk command-server start`` (detached, in a session of its own); ``--ready-fd``
    is a pipe on which it says ``ready PID`` once it listens."""
    parser = argparse.ArgumentParser(prog="supportdesk-command-server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=1800.0, help="stop after this many idle seconds (0: never)")
    parser.add_argument("--ready-fd", type=int, default=None)
    options = parser.parse_args(argv)
    failed = preload()
    for line in failed:
        sys.stderr.write(f"supportdesk command server: not preloaded: {line}\n")
    server = CommandServer(options.socket, idle_seconds=options.idle)
    server.listen()
    request = server.serve(options.ready_fd)
    if request is None:
        return 0
    _leave(_run_child(request))


def _run_child(request: Request) -> int:
    """The child's whole life after the fork: its line run, and the exit code Python would have used."""
    try:
        return run_request(request)
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        sys.stderr.write(f"{code}\n")
        return 1
    except KeyboardInterrupt:  # between run_here's own handlers
        return 130


def _leave(code: int) -> NoReturn:
    """End the child as the interpreter's exit would — threads joined, ``atexit`` run, the standard
    streams flushed — but without tearing down the server's ~80 MB of modules object by object,
    which cost ~40 ms a line (nothing of the child's outlives it: the kernel frees the pages)."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx does first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            if stream is sys.stdout and code == 0:
                code = 120  # Python's own exit code when stdout cannot be flushed at exit
    os._exit(code)
