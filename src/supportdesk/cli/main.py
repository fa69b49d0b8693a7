"""The ``supportdesk`` command: global options, the command groups, and error handling.

Every heavy import (SQLAlchemy, Textual, FastAPI) happens inside the command that needs it, so
``supportdesk --help`` stays instant. Errors become one line on stderr and an exit code (see
:mod:`supportdesk.cli.errors`); no traceback reaches a user.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from supportdesk import __version__
from supportdesk.cli import (
    config_cmd,
    customers,
    demo,
    kb,
    macros,
    report,
    rules,
    server,
    sla,
    status,
    tickets,
    transfer,
    views,
)
from supportdesk.cli.state import STATE

app = typer.Typer(
    name="supportdesk",
    help="A terminal-first, offline-safe console for customer-support engineers.\n\n"
    "Run without a command to open the console on the selected workspace.",
    no_args_is_help=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)
app.add_typer(tickets.app, name="tickets")
app.command("demo")(demo.demo)
app.add_typer(macros.app, name="macros")
app.add_typer(kb.app, name="kb")
app.add_typer(customers.app, name="customers")
app.add_typer(views.app, name="views")
app.add_typer(config_cmd.app, name="config")
app.command("status")(status.status)
app.command("export")(transfer.export)
app.command("import")(transfer.import_)
app.add_typer(server.app, name="server")
app.command("serve")(server.serve)
app.command("login")(server.login)
app.command("sync")(server.sync)
app.add_typer(rules.app, name="rules")
app.add_typer(sla.app, name="sla")
app.command("report")(report.report)


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
            help="Workspace folder (default: $SUPPORTDESK_WORKSPACE, then the user data dir).",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Server profile to use.", show_default=False)] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    STATE.workspace_flag = workspace
    STATE.profile_flag = profile
    if ctx.invoked_subcommand is None:
        open_console()


def open_console() -> None:
    """With no command: the console on the selected workspace (Textual is imported only here)."""
    from supportdesk.tui import run_console

    run_console(STATE.workspace(), STATE.settings)


def run() -> None:
    """Console-script entry point."""
    from supportdesk.cli.errors import USAGE, exit_code_for, missing_server_extra, print_error
    from supportdesk.cli.fast_console import console_options
    from supportdesk.cli.fast_console import open_console as open_fast
    from supportdesk.cli.startup import only_invoked

    try:
        options = console_options(sys.argv[1:])
        if options is not None:
            open_fast(options)
        else:
            with only_invoked(app, sys.argv[1:]):
                app()
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:
        extra = missing_server_extra(error)
        if extra:
            print_error(extra)
            sys.exit(USAGE)
        print_error(str(error) or type(error).__name__)
        sys.exit(exit_code_for(error))
