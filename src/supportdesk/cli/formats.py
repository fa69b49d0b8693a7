"""The formats a listing prints in, choosing one from the flags, and the :class:`Output` a command
prints through (a leaf: it imports nothing of ours, and not typer, so the fast read path can use
it; typer learns the flags in :mod:`supportdesk.cli.options`, spelled as :data:`FLAGS` says)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TextIO

#: The six output flags as typed, by the parameter each fills: spelled here and nowhere else
#: (:mod:`supportdesk.cli.options` declares them to typer with these names, and the fast read
#: path, which runs without typer, reads them).
FLAGS = {
    "json_": "--json",
    "jsonl": "--jsonl",
    "csv_": "--csv",
    "plain": "--plain",
    "fields": "--fields",
    "no_headers": "--no-headers",
}


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    PLAIN = "plain"


def choose_format(*, json_: bool = False, jsonl: bool = False, csv_: bool = False, plain: bool = False) -> Format:
    chosen = [
        f
        for f, on in (
            (Format.JSON, json_),
            (Format.JSONL, jsonl),
            (Format.CSV, csv_),
            (Format.PLAIN, plain),
        )
        if on
    ]
    if len(chosen) > 1:
        from supportdesk.cli.errors import fail

        fail("choose one of --json, --jsonl, --csv, --plain")
    return chosen[0] if chosen else Format.TABLE


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
