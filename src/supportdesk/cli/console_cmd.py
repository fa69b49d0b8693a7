"""``supportdesk console``: the console in the terminal, or with ``--web`` in a browser.

``--web`` serves the very console ``supportdesk`` opens (one process per browser tab, on the
same workspace) through textual-serve, an optional extra (``pip install 'supportdesk[web]'``)
so an agent's install stays lean. It listens on 127.0.0.1 unless told otherwise with
``--allow-remote``, because whoever holds the link acts as this agent on this workspace.
"""

from __future__ import annotations

import shlex
import sys
from typing import Annotated

import typer

from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

#: Not the team server's 8765: an agent may run both on one machine.
DEFAULT_PORT = 8780

REMOTE_WARNING = (
    "the console of {workspace} is served on {host}, beyond this machine: anyone who reaches it with "
    "the link acts as you on this workspace, and the connection is not encrypted (put it behind TLS)"
)


def served_command(session: Session) -> str:
    """The shell line each browser tab runs: this Python, this workspace, this profile."""
    argv = [sys.executable, "-m", "supportdesk", "--workspace", str(session.workspace().root)]
    if session.profile_flag:
        argv += ["--profile", session.profile_flag]
    return shlex.join(argv)


@command()
def console(
    session: Session,
    web: Annotated[
        bool, typer.Option("--web", help="Serve the console to a browser (needs supportdesk[web]).")
    ] = False,
    host: Annotated[
        str, typer.Option("--host", help="Address --web listens on (loopback unless --allow-remote).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port --web listens on.")] = DEFAULT_PORT,
    allow_remote: Annotated[
        bool,
        typer.Option("--allow-remote", help="Let --web listen on an address other machines can reach."),
    ] = False,
) -> None:
    """Open the console (what `supportdesk` alone does), or serve it to a browser with --web.

    The browser console is this workspace's console, served on 127.0.0.1 at a link with a
    secret in it (printed at start); ctrl+c stops it.

    Example: supportdesk console --web --port 8780
    """
    from supportdesk.cli.errors import fail

    if not web:
        if host != "127.0.0.1" or port != DEFAULT_PORT or allow_remote:
            fail("--host, --port and --allow-remote go with --web")
        from supportdesk.cli.fast_console import open_console

        open_console(session)
        return
    _serve(session, host, port, allow_remote)


def _serve(session: Session, host: str, port: int, allow_remote: bool) -> None:
    from supportdesk.cli.errors import USAGE, fail, print_warning

    workspace = session.workspace()
    try:
        from supportdesk.tui import web
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in ("textual_serve", "aiohttp", "aiohttp_jinja2"):
            raise
        fail(f"the browser console needs textual-serve (missing: {error.name}): pip install 'supportdesk[web]'")
    loopback = web.is_loopback(host)
    if not loopback:
        if not allow_remote:
            fail(
                f"refusing to serve the console on {host}, which other machines can reach: "
                "it acts as you on this workspace; pass --allow-remote if that is what you want",
                USAGE,
            )
        print_warning(REMOTE_WARNING.format(workspace=workspace.root, host=host))
    server = web.ConsoleServer(
        served_command(session),
        host=host,
        port=port,
        title=f"supportdesk — {workspace.root.name}",
        token=web.new_token(),
        loopback=loopback,
    )

    def announce(url: str) -> None:
        sys.stdout.write(f"The console of {workspace.root} is at {url}\n(ctrl+c stops it)\n")
        sys.stdout.flush()

    session.close()  # each tab's console opens the workspace itself
    server.run(announce)
