"""Print records for people or for scripts, with customer text made safe in every format.

``table`` (rich, the default on a terminal; tab-separated columns when stdout is not a
terminal), ``json`` (one document), ``jsonl``, ``csv`` and ``plain`` (tab-separated).
``NO_COLOR`` only drops colour: a terminal still gets the table, a pipe still gets columns.
Every string goes through :func:`make_visible` on the way out, so no escape byte a customer
managed to send can ever reach the terminal or a pipe; rich cells are ``Text`` objects, never
markup.

A command asks for the six output flags with ``LISTING`` (or ``--json`` alone with
``DOCUMENT``) and receives them as one :class:`~supportdesk.cli.options.Output`, whose methods
print through this module.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TextIO

from supportdesk.cli.formats import Format as Format  # re-exported: commands print with it
from supportdesk.domain.text_safety import make_visible
from supportdesk.store.times import iso


def safe(value: Any) -> Any:
    """A JSON-able copy of ``value`` with every string made safe and times in ISO 8601."""
    if isinstance(value, str):
        return make_visible(value)
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {make_visible(str(k)): safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    return value


def cell(value: Any) -> str:
    """One value as text for a table, CSV or plain column."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return make_visible(json.dumps(value, default=str, ensure_ascii=False))
    return make_visible(str(value)).replace("\n", " ").replace("\t", " ")


def is_terminal(stream: TextIO) -> bool:
    """Whether people read ``stream`` (a table) rather than a program (columns)."""
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set (https://no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


#: Set while ``supportdesk batch`` runs its lines: it parses each command's document back and
#: prints it inside that line's result, so the two-space indent is wasted there — and an indent
#: makes ``json`` encode with its pure-Python encoder, a third of a batched ``tickets show``.
_COMPACT: ContextVar[bool] = ContextVar("supportdesk_compact_documents", default=False)


@contextmanager
def compact_documents() -> Iterator[None]:
    """Within the block :func:`emit_document` writes one line, with json's C encoder."""
    token = _COMPACT.set(True)
    try:
        yield
    finally:
        _COMPACT.reset(token)


def emit_document(document: Any, stream: TextIO | None = None) -> None:
    """One JSON document (``--json``)."""
    out = stream or sys.stdout
    if _COMPACT.get():
        out.write(json.dumps(safe(document), ensure_ascii=False))
    else:
        json.dump(safe(document), out, ensure_ascii=False, indent=2)
    out.write("\n")


def emit_records(
    records: Iterable[Mapping[str, Any]],
    fields: Sequence[str],
    fmt: Format,
    *,
    headers: bool = True,
    title: str | None = None,
    stream: TextIO | None = None,
) -> int:
    """Print ``records`` restricted to ``fields``; returns how many were printed.

    Streams for jsonl/csv/plain (a listing of 100,000 tickets never sits in memory).
    """
    out = stream or sys.stdout
    count = 0
    if fmt == Format.JSON:
        out.write("[")
        for record in records:
            out.write(",\n" if count else "\n")
            out.write(json.dumps(safe({f: record.get(f) for f in fields}), ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    if fmt == Format.JSONL:
        for record in records:
            out.write(json.dumps(safe({f: record.get(f) for f in fields}), ensure_ascii=False))
            out.write("\n")
            count += 1
        return count
    if fmt == Format.CSV:
        writer = csv.writer(out, lineterminator="\n")
        if headers:
            writer.writerow(fields)
        for record in records:
            writer.writerow([csv_value(record.get(f)) for f in fields])
            count += 1
        return count
    if fmt == Format.PLAIN or not is_terminal(out):
        if headers:
            out.write("\t".join(fields) + "\n")
        for record in records:
            out.write("\t".join(cell(record.get(f)) for f in fields) + "\n")
            count += 1
        return count
    return _rich_table(records, fields, headers=headers, title=title, stream=out)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any, *, multiline: bool = False) -> str:
    """One CSV cell. ``multiline`` keeps newlines (CSV quotes them) for data meant to be read back.

    A cell a spreadsheet would run as a formula gets a leading ``'``; so does a cell that already
    starts with one, which keeps the guard reversible: :func:`from_csv_value` drops exactly one.
    """
    text = make_visible(value) if multiline and isinstance(value, str) else cell(value)
    if text[:1] == "'" or (text[:1] in _FORMULA_STARTS and not _is_number(text)):
        return "'" + text
    return text


def from_csv_value(text: str) -> str:
    """Undo :func:`csv_value`'s formula guard."""
    return text[1:] if text[:1] == "'" else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rich_table(
    records: Iterable[Mapping[str, Any]],
    fields: Sequence[str],
    *,
    headers: bool,
    title: str | None,
    stream: TextIO,
) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title) if title else None, show_header=headers, header_style="bold")
    for name in fields:
        table.add_column(Text(name), overflow="fold" if name == "subject" else "ellipsis")
    count = 0
    for record in records:
        table.add_row(*(Text(cell(record.get(f))) for f in fields))
        count += 1
    Console(file=stream, highlight=False, soft_wrap=False, no_color=not use_color(stream)).print(table)
    return count


def parse_fields(value: str | None, default: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """``--fields number,subject`` → a checked list (unknown names are a usage error)."""
    if not value:
        return list(default)
    chosen = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in allowed]
    if unknown:
        from supportdesk.cli.errors import fail

        fail(f"unknown field {unknown[0]!r}: choose from {', '.join(allowed)}")
    return chosen
