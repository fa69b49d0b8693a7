"""The ``supportdesk`` command: global options, the command groups, and error handling.

Every heavy import (SQLAlchemy, Textual, FastAPI) happens inside the command that needs it, so
``supportdesk --help`` stays instant; help is drawn by typer's rich mode (rich is imported only
to draw it). Errors — ours and the command line's own (an unknown option, a bad value) — become
one line on stderr and an exit code (see :mod:`supportdesk.cli.errors`); no traceback reaches a
user.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from supportdesk import __version__
from supportdesk.cli import (
    batch,
    config_cmd,
    console_cmd,
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
from supportdesk.cli.help_text import PlainHelpGroup, plain_help
from supportdesk.cli.state import STATE

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
app.add_typer(tickets.app, name="tickets")
app.command("demo")(demo.demo)
app.add_typer(macros.app, name="macros")
app.add_typer(kb.app, name="kb")
app.add_typer(customers.app, name="customers")
app.add_typer(views.app, name="views")
app.add_typer(config_cmd.app, name="config")
app.command("console")(console_cmd.console)
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
app.command("batch")(batch.batch)
plain_help(app)


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


def _usage_error(error: Any) -> int:
    """A mistake on the command line as one line, with where to read more; returns its exit code."""
    from supportdesk.cli.errors import print_error

    if type(error).__name__ == "NoArgsIsHelpError":
        return int(error.exit_code)  # the group's help is what the user sees (already printed)
    context = getattr(error, "ctx", None)
    hint = f" (see '{context.command_path} --help')" if context is not None else ""
    print_error(f"{error.format_message()}{hint}")
    return int(error.exit_code)


def run() -> None:
    """Console-script entry point."""
    from supportdesk.assist.query import register
    from supportdesk.cli.errors import print_error, report
    from supportdesk.cli.fast_console import console_options, open_console
    from supportdesk.cli.startup import only_invoked

    register()  # ~"…" in queries, views and the console (loads no model until one is asked)
    try:
        options = console_options(sys.argv[1:])
        if options is not None:
            STATE.workspace_flag = options.get("workspace")
            STATE.profile_flag = options.get("profile")
            open_console(STATE)
            return
        with only_invoked(app, sys.argv[1:]):
            code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.TyperException as error:  # click's own errors: an unknown option, a bad value
        sys.exit(_usage_error(error))
    except typer.Abort:
        print_error("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:
        sys.exit(report(error))
