"""Exit codes and the one-line error a script sees on stderr.

0 done · 1 some items failed (each listed, the rest applied) · 2 usage or query error ·
3 not found · 4 authentication or server error.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from supportdesk.errors import SupportdeskError

OK = 0
PARTIAL = 1
USAGE = 2
NOT_FOUND = 3
SERVER = 4


class CLIError(SupportdeskError):
    """An error the CLI reports as one line and an exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code_for(error: BaseException) -> int:
    """Map any error a command can raise to the documented exit codes."""
    from supportdesk.config import ConfigError
    from supportdesk.domain.errors import DomainError, NotFound, PermissionDenied
    from supportdesk.store.query import QueryError
    from supportdesk.store.workspace import WorkspaceError

    if isinstance(error, CLIError):
        return error.code
    if isinstance(error, NotFound):
        return NOT_FOUND
    if isinstance(error, PermissionDenied):
        return SERVER
    if isinstance(error, QueryError | DomainError | ConfigError | WorkspaceError):
        return USAGE
    return SERVER


#: Packages only the ``server`` extra installs: agents' machines run the console and CLI without them.
SERVER_EXTRA = frozenset({"fastapi", "starlette", "uvicorn", "aiosmtpd", "psycopg", "psycopg_binary"})


def missing_server_extra(error: BaseException) -> str | None:
    """The sentence for a server command run where ``supportdesk[server]`` is not installed."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in SERVER_EXTRA:
        return (
            f"this command needs the team server's packages (missing: {error.name}): pip install 'supportdesk[server]'"
        )
    return None


def report(error: BaseException) -> int:
    """Print ``error`` as one line on stderr and return its exit code.

    A :class:`SupportdeskError` (the user's mistake) or an ``OSError`` (their file system) is
    its own sentence. Anything else is our bug: one line that says so, and the traceback too
    when ``SUPPORTDESK_DEBUG=1``. A server command run without the ``server`` extra is told so.
    """
    extra = missing_server_extra(error)
    if extra:
        print_error(extra)
        return USAGE
    if isinstance(error, SupportdeskError | OSError):
        print_error(str(error) or type(error).__name__)
        return exit_code_for(error)
    import os

    debug = os.environ.get("SUPPORTDESK_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    if debug:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    hint = "" if debug else "; SUPPORTDESK_DEBUG=1 shows the traceback"
    print_error(f"unexpected {type(error).__name__}: {error} (a bug in supportdesk, please report it{hint})")
    return exit_code_for(error)


def fail(message: str, code: int = USAGE) -> NoReturn:
    raise CLIError(message, code)


def print_error(message: str) -> None:
    from supportdesk.domain.text_safety import make_visible

    line = make_visible(message).replace("\n", " ")
    sys.stderr.write(f"supportdesk: error: {line}\n")


def print_warning(message: str) -> None:
    from supportdesk.domain.text_safety import make_visible

    line = make_visible(message).replace("\n", " ")
    sys.stderr.write(f"supportdesk: warning: {line}\n")
