"""``supportdesk`` with no command opens the console without typer parsing the line.

Typer builds a pydantic adapter for every option it parses, which imports pydantic (~0.4 s) —
more than a third of the console's start-up budget. A line made only of the global options
(``-w/--workspace``, ``--profile``) is read here instead; anything else goes to typer as usual.
The root command (:mod:`supportdesk.cli.main`) opens the console through :func:`open_console`
too, so this module needs nothing from it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportdesk.cli.session import Session

_VALUED = {"-w": "workspace", "--workspace": "workspace", "--profile": "profile"}


def console_options(argv: list[str]) -> dict[str, str] | None:
    """The global options when ``argv`` holds nothing else, else None (typer handles it).

    A shell asking for completions also calls us with no arguments (the request is in
    ``_SUPPORTDESK_COMPLETE``): that is typer's to answer, not a console to open.
    """
    if "_SUPPORTDESK_COMPLETE" in os.environ:
        return None
    options: dict[str, str] = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        name, equals, value = arg.partition("=")
        if name in _VALUED and equals and arg.startswith("--"):
            options[_VALUED[name]] = value
        elif arg in _VALUED and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            options[_VALUED[arg]] = argv[index + 1]
            index += 1
        else:
            return None
        index += 1
    return options


def open_console(session: Session) -> None:
    """The console on the session's workspace (Textual is imported only here)."""
    from supportdesk.tui import run_console

    run_console(session.workspace(), session.settings)
