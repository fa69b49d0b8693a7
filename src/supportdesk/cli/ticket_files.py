"""Whole tickets as files: JSONL (one ticket a line) and CSV (one row a message), written and read.

JSONL holds one ticket per line, exactly the record :mod:`supportdesk.store.exports` builds. CSV
holds one row per message, the ticket's columns repeated on each of its rows (nested values —
fields, customers, agents, metadata — as JSON text), so a spreadsheet can read it and the importer
can put the tickets back together. Used by ``supportdesk export`` and ``import``
(:mod:`supportdesk.cli.transfer`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any, TextIO

from supportdesk.store import strict_json

_JSON_CELLS = frozenset({"fields", "customers", "agents", "groups", "meta", "attachments"})
#: Bodies are capped at 200,000 characters, but a cell holds JSON of many customers too.
CSV_FIELD_LIMIT = 64 * 1024 * 1024


@cache
def csv_layout() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The ticket's columns (repeated on each of its rows), one message's, and the whole header."""
    from supportdesk.store.exports import MESSAGE_COLUMNS, TICKET_COLUMNS

    ticket = (*TICKET_COLUMNS, "tags", "customers", "agents", "groups")
    message = (*MESSAGE_COLUMNS, "attachments")
    return ticket, message, ticket + tuple(f"message_{name}" for name in message)


def jsonl_writer(stream: TextIO) -> Callable[[dict[str, Any]], None]:
    from supportdesk.cli.output import safe

    def write(record: dict[str, Any]) -> None:
        stream.write(json.dumps(safe(record), ensure_ascii=False))
        stream.write("\n")

    return write


def csv_writer(stream: TextIO) -> Callable[[dict[str, Any]], None]:
    from supportdesk.cli.output import csv_value

    ticket_csv, message_csv, columns = csv_layout()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)

    def cells(record: dict[str, Any], names: Iterable[str]) -> list[str]:
        row = []
        for name in names:
            value: Any = record.get(name)
            if name in _JSON_CELLS:
                value = json.dumps(value, ensure_ascii=False)
            elif name == "tags":
                value = ",".join(value)
            elif name == "public":
                value = "true" if value else "false"
            row.append(csv_value(value, multiline=True))
        return row

    def write(record: dict[str, Any]) -> None:
        ticket = cells(record, ticket_csv)
        for message in record["messages"] or [None]:
            writer.writerow(ticket + (cells(message, message_csv) if message else [""] * len(message_csv)))

    return write


def read_jsonl(lines: Iterable[str], source: str) -> Iterator[dict[str, Any]]:
    from supportdesk.cli.errors import fail

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = strict_json.loads(line)
        except json.JSONDecodeError as error:
            fail(f"{source} line {number} is not JSON: {error.msg}")
        except strict_json.NotJSONNumber as error:
            fail(f"{source} line {number} is not JSON: {error}")
        except RecursionError:  # a hostile file nests arrays a thousand deep: a user's mistake, not our bug
            fail(f"{source} line {number} is not a ticket record: JSON nested too deeply")
        if not isinstance(record, dict):
            fail(f"{source} line {number} is not a ticket record")
        yield record


def _csv_cell(name: str, text: str) -> Any:
    from supportdesk.cli.output import from_csv_value

    value = from_csv_value(text)
    if name in _JSON_CELLS:
        return strict_json.loads(value) if value else ({} if name in ("fields", "meta") else [])
    if name == "tags":
        return [t for t in value.split(",") if t]
    if name == "public":
        return value == "true"
    if name == "number":
        return int(value) if value else None
    if name in ("subject", "body"):
        return value
    return value or None


def read_csv(lines: Iterable[str], source: str) -> Iterator[dict[str, Any]]:
    from supportdesk.cli.errors import fail

    ticket_csv, message_csv, columns = csv_layout()
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    missing = [c for c in columns if c not in header]
    if missing:
        fail(f"{source} is not a supportdesk CSV export: no column {missing[0]!r}")
    index = {name: header.index(name) for name in columns}
    current: dict[str, Any] | None = None
    try:
        for row in reader:
            ticket_id = row[index["id"]]
            if current is None or current["id"] != ticket_id:
                if current is not None:
                    yield current
                current = {name: _csv_cell(name, row[index[name]]) for name in ticket_csv}
                current["messages"] = []
            if row[index["message_id"]]:
                current["messages"].append(
                    {name: _csv_cell(name, row[index[f"message_{name}"]]) for name in message_csv}
                )
    except (json.JSONDecodeError, IndexError, ValueError) as error:
        fail(f"{source} line {reader.line_num}: {error}")
    except RecursionError:
        fail(f"{source} line {reader.line_num}: JSON nested too deeply")
    if current is not None:
        yield current
