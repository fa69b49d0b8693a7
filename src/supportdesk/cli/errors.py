"""Exit codes and the one-line error a script sees on stderr.

0 done · 1 some items failed (each listed, the rest applied) · 2 usage or query error ·
3 not found · 4 authentication or server error.
"""

from __future__ import annotations

import sys
from typing import NoReturn

OK = 0
PARTIAL = 1
USAGE = 2
NOT_FOUND = 3
SERVER = 4


class CLIError(Exception):
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
