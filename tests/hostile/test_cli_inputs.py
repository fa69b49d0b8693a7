"""Hostile arguments, files and workspaces given to the real CLI (in-process, on a copy of the demo
workspace): each is refused with a non-zero exit and one readable line on stderr — never a
traceback, never "a bug in supportdesk" — and the workspace holds exactly what it held before."""

from __future__ import annotations

import csv
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI, Result

#: What a workspace holds, row by row, in the tables a hostile command could touch.
TABLES = ("ticket", "message", "customer", "identity", "ticket_tag", "outbox")


def fingerprint(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(ws.db_path)) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in TABLES}


def refused(result: Result, code: int, *words: str) -> str:
    """The one line a refusal prints; ``words`` must be in it."""
    assert result.code == code, (result.code, result.stdout[-500:], result.stderr[-1500:])
    line = result.stderr.strip()
    assert line.startswith("supportdesk: error: ") and "\n" not in line, result.stderr[-1500:]
    assert "Traceback" not in result.stderr and "a bug in supportdesk" not in line, line
    assert len(line) < 400, line
    for word in words:
        assert word in line, line
    return line


@pytest.fixture
def open_number(ws: Workspace) -> int:
    with closing(sqlite3.connect(ws.db_path)) as connection:
        return int(connection.execute("SELECT min(number) FROM ticket WHERE status = 'open'").fetchone()[0])


@pytest.fixture
def before(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    return fingerprint(ws)


def test_an_import_line_nested_too_deeply_is_a_user_error(
    cli: CLI, ws: Workspace, tmp_path: Path, before: dict[str, list[tuple[object, ...]]]
) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    refused(cli("import", str(deep)), 2, "deep.jsonl line 1", "nested too deeply")
    assert fingerprint(ws) == before


def test_nan_and_infinity_in_an_import_are_not_json(
    cli: CLI, ws: Workspace, tmp_path: Path, before: dict[str, list[tuple[object, ...]]]
) -> None:
    """Python's json reads them; stored, they would be text no JSON reader accepts, and `export`
    would write an invalid file. Refused, wherever they are, with nothing written."""
    exported = cli("export", "--query", "number:1")
    assert exported.code == 0, exported.stderr
    record = json.loads(exported.stdout.splitlines()[0])
    record["id"] = "01900000-0000-7000-8000-000000000002"  # a ticket not here yet
    record.pop("number", None)
    record["fields"] = {"plan": "VALUE"}
    for index, message in enumerate(record["messages"]):  # messages not here yet either
        message["id"] = f"01900000-0000-7000-8000-{index:012d}"
    for word in ("NaN", "Infinity", "-Infinity"):
        line = json.dumps(record).replace('"VALUE"', word, 1)
        assert json.loads(line)["fields"]["plan"] != 0  # Python's json reads it: JSON but for the word
        path = tmp_path / "nan.jsonl"
        path.write_text(line + "\n")
        refused(cli("import", str(path)), 2, "nan.jsonl line 1", f"{word.lstrip('-')} is not a JSON number")

    csv_export = cli("export", "--csv", "--query", "number:1")
    header, first, *_rest = csv_export.stdout.splitlines()
    columns = header.split(",")
    cells = next(iter(csv.reader([first])))
    cells[columns.index("fields")] = '{"plan": Infinity}'
    cells[columns.index("id")] = "01900000-0000-7000-8000-000000000003"
    path = tmp_path / "nan.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerow(cells)
    refused(cli("import", str(path)), 2, "nan.csv line 2", "Infinity is not a JSON number")

    zendesk = tmp_path / "zendesk.json"
    zendesk.write_text('{"tickets": [{"id": 1, "subject": "x", "custom_fields": [{"id": 7, "value": NaN}]}]}')
    refused(cli("import", "--from", "zendesk", str(zendesk)), 2, "NaN is not a JSON number")
    assert fingerprint(ws) == before


def test_an_import_csv_cell_nested_too_deeply_is_a_user_error(
    cli: CLI, ws: Workspace, tmp_path: Path, before: dict[str, list[tuple[object, ...]]]
) -> None:
    exported = cli("export", "--csv", "--query", "number:1")
    assert exported.code == 0, exported.stderr
    header, first, *_rest = exported.stdout.splitlines()
    columns = header.split(",")
    cells = next(iter(csv.reader([first])))
    cells[columns.index("tags")] = "x"
    cells[columns.index("fields")] = "[" * 100_000
    cells[columns.index("id")] = "01900000-0000-7000-8000-000000000001"  # a ticket not here yet
    path = tmp_path / "deep.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerow(cells)
    refused(cli("import", str(path)), 2, "deep.csv line 2")
    assert fingerprint(ws) == before


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("9" * 40, id="forty-digits"),
        pytest.param(str(2**63), id="past-int64"),
        pytest.param("-1", id="negative"),
        pytest.param("0x10", id="hexadecimal"),
        pytest.param("1;DROP TABLE ticket", id="sql"),
        pytest.param("%", id="like-wildcard"),
    ],
)
def test_a_forged_ticket_number_is_not_found(
    cli: CLI, ws: Workspace, number: str, before: dict[str, list[tuple[object, ...]]]
) -> None:
    refused(cli("tickets", "show", "--", number), 3, "no ticket")
    refused(cli("tickets", "note", "--body", "hello", "--", number), 3, "no ticket")
    assert fingerprint(ws) == before


