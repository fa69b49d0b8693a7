"""The :class:`Output` a command prints through: the format, columns and header row its user
asked for. Without typer, so the fast read path (:mod:`supportdesk.cli.fast_reads`) and the typer
commands (which get it from :mod:`supportdesk.cli.wiring`) print alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from supportdesk.cli.formats import Format, choose_format


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
