"""Options the commands share, each declared once, and reading a message body from a flag, a
file or stdin.

The six output flags are declared here and nowhere else; a command gets them all by asking
:func:`supportdesk.cli.wiring.command` for :data:`LISTING` and receives them as one
:class:`Output`. Metavars say what a value is (``QUERY``, ``N``, ``FILE``) rather than its Python
type. Nothing here imports more than typer: every command module imports it at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from supportdesk.cli.formats import Format, choose_format

OUTPUT_PANEL = "Output"

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document.", rich_help_panel=OUTPUT_PANEL)]
JsonlOpt = Annotated[bool, typer.Option("--jsonl", help="One JSON object per line.", rich_help_panel=OUTPUT_PANEL)]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV with a header row.", rich_help_panel=OUTPUT_PANEL)]
PlainOpt = Annotated[bool, typer.Option("--plain", help="Tab-separated columns.", rich_help_panel=OUTPUT_PANEL)]
FieldsOpt = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="FIELD,…",
        help="Comma-separated columns to print.",
        show_default=False,
        rich_help_panel=OUTPUT_PANEL,
    ),
]
NoHeadersOpt = Annotated[
    bool, typer.Option("--no-headers", help="Leave out the header row.", rich_help_panel=OUTPUT_PANEL)
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


@dataclass(frozen=True)
class Output:
    """How a command's user asked to see its records: the format, the columns, the header row."""

    format: Format = Format.TABLE
    fields: str | None = None
    headers: bool = True
    stream: TextIO | None = None

    @classmethod
    def from_flags(
        cls,
        *,
        json_: bool = False,
        jsonl: bool = False,
        csv_: bool = False,
        plain: bool = False,
        fields: str | None = None,
        no_headers: bool = False,
    ) -> Output:
        """The flags as given; two formats at once is a usage error."""
        return cls(choose_format(json_=json_, jsonl=jsonl, csv_=csv_, plain=plain), fields, not no_headers)

    @property
    def table(self) -> bool:
        return self.format == Format.TABLE

    @property
    def json(self) -> bool:
        return self.format == Format.JSON

    def columns(
        self, allowed: Sequence[str], *, table: Sequence[str] | None = None, default: Sequence[str] | None = None
    ) -> list[str]:
        """``--fields`` checked against ``allowed``; without it, ``table`` for people (when given),
        else ``default`` (when given), else every allowed field."""
        from supportdesk.cli.output import parse_fields

        if table is not None and self.table:
            return parse_fields(self.fields, table, allowed)
        return parse_fields(self.fields, allowed if default is None else default, allowed)

    def records(self, records: Iterable[Mapping[str, Any]], fields: Sequence[str], *, title: str | None = None) -> int:
        """Print ``records`` in the chosen format; returns how many."""
        from supportdesk.cli.output import emit_records

        return emit_records(records, fields, self.format, headers=self.headers, title=title, stream=self.stream)

    def document(self, document: Any) -> None:
        """One JSON document (``--json`` on a command that shows one thing)."""
        from supportdesk.cli.output import emit_document

        emit_document(document, self.stream)


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
