"""The commonest read lines, answered before typer is imported.

Importing typer (and click with it: ``inspect``, ``subprocess``, ``shutil``, ``pathlib`` …) and
building the command was ~40 % of a ``tickets show`` or ``tickets list`` process — more than the
read itself. Scripts run those two in loops, so a line that is *plainly* one of them is read here
and handed to the same bodies typer would call (:mod:`supportdesk.cli.ticket_reads`); the output,
errors and exit codes are the same bytes (``tests/cli/test_fast_reads.py`` runs each line both
ways). Anything this module is not sure of — help, an unknown or repeated option, a value that
looks like an option, ``--opt=value`` for a command option, a number click would read otherwise,
``--summary``, shell completion — returns None and typer handles the line as before, errors and
all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from supportdesk.cli.formats import FLAGS

if TYPE_CHECKING:
    from supportdesk.cli.session import Session

_GLOBAL = {"-w": "workspace", "--workspace": "workspace", "--profile": "profile"}
#: ``tickets list``'s options that take a value, by every spelling, and their parameter.
_LIST_VALUED = {"-q": "query", "--query": "query", "--sort": "sort", "-n": "limit", "--limit": "limit"}
_LIST_VALUED[FLAGS["fields"]] = "fields"
#: The output flags that take no value (``tickets show`` takes ``--json`` alone).
_LIST_FLAGS = {FLAGS[name]: name for name in ("json_", "jsonl", "csv_", "plain", "no_headers")}
_NUMBER = re.compile(r"[0-9]{1,9}")

Runner = Callable[["Session"], None]


def _globals(argv: list[str]) -> tuple[dict[str, str], int] | None:
    """The global options before the command words, and where the words start."""
    found: dict[str, str] = {}
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        arg = argv[index]
        name, equals, value = arg.partition("=")
        if equals and name in ("--workspace", "--profile"):
            key = _GLOBAL[name]
        elif arg in _GLOBAL and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            key, value = _GLOBAL[arg], argv[index + 1]
            index += 1
        else:
            return None
        if key in found:
            return None
        found[key] = value
        index += 1
    return found, index


def _show(rest: list[str]) -> Runner | None:
    ticket: str | None = None
    as_json = False
    for arg in rest:
        if arg == FLAGS["json_"] and not as_json:
            as_json = True
        elif not arg.startswith("-") and ticket is None:
            ticket = arg
        else:
            return None
    if ticket is None:
        return None
    chosen: str = ticket

    def run(session: Session) -> None:
        from supportdesk.cli.output_flags import Output
        from supportdesk.cli.ticket_reads import show

        show(session, Output.from_flags(json_=as_json), chosen)

    return run


def _list(rest: list[str]) -> Runner | None:
    values: dict[str, str] = {}
    flags: dict[str, bool] = {}
    index = 0
    while index < len(rest):
        arg = rest[index]
        if arg in _LIST_FLAGS and _LIST_FLAGS[arg] not in flags:
            flags[_LIST_FLAGS[arg]] = True
        elif arg in _LIST_VALUED and index + 1 < len(rest) and not rest[index + 1].startswith("-"):
            key = _LIST_VALUED[arg]
            if key in values:
                return None
            values[key] = rest[index + 1]
            index += 1
        else:
            return None
        index += 1
    limit: int | None = None
    if "limit" in values:
        if not _NUMBER.fullmatch(values["limit"]) or int(values["limit"]) < 1:
            return None  # click's own message for a value it cannot take
        limit = int(values["limit"])
    query, sort, fields = values.get("query", ""), values.get("sort"), values.get("fields")

    def run(session: Session) -> None:
        from supportdesk.cli.output_flags import Output
        from supportdesk.cli.ticket_reads import list_tickets

        list_tickets(session, Output.from_flags(fields=fields, **flags), query, sort, limit)

    return run


def fast_read(argv: list[str]) -> tuple[dict[str, str], Runner] | None:
    """The global options and a runner for ``argv``, when it is plainly ``tickets show`` or
    ``tickets list``; else None (typer reads the line)."""
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):
        return None
    parsed = _globals(argv)
    if parsed is None:
        return None
    options, start = parsed
    words = argv[start : start + 2]
    if words == ["tickets", "show"]:
        runner = _show(argv[start + 2 :])
    elif words == ["tickets", "list"]:
        runner = _list(argv[start + 2 :])
    else:
        return None
    return (options, runner) if runner is not None else None
