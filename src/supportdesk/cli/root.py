"""The ``supportdesk`` program as typer sees it: the global options and the command tree.

The tree is registered by name (:data:`TREE`): each command's module is imported only when its
command runs or help names it (:mod:`supportdesk.cli.startup`). :mod:`supportdesk.cli.main` runs
it; a line the fast read path answers (:mod:`supportdesk.cli.fast_reads`) never imports this.
"""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk import __version__
from supportdesk.cli.help_text import PlainHelpGroup
from supportdesk.cli.startup import lazy_command, lazy_group
from supportdesk.cli.state import STATE

#: The program's groups and commands in the order help lists them: (name, "module:attribute",
#: is a group). Each module is imported only when its command runs or help names it
#: (:mod:`supportdesk.cli.startup`): a ``tickets show`` imports none of the others.
TREE = (
    ("tickets", "supportdesk.cli.tickets:app", True),
    ("demo", "supportdesk.cli.demo:demo", False),
    ("macros", "supportdesk.cli.macros:app", True),
    ("kb", "supportdesk.cli.kb:app", True),
    ("customers", "supportdesk.cli.customers:app", True),
    ("views", "supportdesk.cli.views:app", True),
    ("config", "supportdesk.cli.config_cmd:app", True),
    ("console", "supportdesk.cli.console_cmd:console", False),
    ("status", "supportdesk.cli.status:status", False),
    ("export", "supportdesk.cli.transfer:export", False),
    ("import", "supportdesk.cli.transfer:import_", False),
    ("server", "supportdesk.cli.server:app", True),
    ("serve", "supportdesk.cli.server:serve", False),
    ("login", "supportdesk.cli.server:login", False),
    ("sync", "supportdesk.cli.server:sync", False),
    ("rules", "supportdesk.cli.rules:app", True),
    ("sla", "supportdesk.cli.sla:app", True),
    ("report", "supportdesk.cli.report:report", False),
    ("batch", "supportdesk.cli.batch:batch", False),
    ("command-server", "supportdesk.cli.command_server_cmd:app", True),
)

app = typer.Typer(
    name="supportdesk",
    cls=PlainHelpGroup,
    help="A terminal-first, offline-safe console for customer-support engineers.\n\n"
    "Run without a command to open the console on the selected workspace.",
    no_args_is_help=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)
for _name, _spec, _is_group in TREE:
    (lazy_group if _is_group else lazy_command)(app, _name, _spec)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"supportdesk {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            metavar="PATH",
            help="Workspace folder (default: $SUPPORTDESK_WORKSPACE, then the user data dir).",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", metavar="NAME", help="Server profile to use.", show_default=False)
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    STATE.workspace_flag = workspace
    STATE.profile_flag = profile
    ctx.obj = STATE  # every command body gets it as its session (supportdesk.cli.wiring)
    ctx.call_on_close(STATE.close)
    if ctx.invoked_subcommand is None:
        from supportdesk.cli.fast_console import open_console

        open_console(STATE)
