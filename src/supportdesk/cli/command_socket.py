"""What the command server and its clients agree on: where the socket is, which lines go there,
how a request is framed, and which facts of the interpreter must match.

A ``supportdesk`` process spends ~0.4 s importing SQLAlchemy, pydantic, typer and the write path
before it writes one row (issue 19: a CLI write took ~0.5 s, the goal is 0.2 s). The command
server (:mod:`supportdesk.cli.command_server`) imports all of that once and forks a child per
command line, the way Mercurial's command server serves ``chg``. This module is the part the
client needs, so it imports only the standard library: the client must cost a few milliseconds,
or forwarding is not worth it.

Nothing here trusts the socket's folder blindly: it must be a real folder (not a link) owned by
this user with no access for anyone else, or no line is forwarded — another user who could
place a socket there could otherwise read every command line, its environment and the terminal.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time

#: Bumped when the framing or a message changes: a client and server of different protocols never talk.
PROTOCOL = 1

#: ``SUPPORTDESK_COMMAND_SERVER``: unset for the default socket, ``off`` to never forward, else a socket path.
VARIABLE = "SUPPORTDESK_COMMAND_SERVER"
SOCKET_NAME = "command.sock"

#: A request's header is at most this long (the environment is in it); a longer one is refused unread.
MAX_HEADER = 1024 * 1024

#: The command groups a line may be forwarded for: the ones scripts run many times. Left out:
#: the console (a terminal app), ``serve`` and ``server`` (servers, a hidden token prompt),
#: ``login`` and ``import`` (a hidden password prompt needs the controlling terminal, which a
#: forked child does not have), ``demo`` (long, once) and the command server's own commands.
FORWARDED = frozenset(
    {"tickets", "macros", "kb", "customers", "views", "config", "status"}
    | {"export", "report", "batch", "rules", "sla", "sync"}
)
#: Commands of a forwarded group that are not: they open ``$EDITOR``, which wants the terminal.
NOT_FORWARDED = frozenset({("macros", "edit")})

#: Root options that take a value; with help and version, the only options a forwarded line may have before its command.
_VALUED = frozenset({"-w", "--workspace", "--profile"})

#: Signals a client may ask the server to pass on to its command.
PASSED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGSTOP", "SIGCONT", "SIGUSR1", "SIGUSR2")
#: Signals a client catches while its command runs (Ctrl-Z's SIGTSTP becomes a SIGSTOP of the
#: command, then of the client), and may report as ignored (the command then ignores them too).
CLIENT_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGTSTP", "SIGCONT", "SIGUSR1", "SIGUSR2")


def forwardable(argv: list[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether the command line ``argv`` (without the program name) may run in the server.

    Only a line whose command is in :data:`FORWARDED`, with nothing before it but the workspace
    and profile options; never a shell's completion request (it reads the parent process)."""
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in environ):
        return False
    if any(token in ("--install-completion", "--show-completion") for token in argv):
        return False  # they read the parent process to find the shell
    index = 0
    while index < len(argv):
        token = argv[index]
        name = token.partition("=")[0]
        if token in _VALUED:
            index += 2
            continue
        if name in _VALUED and token.startswith("--"):
            index += 1
            continue
        if token in ("-h", "--help", "--version"):
            return True  # only output, and help is the slowest start of all (rich)
        if token.startswith("-"):
            return False
        words = [word for word in argv[index : index + 2] if not word.startswith("-")]
        return token in FORWARDED and tuple(words[:2]) not in NOT_FORWARDED
    return False  # no command: the console


def socket_path(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """The socket this user's clients use, or None when forwarding is switched off."""
    chosen = environ.get(VARIABLE, "").strip()
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return chosen
    return os.path.join(default_folder(environ), SOCKET_NAME)


def default_folder(environ: dict[str, str] | os._Environ[str]) -> str:
    """``$XDG_RUNTIME_DIR/supportdesk`` (a per-user tmpfs on systemd machines), else ``/tmp/supportdesk-<uid>``."""
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "supportdesk")
    return os.path.join("/tmp", f"supportdesk-{os.getuid()}")


def private_folder(folder: str) -> bool:
    """Whether ``folder`` is a folder (not a link to one) of this user that nobody else may enter."""
    try:
        status = os.lstat(folder)
    except OSError:
        return False
    import stat

    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and status.st_mode & 0o077 == 0


