"""Options the commands share, each declared once, and reading a message body from a flag, a
file or stdin.

The six output flags are declared here and nowhere else; a command gets them all by asking
:func:`supportdesk.cli.wiring.command` for :data:`LISTING` and receives them as one
:class:`Output`. Metavars say what a value is (``QUERY``, ``N``, ``FILE``) rather than its Python
type. Nothing here imports more than typer: every command module imports it at start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from supportdesk.cli.formats import FLAGS
from supportdesk.cli.formats import Format as Format
from supportdesk.cli.output_flags import Output as Output  # here, for the commands that declare flags

OUTPUT_PANEL = "Output"

JsonOpt = Annotated[bool, typer.Option(FLAGS["json_"], help="One JSON document.", rich_help_panel=OUTPUT_PANEL)]
JsonlOpt = Annotated[bool, typer.Option(FLAGS["jsonl"], help="One JSON object per line.", rich_help_panel=OUTPUT_PANEL)]
CsvOpt = Annotated[bool, typer.Option(FLAGS["csv_"], help="CSV with a header row.", rich_help_panel=OUTPUT_PANEL)]
PlainOpt = Annotated[bool, typer.Option(FLAGS["plain"], help="Tab-separated columns.", rich_help_panel=OUTPUT_PANEL)]
FieldsOpt = Annotated[
    str | None,
    typer.Option(
        FLAGS["fields"],
        metavar="FIELD,…",
        help="Comma-separated columns to print.",
        show_default=False,
        rich_help_panel=OUTPUT_PANEL,
    ),
]
NoHeadersOpt = Annotated[
    bool, typer.Option(FLAGS["no_headers"], help="Leave out the header row.", rich_help_panel=OUTPUT_PANEL)
]

#: Parameter name, default and declaration of each output flag, by the name ``LISTING`` uses.
OUTPUT_FLAGS: dict[str, tuple[str, object, object]] = {
    "json": ("json_", False, JsonOpt),
    "jsonl": ("jsonl", False, JsonlOpt),
    "csv": ("csv_", False, CsvOpt),
    "plain": ("plain", False, PlainOpt),
    "fields": ("fields", None, FieldsOpt),
    "no_headers": ("no_headers", False, NoHeadersOpt),
}


#: Every output flag: a listing command takes all six.
LISTING = ("json", "jsonl", "csv", "plain", "fields", "no_headers")
#: A command that shows one thing takes ``--json`` alone.
DOCUMENT = ("json",)


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print what would change and change nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")]
BodyOpt = Annotated[
    str | None, typer.Option("--body", "-b", metavar="TEXT", help="The message text.", show_default=False)
]
BodyFileOpt = Annotated[
    str | None,
    typer.Option(
        "--body-file", "-F", metavar="FILE", help="Read the message from a file ('-' for stdin).", show_default=False
    ),
]
TicketArg = Annotated[str, typer.Argument(metavar="TICKET", help="Ticket number (1042 or #1042) or id.")]
TicketsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[TICKET]…",
        help="Ticket numbers (1042 or #1042) or ids; '-' reads them from stdin.",
        show_default=False,
    ),
]
QueryOpt = Annotated[
    str | None,
    typer.Option("--query", "-q", metavar="QUERY", help="Choose the tickets with a query instead.", show_default=False),
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