@pytest.mark.parametrize(
    ("query", "words"),
    [
        pytest.param("subject:\x00", ("position",), id="nul"),
        pytest.param("(" * 5000 + "a" + ")" * 5000, ("too long",), id="deep-parentheses"),
        pytest.param("number:" + "9" * 30, ("is not a ticket number",), id="huge-number"),
        pytest.param("created:>99999-01-01", ("is not a time",), id="year-99999"),
        pytest.param("updated:<-99999999999d", ("position",), id="negative-age"),
        pytest.param("status:open) OR (1=1", ("position",), id="sql-shaped"),
    ],
)
def test_a_hostile_query_is_exit_2_naming_the_position(cli: CLI, query: str, words: tuple[str, ...]) -> None:
    refused(cli("tickets", "list", "--query", query), 2, *words)


def test_a_body_file_that_is_not_utf8_or_too_long_writes_nothing(
    cli: CLI, ws: Workspace, tmp_path: Path, open_number: int, before: dict[str, list[tuple[object, ...]]]
) -> None:
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"hello \xff\xfe\x00 world")
    refused(cli("tickets", "note", str(open_number), "--body-file", str(binary)), 2, "binary.txt")
    huge = tmp_path / "huge.txt"
    huge.write_text("x" * 1_000_001)
    refused(cli("tickets", "note", str(open_number), "--body-file", str(huge)), 2, "body", "1000000")
    refused(cli("tickets", "reply", str(open_number), "--body-file", str(tmp_path / "missing.txt")), 3, "missing.txt")
    assert fingerprint(ws) == before


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("[@click=app.quit]", id="markup"),
        pytest.param("a\x1b[2Jb", id="escape"),
        pytest.param("x" * 81, id="81-characters"),
        pytest.param("\u202etag", id="bidi"),
        pytest.param("tag\x00", id="nul"),
        pytest.param("ünïcode?", id="outside-the-tag-alphabet"),
    ],
)
def test_a_hostile_tag_is_refused_and_the_tags_stay(
    cli: CLI, ws: Workspace, tag: str, open_number: int, before: dict[str, list[tuple[object, ...]]]
) -> None:
    line = refused(cli("tickets", "tag", str(open_number), tag), 2, "is not a tag")
    assert "\x1b" not in line and "\u202e" not in line
    assert fingerprint(ws) == before


@pytest.mark.parametrize(
    "who",
    [
        pytest.param("%", id="percent"),
        pytest.param("_%", id="underscore-percent"),
        pytest.param("*", id="star"),
        pytest.param("' OR '1'='1", id="sql"),
        pytest.param("%@%", id="any-address"),
    ],
)
def test_a_wildcard_never_names_a_customer_or_an_agent(
    cli: CLI, ws: Workspace, who: str, open_number: int, before: dict[str, list[tuple[object, ...]]]
) -> None:
    """Erase, merge and assign take one exact customer or agent; a pattern names nobody."""
    refused(cli("customers", "erase", who, "--yes"), 3, "no customer")
    refused(cli("customers", "merge", who, "dana@example.com"), 3, "no customer")
    refused(cli("customers", "show", who), 3, "no customer")
    refused(cli("tickets", "assign", str(open_number), who), 3, "no agent")
    assert fingerprint(ws) == before


def test_a_file_that_is_not_a_workspace_is_one_line(cli: CLI, tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "supportdesk.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    refused(cli("status", workspace=fake), 2, "is not a supportdesk workspace")
    refused(cli("tickets", "list", workspace=tmp_path / "nowhere"), 3, "no workspace")


def test_a_requester_address_with_a_newline_never_makes_a_header(
    cli: CLI, ws: Workspace, before: dict[str, list[tuple[object, ...]]]
) -> None:
    for requester in ("a@b.test\r\nBcc: victim@evil.test", "a@b.test\nX-Injected: 1", "\x1b[2J@evil.test"):
        result = cli("tickets", "create", "-s", "Hello", "-r", requester, "-b", "hi")
        refused(result, 2)
    assert fingerprint(ws) == before


def test_a_replayed_import_adds_nothing(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    """The same file imported twice (a retried script, a replayed attachment): no ticket twice."""
    exported = cli("export", "--query", "number:1")
    assert exported.code == 0
    record = json.loads(exported.stdout.splitlines()[0])
    record["id"] = "01900000-0000-7000-8000-00000000abcd"
    record["number"] = None
    for index, message in enumerate(record["messages"]):
        message["id"] = f"01900000-0000-7000-8000-0000000{index:05d}"
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n")
    first = cli("import", str(path))
    assert first.code == 0, first.stderr
    after_first = fingerprint(ws)
    again = cli("import", str(path))
    assert again.code == 0, again.stderr
    assert fingerprint(ws) == after_first
