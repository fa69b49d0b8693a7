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
from supportdesk.cli.help_text import PlainHelpGroup
from supportdesk.cli.startup import lazy_command, lazy_group, load_all
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
)

_app = typer.Typer(
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
    (lazy_group if _is_group else lazy_command)(_app, _name, _spec)


def __getattr__(name: str) -> Any:
    """``app``: the whole command tree, every module imported (for tests and tools that walk it;
    the command line itself runs ``_app``, which imports only what it runs)."""
    if name == "app":
        return load_all(_app)
    raise AttributeError(name)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"supportdesk {__version__}")
        raise typer.Exit()


@_app.callback()
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
        with only_invoked(_app, sys.argv[1:]):
            code = _app(standalone_mode=False)
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
