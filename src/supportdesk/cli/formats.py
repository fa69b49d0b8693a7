"""The formats a listing prints in, the flags that choose one, and choosing (a leaf: it imports
nothing of ours, and not typer, so the fast read path reads the same flags typer declares in
:mod:`supportdesk.cli.options`)."""

from __future__ import annotations

from enum import StrEnum

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
