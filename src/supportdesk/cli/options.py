"""Options every command group shares, and reading a message body from a flag, a file or stdin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document.")]
JsonlOpt = Annotated[bool, typer.Option("--jsonl", help="One JSON object per line.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV with a header row.")]
PlainOpt = Annotated[bool, typer.Option("--plain", help="Tab-separated columns.")]
FieldsOpt = Annotated[str | None, typer.Option("--fields", help="Comma-separated columns to print.")]
NoHeadersOpt = Annotated[bool, typer.Option("--no-headers", help="Leave out the header row.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print what would change and change nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")]
BodyOpt = Annotated[str | None, typer.Option("--body", "-b", help="The message text.", show_default=False)]
BodyFileOpt = Annotated[
    str | None,
    typer.Option("--body-file", "-F", help="Read the message from a file ('-' for stdin).", show_default=False),
]


def read_text(path: str) -> str:
    """A file's text, or stdin's for ``-``; a missing file is a usage error."""
    from supportdesk.cli.errors import NOT_FOUND, fail

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"no file {path}", NOT_FOUND)
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {path}: {error}")


def read_body(body: str | None, body_file: str | None, *, what: str = "message") -> str:
    """The body from ``--body``, ``--body-file`` or, when stdin is not a terminal, stdin."""
    from supportdesk.cli.errors import fail

    if body is not None and body_file is not None:
        fail("give the message with --body or --body-file, not both")
    if body is not None:
        text = body
    elif body_file is not None:
        text = read_text(body_file)
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        fail(f"give the {what} with --body, --body-file or on stdin")
    if not text.strip():
        fail(f"the {what} is empty: give it with --body, --body-file or on stdin")
    return text