def peer_uid(connection: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (the kernel's word, not the peer's)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


#: Variables that modules the server preloads read once, when imported, so a child cannot take
#: them from its client: typer's help width and colour (``typer.rich_utils``), whether it uses
#: rich at all (``typer.core``, and the markup mode of every app built then), pydantic's plugins.
_READ_AT_IMPORT = frozenset(
    {"TERMINAL_WIDTH", "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "_TYPER_FORCE_DISABLE_TERMINAL"}
    | {"TYPER_USE_RICH", "PYDANTIC_DISABLE_PLUGINS"}
)


def _interpreter_variable(name: str) -> bool:
    return (
        name.startswith(("PYTHON", "LD_", "DYLD_", "FAKETIME", "LC_"))
        or name in ("LANG", "LANGUAGE")
        or name in _READ_AT_IMPORT
    )


def interpreter_facts(environ: dict[str, str] | os._Environ[str]) -> dict[str, object]:
    """What shaped this interpreter at start and cannot be changed in a forked child: a client
    whose facts differ from the server's runs its line itself (another venv, ``-X importtime``,
    a preloaded ``faketime``, another locale, typer's variables read at its import)."""
    import supportdesk

    flags = sys.flags
    return {
        "protocol": PROTOCOL,
        "executable": os.path.realpath(sys.executable),
        "prefix": sys.prefix,
        "package": os.path.dirname(os.path.realpath(supportdesk.__file__)),
        "gid": os.getgid(),
        "flags": [
            flags.optimize,
            flags.utf8_mode,
            flags.dev_mode,
            flags.isolated,
            flags.ignore_environment,
            flags.bytes_warning,
            flags.no_site,
            flags.no_user_site,
            flags.hash_randomization,
            flags.verbose,
            flags.inspect,
            flags.interactive,
            flags.quiet,
        ],
        "warnoptions": list(sys.warnoptions),
        "xoptions": sorted(f"{key}={value}" for key, value in sys._xoptions.items()),
        "filesystem": [sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()],
        "environment": {key: value for key, value in sorted(environ.items()) if _interpreter_variable(key)},
    }


def send_request(connection: socket.socket, request: dict[str, object], fds: list[int]) -> None:
    """One request: a 4-byte length, the JSON header, and ``fds`` passed along with its first bytes."""
    body = json.dumps(request, separators=(",", ":")).encode("utf-8", "surrogateescape")
    if len(body) > MAX_HEADER:
        raise ValueError("request too large")
    data = struct.pack(">I", len(body)) + body
    sent = socket.send_fds(connection, [data], fds) if fds else connection.send(data)
    if sent < len(data):  # a send of nothing to a peer that already answered and closed is EPIPE
        connection.sendall(data[sent:])


def until(connection: socket.socket, deadline: float | None) -> socket.socket:
    """``connection`` with its timeout set to what is left before ``deadline`` (``time.monotonic``),
    so a peer sending a byte now and then cannot stretch a bounded exchange; ValueError once it passed."""
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ValueError("the peer took too long")
        connection.settimeout(left)
    return connection


def receive_request(connection: socket.socket, deadline: float | None = None) -> tuple[dict[str, object], list[int]]:
    """The request :func:`send_request` sent, and the descriptors that came with it, all of it
    before ``deadline`` (``time.monotonic``) when one is given.

    Raises ValueError on a malformed, oversized or late request; the descriptors received are
    closed before it is raised, so a bad request leaks none."""
    chunk, fds, _flags, _address = socket.recv_fds(until(connection, deadline), 64 * 1024, 3)
    try:
        while len(chunk) < 4:
            more = until(connection, deadline).recv(4 - len(chunk))
            if not more:
                raise ValueError("the request ended early")
            chunk += more
        (length,) = struct.unpack(">I", chunk[:4])
        if length > MAX_HEADER:
            raise ValueError("request too large")
        body = bytearray(chunk[4:])
        while len(body) < length:
            more = until(connection, deadline).recv(min(65536, length - len(body)))
            if not more:
                raise ValueError("the request ended early")
            body += more
        if len(body) != length:
            raise ValueError("more bytes than the request said")
        request = json.loads(bytes(body).decode("utf-8", "surrogateescape"))
        if not isinstance(request, dict):
            raise ValueError("the request is not an object")
        return request, fds
    except (ValueError, UnicodeDecodeError, struct.error, TimeoutError) as error:
        for fd in fds:
            os.close(fd)
        raise ValueError(str(error)) from None
