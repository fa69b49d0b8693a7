"""The client half of the command server: hand this command line to a running server, or say no.

:func:`forward` is the first thing ``supportdesk`` does. It returns None — run the line here, as
always — unless a command server (:mod:`supportdesk.cli.command_server`) of this user, this
interpreter and this code is listening and accepts it; then the server's child runs the line on
this process's own stdin, stdout and stderr (passed over the socket), in this process's folder,
environment and umask, and :func:`forward` returns its exit code.

A line runs exactly once. The server forks only after this client's ``go``, and the client sends
``go`` only after the server said ``ready`` (same protocol, interpreter facts equal, code not
changed since it started); before ``go`` anything odd means "run it here", after ``go`` nothing
does: a server that goes away mid-command is an error with exit code 1, never a second run.

While the command runs, Ctrl-C, ``kill`` and Ctrl-Z reach it through the server (which knows
whether the child is still its own, so a reused process id is never signalled).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys

from supportdesk.cli import command_socket as wire

LOST = "supportdesk: error: the command server stopped before the command ended; its outcome is unknown\n"

#: How long the server may take to accept and to answer ``ready`` before the line runs here.
HANDSHAKE_SECONDS = 10.0


def _program() -> str:
    """The program name click would print in usage lines for this process (``python -m …`` or the script's name)."""
    main = sys.modules.get("__main__")
    package = getattr(main, "__package__", None)
    spec = getattr(main, "__spec__", None)
    if not package or spec is None:
        return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "supportdesk"
    name = spec.name
    if name == "__main__" or name.endswith(".__main__"):
        name = name.rpartition(".")[0] or package
    return f"python -m {name.lstrip('.')}"


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _stream(name: str) -> list[object]:
    """How the stream is made: encoding, errors, line buffering, and write-through (``-u``,
    ``PYTHONUNBUFFERED``), which decides the order of stdout and stderr in ``2>&1``."""
    stream = getattr(sys, name, None)
    encoding, errors = getattr(stream, "encoding", None), getattr(stream, "errors", None)
    buffering = [bool(getattr(stream, "line_buffering", False)), bool(getattr(stream, "write_through", False))]
    return [encoding, errors, *buffering]


def _ignored() -> list[int]:
    """The passed signals this process ignores (``nohup``, a shell's background job): its command
    must ignore them too, as it would have here."""
    numbers = [int(getattr(signal, name)) for name in wire.CLIENT_SIGNALS]
    return [number for number in numbers if signal.getsignal(number) == signal.SIG_IGN]


def _standard_fds_open() -> bool:
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def _background_job_on_its_terminal() -> bool:
    """Whether stdin is this process's terminal and its job is not the terminal's foreground one
    (``supportdesk batch &``). On its own, reading it stops the job (SIGTTIN) until ``fg``; a
    server's child has no controlling terminal, so it would read the keystrokes meant for the shell."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) != os.getpgrp()
    except OSError:  # a terminal, but not this process's: a child reads it just as this process would
        return False


class _Lines:
    """Newline-ended messages from the server."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._buffer = b""

    def next(self) -> str | None:
        while b"\n" not in self._buffer:
            chunk = self._connection.recv(4096)
            if not chunk:
                return None
            self._buffer += chunk
            if len(self._buffer) > 65536:
                return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace")


def forward(argv: list[str]) -> int | None:
    """Run ``argv`` in the command server and return its exit code, or None to run it here."""
    environ = os.environ
    if not wire.forwardable(argv, environ):
        return None
    path = wire.socket_path(environ)
    if path is None or not wire.private_folder(os.path.dirname(os.path.abspath(path))):
        return None
    if not _standard_fds_open() or _background_job_on_its_terminal():
        return None
    if environ.get("FAKETIME", "").lstrip().startswith("@"):
        return None  # faketime's "start at" counts from the process's start: the server's, not ours
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(HANDSHAKE_SECONDS)
        connection.connect(path)
        if wire.peer_uid(connection) != os.getuid():
            connection.close()
            return None  # another user's socket: not a word of this line goes there
        ignored = _ignored()
        request = {
            "kind": "run",
            "facts": wire.interpreter_facts(environ),
            "argv": list(argv),
            "program": _program(),
            "cwd": os.getcwd(),
            "environment": dict(environ),
            "umask": _umask(),
            "streams": [_stream("stdin"), _stream("stdout"), _stream("stderr")],
            "ignored": ignored,
        }
        wire.send_request(connection, request, [0, 1, 2])
        lines = _Lines(connection)
        if lines.next() != "ready":
            return None  # refused (another interpreter, changed code, stopping) or gone: run it here
        connection.sendall(b"go\n")
    except (OSError, ValueError):
        connection.close()
        return None
    # From here on the server runs the line: it never runs here too.
    try:
        connection.settimeout(None)
        return _wait(connection, lines, set(ignored))
    finally:
        connection.close()


def _wait(connection: socket.socket, lines: _Lines, ignored: set[int]) -> int:
    """Pass signals on until the server reports the command's exit; return the exit code.
    ``ignored``: the signals this process ignores, which the server was told its command ignores."""

    def pass_on(number: int, _frame: object) -> None:
        try:
            if number == signal.SIGTSTP:  # Ctrl-Z: stop the command, then this process
                connection.sendall(f"signal {int(signal.SIGSTOP)}\n".encode())
                os.kill(os.getpid(), signal.SIGSTOP)
                return
            connection.sendall(f"signal {number}\n".encode())
        except OSError:
            pass

    caught = [int(getattr(signal, name)) for name in wire.CLIENT_SIGNALS]
    previous = {number: signal.signal(number, pass_on) for number in caught if number not in ignored}
    try:
        while True:
            try:
                line = lines.next()
            except OSError:
                line = None
            if line is None:
                sys.stderr.write(LOST)
                return 1
            word, _, value = line.partition(" ")
            if word == "exit" and value.lstrip("-").isdigit():
                code = int(value)
                break
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if code < 0:  # killed by a signal: end the same way, so a shell's loop sees it
        with contextlib.suppress(OSError, ValueError):  # SIGKILL (the OOM killer's) takes no handler
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code
