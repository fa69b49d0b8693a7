"""``supportdesk command-server …``: start, stop and look at the command server that makes every
later ``supportdesk`` process of this user start in milliseconds (:mod:`supportdesk.cli.command_server`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from supportdesk.cli import command_socket as wire
from supportdesk.cli.options import DOCUMENT, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(
    help="Keep the command line's imports loaded in a server of yours, so scripts that call "
    "supportdesk many times start each call in milliseconds.",
    no_args_is_help=True,
)

#: The server's own log (what failed to preload, why it stopped), beside its socket.
LOG_NAME = "command-server.log"
#: How long ``start`` waits for the server to say it listens (it imports everything first).
START_SECONDS = 60.0

SocketOpt = Annotated[
    str | None,
    typer.Option(
        "--socket",
        metavar="PATH",
        help="The socket (default: $SUPPORTDESK_COMMAND_SERVER, then $XDG_RUNTIME_DIR/supportdesk/command.sock "
        "or /tmp/supportdesk-<uid>/command.sock).",
        show_default=False,
    ),
]


def _path(chosen: str | None) -> Path:
    from supportdesk.cli.errors import fail

    path = chosen or wire.socket_path(os.environ)
    if path is None:
        fail(f"{wire.VARIABLE} is off: give --socket PATH")
    return Path(path).absolute()


def _ask(path: Path, kind: str) -> str | None:
    """Send a ``ping`` or ``stop`` and return the answer line, or None when no server of ours answers."""
    if not wire.private_folder(str(path.parent)):
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(5.0)
    try:
        connection.connect(str(path))
        if wire.peer_uid(connection) != os.getuid():
            return None
        wire.send_request(connection, {"kind": kind, "facts": wire.interpreter_facts(os.environ)}, [])
        data = b""
        while not data.endswith(b"\n"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace").strip() or None
    except OSError:
        return None
    finally:
        connection.close()


def server_status(path: Path) -> dict[str, Any] | None:
    """The running server's own account of itself, or None when none answers on ``path``."""
    answer = _ask(path, "ping")
    if answer is None or not answer.startswith("pong "):
        return None
    found = json.loads(answer[5:])
    return found if isinstance(found, dict) else None


@app.command("start")
@command()
def start(
    session: Session,
    socket_option: SocketOpt = None,
    idle: Annotated[
        float,
        typer.Option(
            "--idle", metavar="MINUTES", min=0, help="Stop after this many minutes without a command (0: never)."
        ),
    ] = 30.0,
) -> None:
    """Start the command server in the background (it answers this user's processes only).

    Later supportdesk processes of this user, interpreter and code hand their command line to it
    and start in milliseconds; the console, serve, server, login, import and demo always run on
    their own. After an upgrade the server stops at the next line and that line runs on its own:
    start it again.

    Example: supportdesk command-server start --idle 60
    """
    from supportdesk.cli.errors import fail

    path = _path(socket_option)
    folder = path.parent
    if path.is_symlink() or (path.exists() and not path.is_socket()):
        fail(f"{path} exists and is not a socket: choose another --socket")
    running = server_status(path)
    if running is not None and running.get("serves_you"):
        typer.echo(f"a command server already runs on {path} (pid {running['pid']})")
        return
    if running is not None and not running.get("current"):  # started before an upgrade: replace it
        _ask(path, "stop")
        if not _gone(path):
            fail(f"the command server on {path} (pid {running['pid']}) runs old code and did not stop", 1)
    elif running is not None:
        fail(
            f"a command server of another interpreter or environment runs on {path} (pid {running['pid']}, "
            f"{running.get('package')}): stop it, or give this one its own --socket",
            1,
        )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot make {folder}: {error.strerror}")
    if not wire.private_folder(str(folder)):
        fail(f"{folder} must be a folder of yours that nobody else may enter (chmod 700 it, or choose --socket)")
    read_end, write_end = os.pipe()
    log = os.open(folder / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    program = "import sys; from supportdesk.cli.command_server import main; sys.exit(main())"
    command_line = [sys.executable, "-P", "-c", program]
    command_line += ["--socket", str(path), "--idle", str(idle * 60), "--ready-fd", str(write_end)]
    try:
        process = subprocess.Popen(
            command_line,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd="/",
            pass_fds=(write_end,),
            start_new_session=True,
        )
    finally:
        os.close(write_end)
        os.close(log)
    with os.fdopen(read_end, "rb") as ready:
        import select

        seen, _, _ = select.select([ready], [], [], START_SECONDS)
        answer = ready.readline().decode("ascii", "replace").strip() if seen else ""
    if not answer.startswith("ready"):
        process.kill()
        running = server_status(path)
        if running is not None and running.get("serves_you"):  # another start won the race for the socket
            typer.echo(f"a command server already runs on {path} (pid {running['pid']})")
            return
        fail(f"the command server did not start (see {folder / LOG_NAME})", 1)
    typer.echo(f"command server ready on {path} (pid {process.pid})")


def _gone(path: Path) -> bool:
    """Whether the server on ``path`` ended (its socket removed) within :data:`START_SECONDS`."""
    import time

    deadline = time.monotonic() + START_SECONDS
    while path.exists() and server_status(path) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@app.command("stop")
@command()
def stop(session: Session, socket_option: SocketOpt = None) -> None:
    """Stop the command server: it takes no new line and ends when the running ones have.

    Example: supportdesk command-server stop
    """
    from supportdesk.cli.errors import NOT_FOUND, fail

    path = _path(socket_option)
    if _ask(path, "stop") != "stopping":
        fail(f"no command server runs on {path}", NOT_FOUND)
    typer.echo(f"command server on {path} stopping")


@app.command("status")
@command(DOCUMENT)
def status(session: Session, out: Output, socket_option: SocketOpt = None) -> None:
    """Show whether a command server runs, its pid, how many lines it served and how many run now.

    Exit code 3 when none runs.

    Example: supportdesk command-server status --json
    """
    from supportdesk.cli.errors import NOT_FOUND, fail

    path = _path(socket_option)
    found = server_status(path)
    if found is None:
        if out.json:
            out.document({"running": False, "socket": str(path)})
            raise typer.Exit(NOT_FOUND)
        fail(f"no command server runs on {path}", NOT_FOUND)
    document = {"running": True, **found}
    if out.json:
        out.document(document)
        return
    for key in ("socket", "pid", "served", "commands_running", "idle_seconds", "package", "current", "serves_you"):
        typer.echo(f"{key}: {document.get(key)}")
    if not found.get("current"):
        typer.echo("its code changed since it started: it stops at the next line; start it again")
