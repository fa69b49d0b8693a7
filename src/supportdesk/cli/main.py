"""The ``supportdesk`` command: global options, the command groups, and error handling.

Every heavy import (SQLAlchemy, Textual, FastAPI) happens inside the command that needs it, so
``supportdesk --help`` stays instant; help is drawn by typer's rich mode (rich is imported only
to draw it). Errors — ours and the command line's own (an unknown option, a bad value) — become
one line on stderr and an exit code (see :mod:`supportdesk.cli.errors`); no traceback reaches a
user.
"""

from __future__ import annotations

import errno
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def __getattr__(name: str) -> Any:
    """``app``: the whole command tree, every module imported (for tests and tools that walk it;
    the command line itself runs :data:`supportdesk.cli.root.app`, which imports only what it runs)."""
    if name == "app":
        from supportdesk.cli.root import app
        from supportdesk.cli.startup import load_all

        return load_all(app)
    raise AttributeError(name)


def _usage_error(error: Any) -> int:
    """A mistake on the command line as one line, with where to read more; returns its exit code."""
    from supportdesk.cli.errors import print_error

    if type(error).__name__ == "NoArgsIsHelpError":
        return int(error.exit_code)  # the group's help is what the user sees (already printed)
    context = getattr(error, "ctx", None)
    hint = f" (see '{context.command_path} --help')" if context is not None else ""
    print_error(f"{error.format_message()}{hint}")
    return int(error.exit_code)


def _resolve_semantic(*args: Any, **kwargs: Any) -> Any:
    """The assist engine's answer to a ``~"…"`` term, imported when a query has one."""
    from supportdesk.assist.query import resolve

    return resolve(*args, **kwargs)


class _Pacified:
    """stdout or stderr after the reader went away: flushing it at exit says nothing (as typer
    leaves them after a broken pipe)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            if error.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _run_fast(options: dict[str, str], runner: Any) -> None:
    """A line of :mod:`supportdesk.cli.fast_reads`, run as typer runs a command: the session from
    the global options, closed afterwards; an interrupt is exit 130 and a reader that went away
    exit 1, as under typer."""
    from supportdesk.cli.state import STATE

    STATE.workspace_flag = options.get("workspace")
    STATE.profile_flag = options.get("profile")
    try:
        runner(STATE)
    except EOFError:
        from supportdesk.cli.errors import print_error

        sys.stderr.write("\n")
        print_error("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        sys.stdout, sys.stderr = _Pacified(sys.stdout), _Pacified(sys.stderr)
        sys.exit(1)
    finally:
        STATE.close()


def run() -> None:
    """Console-script entry point: the line goes to a running command server
    (:mod:`supportdesk.cli.command_client`) when one takes it, else it runs here."""
    from supportdesk.cli.command_client import forward

    code = forward(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    run_here(sys.argv[1:])


def run_here(argv: list[str], *, program: str | None = None) -> None:
    """Run the command line ``argv`` in this process (``program`` names it in usage lines; by
    default click's own guess from ``sys.argv[0]``). Exits through ``sys.exit`` on failure."""
    from supportdesk.cli.errors import print_error, report
    from supportdesk.cli.fast_console import console_options, open_console
    from supportdesk.cli.fast_reads import fast_read
    from supportdesk.cli.state import STATE
    from supportdesk.store import semantic

    semantic.set_resolver(_resolve_semantic)  # ~"…" in queries, views and the console
    try:
        options = console_options(argv)
        if options is not None:
            STATE.workspace_flag = options.get("workspace")
            STATE.profile_flag = options.get("profile")
            open_console(STATE)
            return
        fast = fast_read(argv)
        if fast is not None:
            _run_fast(*fast)
            return
        from supportdesk.cli.root import app
        from supportdesk.cli.startup import only_invoked

        with only_invoked(app, argv):
            code = app(args=argv, prog_name=program, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:
        typer = sys.modules.get("typer")  # its errors can only come once it is imported
        if typer is not None and isinstance(error, typer.TyperException):  # an unknown option, a bad value
            sys.exit(_usage_error(error))
        if typer is not None and isinstance(error, typer.Abort):
            print_error("aborted")
            sys.exit(1)
        sys.exit(report(error))
