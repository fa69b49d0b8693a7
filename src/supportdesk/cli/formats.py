"""The formats a listing prints in, and choosing one from the flags (a leaf: it imports nothing of ours)."""

from __future__ import annotations

from enum import StrEnum


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
