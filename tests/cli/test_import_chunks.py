"""``supportdesk import`` by the chunk (``ticket.import_many``) leaves the very workspace that one
``ticket.import`` per ticket leaves: every table row for row, the search index term for term,
the same lines printed — on a file made to take every turn of the import (numbers taken, links
to later tickets, customers found by id, by address and by a ticket earlier in the chunk, an
erased customer's tickets, refused records in the middle of a chunk)."""

from __future__ import annotations

import gc
import json
import sqlite3
from contextlib import closing
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from supportdesk.cli import transfer
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.cli.conftest import CLI, Result, copy_workspace
from tests.conftest import TestClock

ERASED_WARNING = "was erased: the text written there was not kept"


def _id(kind: int, index: int) -> str:
    return f"01900000-0000-7000-{kind:04d}-{index:012d}"


def _hostile_file(records: list[dict[str, Any]], erased: str) -> list[dict[str, Any]]:
    """The workspace's own tickets under new ids, bent into every case the import handles."""
    new_ids = {record["id"]: _id(1, index) for index, record in enumerate(records)}
    out: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        record = json.loads(json.dumps(record))
        record["id"] = new_ids[record["id"]]
        for name in ("problem_id", "merged_into_id", "follow_up_of_id"):
            if record.get(name):  # a link to a ticket of the file: earlier (set) or later (deferred)
                record[name] = new_ids.get(record[name], record[name])
        if index % 3 == 0:
            record["problem_id"] = _id(1, index + 250)  # in a later chunk, or never (a warning)
        if index % 2:
            record["number"] = None  # the next number here
        # … and the others keep theirs, all taken here already: renumbered, with a warning
        for position, message in enumerate(record["messages"]):
            message["id"] = _id(2, index * 100 + position)
            for attachment in message.get("attachments") or []:
                attachment["id"] = _id(3, index * 100 + position)
        if index % 7 == 0:  # a new customer and organization; every other one is found by address
            address = f"chunk{index // 14}@imported.example"
            customer = {
                "id": _id(4, index),
                "name": f"Imported {index}",
                "organization": {"id": _id(5, index), "name": "Chunk Imports Ltd"},
                "identities": [
                    {"id": _id(6, index), "kind": "email", "value": address},
                    {"id": _id(7, index), "kind": "email", "value": "not an address"},
                ],
            }
            record["customers"] = [customer]
            record["requester_id"] = customer["id"]
            for message in record["messages"]:
                if message.get("author_customer_id"):
                    message["author_customer_id"] = customer["id"]
        if index % 11 == 0:
            record["requester_id"] = erased  # the erased customer's ticket stays erased
            record["customers"] = []
            for message in record["messages"]:
                if message.get("author_customer_id"):
                    message["author_customer_id"] = erased
        if index % 13 == 0:
            record["tags"] = [*record.get("tags", []), "no tags like this one!", "Shiny"]
            record["group_id"] = _id(8, index)  # no such group: left empty, with a warning
        if index == 17:
            record["customers"] = [{"id": _id(9, 0), "name": "Never created", "identities": []}]
            record["requester_id"] = "nobody-here"  # refused: its customer must not be created
        if index == 40:
            del record["requester_id"]  # refused before it reaches the mutation
        if index == 41:
            record["messages"][0]["id"] = _id(2, 0)  # a message of ticket 0: refused
        if index == 42:
            record["id"] = _id(1, 0)  # a ticket id twice in the file: refused
        out.append(record)
    return out


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _rows(connection: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
    if table == "audit_event":  # which mutation wrote them is told apart below
        columns = [c for c in columns if c not in ("mutation", "mutation_ref")]
    listed = ", ".join(f'"{c}"' for c in columns)
    try:
        return connection.execute(f'SELECT rowid, {listed} FROM "{table}" ORDER BY rowid').fetchall()
    except sqlite3.OperationalError:  # WITHOUT ROWID
        return connection.execute(f'SELECT {listed} FROM "{table}" ORDER BY {listed}').fetchall()


def _workspace_rows(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the workspace, row for row; the search indexes term for term."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with closing(sqlite3.connect(root / DB_NAME)) as connection:
        for name, sql in connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            if name in ("outbox", "sqlite_sequence") or name.startswith("sqlite_stat"):
                continue  # the outbox is compared apart; sqlite_sequence counts its rows
            if sql.startswith("CREATE VIRTUAL TABLE") and "fts5(" in sql:
                connection.execute(f"INSERT INTO {name}({name}, rank) VALUES ('integrity-check', 1)")
                connection.execute(f"CREATE VIRTUAL TABLE temp.vocab_{name} USING fts5vocab(main, {name}, instance)")
                found[f"{name} terms"] = connection.execute(
                    f"SELECT term, doc, col, offset FROM temp.vocab_{name} ORDER BY term, doc, col, offset"
                ).fetchall()
                continue
            if name.endswith(("_fts_data", "_fts_idx")) or sql.startswith("CREATE VIRTUAL TABLE"):
                continue  # an index's segments: the same terms (above), laid out by when they came
            found[name] = _rows(connection, name)
    return found


def _outbox(root: Path) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """The tickets the outbox carries, by id, and what wrote the audit events of the import."""
    tickets: dict[str, dict[str, Any]] = {}
    with closing(sqlite3.connect(root / DB_NAME)) as connection:
        for name, args in connection.execute("SELECT name, args FROM outbox ORDER BY id"):
            given = json.loads(args)
            for ticket in (
                given["tickets"] if name == "ticket.import_many" else [given] if name == "ticket.import" else []
            ):
                tickets[ticket["id"]] = ticket
        refs = connection.execute(
            "SELECT DISTINCT mutation, substr(mutation_ref, 1, 6) FROM audit_event WHERE field = 'ticket.imported'"
        ).fetchall()
    return tickets, refs


def _import_both(
    cli: CLI, ws: Workspace, tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Result, Path, Result]:
    """``path`` imported into two copies of ``ws``: one ``ticket.import`` per ticket (today's path,
    the one a workspace that follows a server takes), and by the chunk."""
    old, new = tmp_path / "one-at-a-time", tmp_path / "chunked"
    copy_workspace(ws, old).close()
    copy_workspace(ws, new).close()
    with monkeypatch.context() as patched:
        patched.setattr(transfer, "_follows_server", lambda session: True)
        before = cli("import", str(path), workspace=old)
    after = cli("import", str(path), workspace=new)
    return old, before, new, after


def test_a_chunked_import_leaves_the_workspace_one_ticket_at_a_time_leaves(
    cli: CLI, ws: Workspace, tmp_path: Path, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.freeze()
    monkeypatch.setattr(transfer, "IMPORT_CHUNK", 200)
    exported = cli("export")
    assert exported.code == 0
    records = [json.loads(line) for line in exported.stdout.splitlines()][:260]  # two chunks
    erased = records[5]["requester_id"]
    assert cli("customers", "erase", erased, "--yes").code == 0
    path = _write(tmp_path / "hostile.jsonl", _hostile_file(records, erased))

    old, before, new, after = _import_both(cli, ws, tmp_path, path, monkeypatch)

    assert (before.code, after.code) == (1, 1)  # four records refused
    assert before.stdout == after.stdout
    assert after.stdout.strip().endswith("4 refused") and "imported 256 tickets" in after.stdout
    # the same lines, bar the erasure's: once per ticket before, once per chunk now
    assert [line for line in before.stderr.splitlines() if ERASED_WARNING not in line] == [
        line for line in after.stderr.splitlines() if ERASED_WARNING not in line
    ]
    assert "no group with id" in after.stderr and "is taken here" in after.stderr
    assert ": the requester nobody-here is neither in the record nor here" in after.stderr
    erased_numbers = sorted(n for line in before.stderr.splitlines() if ERASED_WARNING in line for n in _numbers(line))
    assert erased_numbers and erased_numbers == sorted(
        n for line in after.stderr.splitlines() if ERASED_WARNING in line for n in _numbers(line)
    )

    old_rows, new_rows = _workspace_rows(old), _workspace_rows(new)
    assert sorted(old_rows) == sorted(new_rows)
    for name in old_rows:
        assert old_rows[name] == new_rows[name], name
    with closing(sqlite3.connect(new / DB_NAME)) as connection:
        assert connection.execute("SELECT count(*) FROM customer WHERE id = ?", (_id(9, 0),)).fetchone()[0] == 0
        subjects = connection.execute(
            "SELECT DISTINCT subject FROM ticket WHERE requester_id = ? AND id LIKE '01900000%'", (erased,)
        ).fetchall()
        assert subjects == [("(erased)",)] or all("erased" in s[0] for s in subjects)

    old_tickets, old_refs = _outbox(old)
    new_tickets, new_refs = _outbox(new)
    assert old_refs == [("ticket.import", "local:")] and new_refs == [("ticket.import_many", "local:")]
    # a chunk holding an erased customer's ticket leaves the outbox, as that ticket's entry did
    assert set(new_tickets) <= set(old_tickets)
    assert all(new_tickets[key] == old_tickets[key] for key in new_tickets)


def _numbers(line: str) -> list[int]:
    """The tickets an erasure warning names: ``… the customer of #607, #612 was erased …``."""
    named = line.split("the customer of ", 1)[1].split(" was erased", 1)[0]
    return [int(part.strip("#, ")) for part in named.split(",")]


def test_a_chunk_that_cannot_be_written_whole_goes_in_one_ticket_at_a_time(
    cli: CLI, ws: Workspace, tmp_path: Path, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One record the checks let through (a message id twice in it) fails the chunk's write; its
    tickets then go in one ``ticket.import`` each, so only that ticket is refused — with a line
    that names the constraint and quotes no customer text — and the others are all here."""
    clock.freeze()
    records = [json.loads(line) for line in cli("export").stdout.splitlines()][:6]
    for index, record in enumerate(records):
        record["id"] = _id(1, index)
        record["number"] = None
        for position, message in enumerate(record["messages"]):
            message["id"] = _id(2, index * 100 + position)
    bad = records[3]
    bad["messages"].append(dict(bad["messages"][0]))
    path = _write(tmp_path / "one-bad.jsonl", records)

    old, before, new, after = _import_both(cli, ws, tmp_path, path, monkeypatch)

    assert after.code == 1 and after.stdout.strip().endswith(
        "imported 5 tickets (" + _count(records, 3) + " messages), 1 refused"
    )
    assert (
        after.stderr.strip()
        == f"supportdesk: error: {bad['id']}: the ticket cannot be written: UNIQUE constraint failed: message.id"
    )
    assert (before.code, before.stdout, before.stderr) == (after.code, after.stdout, after.stderr)
    with closing(sqlite3.connect(new / DB_NAME)) as connection:
        here = {row[0] for row in connection.execute("SELECT id FROM ticket WHERE id LIKE '01900000%'")}
    assert here == {r["id"] for r in records} - {bad["id"]}
    old_rows, new_rows = _workspace_rows(old), _workspace_rows(new)
    for name in old_rows:
        assert old_rows[name] == new_rows[name], name


def _count(records: list[dict[str, Any]], leave_out: int) -> str:
    return f"{sum(len(r['messages']) for i, r in enumerate(records) if i != leave_out):,}"


def test_a_chunked_import_dry_run_writes_nothing_and_a_rerun_skips_everything(
    cli: CLI, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "IMPORT_CHUNK", 200)  # two chunks
    records = [json.loads(line) for line in cli("export").stdout.splitlines()][:230]
    for index, record in enumerate(records):
        record["id"] = _id(1, index)
        for position, message in enumerate(record["messages"]):
            message["id"] = _id(2, index * 100 + position)
    path = _write(tmp_path / "again.jsonl", records)
    tables = _workspace_rows(ws.root)
    rehearsed = cli("import", str(path), "--dry-run")
    assert rehearsed.code == 0, rehearsed.stderr
    assert rehearsed.stdout.startswith("would import 230 tickets")
    assert _workspace_rows(ws.root) == tables
    first = cli("import", str(path))
    assert first.code == 0 and first.stdout.startswith("imported 230 tickets")
    imported = _workspace_rows(ws.root)
    again = cli("import", str(path))
    assert again.stdout.strip() == "imported 0 tickets (0 messages), 230 already here"
    assert _workspace_rows(ws.root) == imported


def _small_file(path: Path, count: int) -> Path:
    """``count`` tickets of one new customer each, naming no agent or group."""
    records = []
    for index in range(count):
        customer = {
            "id": _id(4, index),
            "name": f"Synced {index}",
            "identities": [{"id": _id(6, index), "kind": "email", "value": f"synced{index}@imported.example"}],
        }
        records.append(
            {
                "id": _id(1, index),
                "number": 9000 + index,
                "subject": f"Imported into a synced workspace {index}",
                "status": "open",
                "requester_id": customer["id"],
                "customers": [customer],
                "created_at": "2025-01-02T03:04:05Z",
                "messages": [
                    {
                        "id": _id(2, index),
                        "channel": "email",
                        "direction": "inbound",
                        "author_kind": "customer",
                        "author_customer_id": customer["id"],
                        "body": f"Question number {index}",
                        "created_at": "2025-01-02T03:04:05Z",
                    }
                ],
            }
        )
    return _write(path, records)


def test_a_workspace_that_follows_a_server_pushes_each_imported_ticket(tmp_path: Path) -> None:
    """As before chunks: the outbox holds one ``ticket.import`` per ticket, the server numbers them."""
    from tests.cli.helpers import supportdesk
    from tests.live import LiveServer

    db = str(tmp_path / "server.db")
    for args in (
        ["server", "init", "--db", db],
        ["server", "group", "add", "Tier 1", "--email", "support@acme.test", "--db", db],
        [
            "server",
            "agent",
            "add",
            "Ada Admin",
            "--email",
            "ada@acme.test",
            "--group",
            "Tier 1",
            "--role",
            "admin",
            "--db",
            db,
        ],
    ):
        done = supportdesk(*args)
        assert done.returncode == 0, done.stderr
    token = supportdesk("server", "token", "create", "ada@acme.test", "--db", db).stdout.strip()
    server = LiveServer(db, tmp_path).start()
    workspace = tmp_path / "ws"
    try:
        login = supportdesk(
            "login", "--server", server.url, "--insecure-storage", workspace=workspace, stdin=token + "\n"
        )
        assert login.returncode == 0, login.stderr
        imported = supportdesk("import", str(_small_file(tmp_path / "three.jsonl", 3)), workspace=workspace)
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.startswith("imported 3 tickets (3 messages)")
        with closing(sqlite3.connect(workspace / DB_NAME)) as connection:
            pending = connection.execute("SELECT name FROM outbox ORDER BY id").fetchall()
        assert pending == [("ticket.import",)] * 3
        synced = supportdesk("sync", workspace=workspace)
        assert synced.returncode == 0, synced.stderr
        assert "Pushed 3" in synced.stdout and "0 pending" in synced.stdout
        with closing(sqlite3.connect(db)) as connection:
            numbers = connection.execute(
                "SELECT number FROM ticket WHERE subject LIKE 'Imported into a synced workspace%' ORDER BY number"
            ).fetchall()
        assert numbers == [(9000,), (9001,), (9002,)]
    finally:
        server.stop()


def test_a_pushed_chunk_runs_ticket_by_ticket_with_the_same_outcome(
    cli: CLI, ws: Workspace, tmp_path: Path, clock: TestClock
) -> None:
    """Where ``ticket.import_many`` is not planned in memory (a server it was pushed to, a
    replay), each ticket runs ``ticket.import``'s code in a savepoint: same rows, same results,
    a refused ticket (here: its requester is nowhere) leaves nothing behind."""
    from supportdesk.domain.catalog import get
    from supportdesk.domain.context import SYSTEM, MutationContext
    from supportdesk.domain.write import apply, run_one, validate_args

    clock.freeze()
    path = _small_file(tmp_path / "five.jsonl", 5)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[2]["requester_id"] = "nobody-here"  # its own new customer must not be created either
    spec = get("ticket.import_many")
    args = {"tickets": records}
    planned, pushed = copy_workspace(ws, tmp_path / "planned"), copy_workspace(ws, tmp_path / "pushed")
    try:
        chunked = apply(planned, "ticket.import_many", args, actor=SYSTEM).result["tickets"]
        with pushed.engine.connect() as connection, connection.begin():
            context = MutationContext(actor=SYSTEM, mode="server", mutation_ref="push:1")
            one_by_one, _tx = run_one(connection, spec, validate_args(spec, args), context)
    finally:
        planned.close()
        pushed.close()
    assert chunked == one_by_one["tickets"]
    assert chunked[2] == {
        "ticket_id": records[2]["id"],
        "error": {
            "code": "not_found",
            "message": "the requester nobody-here is neither in the record nor here",
            "field": "requester_id",
        },
    }
    assert [r.get("number") for r in chunked] == [9000, 9001, None, 9003, 9004]
    planned_rows, pushed_rows = _workspace_rows(tmp_path / "planned"), _workspace_rows(tmp_path / "pushed")
    for name in planned_rows:
        assert planned_rows[name] == pushed_rows[name], name
    assert _id(4, 2) not in {row[1] for row in planned_rows["customer"]}


def test_the_chunk_writes_times_by_its_own_fast_path_without_loading_sqlmodel() -> None:
    """The write path's tables use SQLModel's ``UTCDateTime`` loaded under our own name
    (``store/column_types``): a check against ``sqlmodel.sql.sqltypes.UTCDateTime`` never matched,
    so every time went through the slow converter and the import loaded all of SQLModel."""
    import subprocess
    import sys

    code = (
        "import sys; from supportdesk.domain.mutations import import_chunks as c; "
        "from supportdesk.domain.tx import table; "
        "print(isinstance(table('ticket').c.created_at.type, c.UTCDateTime), 'sqlmodel' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]


def test_the_chunks_own_converters_write_what_the_column_types_write() -> None:
    """The chunk converts its rows' values without SQLAlchemy's per-row work (times and JSON by
    converters of its own): each value must reach SQLite as the column type's bind processor
    would send it, for every column the chunk writes and the values an import holds."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import JSON
    from sqlalchemy.dialects import sqlite

    from supportdesk.domain.mutations import import_chunks
    from supportdesk.domain.tx import table
    from supportdesk.store.column_types import UTCDateTime

    dialect = sqlite.dialect()
    times = [
        datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        None,
    ]
    documents = [{}, {"a": [1, 2.5, None, True]}, {"é": "ü\u2028"}, [], ["x"], "text", 7, 1.5, None, JSON.NULL]
    checked = 0
    for name in (*import_chunks.WRITE_ORDER, "audit_event"):
        for column in table(name).columns:
            own = import_chunks._converter(table(name), column.name, dialect)
            theirs = column.type.dialect_impl(dialect).bind_processor(dialect)
            if isinstance(column.type, UTCDateTime):
                values: list[Any] = times
            elif isinstance(column.type, JSON):
                values = documents
            else:  # the type's own processor, or none
                assert (own is None) == (theirs is None), (name, column.name)
                continue
            assert [own(value) for value in values] == [theirs(value) for value in values], (name, column.name)
            checked += 1
    assert checked > 10
    with pytest.raises(ValueError, match="naive"):
        import_chunks._db_time(datetime(2026, 3, 1))


def test_a_number_or_size_too_large_for_the_database_refuses_its_ticket_alone(cli: CLI, tmp_path: Path) -> None:
    """Integers past what a column holds (SQLite's 64 bits; PostgreSQL's 32 for a ticket's number
    and an attachment's size) stopped the whole import with "unexpected OverflowError", the good tickets of the
    chunk with it; such a record is refused alone, in one line, like any other bad record."""

    def record(index: int, **extra: Any) -> dict[str, Any]:
        when = "2025-01-01T00:00:00Z"
        message = {"id": _id(2, index), "body": "hello", "channel": "email", "direction": "inbound",
                   "author_kind": "customer", "created_at": when}  # fmt: skip
        message["attachments"] = [extra.pop("attachment")] if "attachment" in extra else []
        customer = {"id": _id(4, 0), "name": "Big Numbers", "identities": []}
        return {"id": _id(1, index), "subject": f"ticket {index}", "created_at": when, "requester_id": _id(4, 0),
                "customers": [customer], "messages": [message], **extra}  # fmt: skip

    huge = 10**30
    attachment = {"id": _id(3, 1), "sha256": "a" * 64, "filename": "x.bin", "size": huge}
    path = _write(
        tmp_path / "big.jsonl",
        [record(0, number=huge), record(1, attachment=attachment), record(2, number=2**31), record(3, number=7)],
    )
    result = cli("import", str(path), workspace=tmp_path / "fresh")
    assert result.code == 1, result.stderr
    assert result.stdout.strip().startswith("imported 1 tickets (1 messages), 3 refused"), result.stdout
    assert "unexpected" not in result.stderr and result.stderr.count("\n") == 3, result.stderr
    with closing(sqlite3.connect(tmp_path / "fresh" / DB_NAME)) as connection:
        assert connection.execute("SELECT number, subject FROM ticket").fetchall() == [(7, "ticket 3")]


def test_a_time_past_the_calendars_end_in_utc_refuses_its_ticket_alone(cli: CLI, tmp_path: Path) -> None:
    """``9999-12-31T23:59:59-05:00`` is a valid time that has no UTC: the import stopped with
    "unexpected OverflowError" and took the chunk's other tickets with it."""
    when = "2025-01-01T00:00:00Z"
    customer = {"id": _id(4, 0), "name": "Far Future", "identities": [], "created_at": "0001-01-01T00:00:00+05:00"}
    records = [
        {"id": _id(1, index), "subject": f"ticket {index}", "created_at": created, "requester_id": _id(4, index),
         "customers": [{**customer, "id": _id(4, index)}] if index == 1 else [{**customer, "id": _id(4, index),
                                                                                "created_at": when}],
         "messages": [{"id": _id(2, index), "body": "hi", "channel": "email", "direction": "inbound",
                       "author_kind": "customer", "created_at": when}]}
        for index, created in enumerate(["9999-12-31T23:59:59-05:00", when, when])
    ]  # fmt: skip
    result = cli("import", str(_write(tmp_path / "far.jsonl", records)), workspace=tmp_path / "fresh")
    assert result.code == 1, result.stderr
    assert result.stdout.strip().startswith("imported 1 tickets (1 messages), 2 refused"), result.stdout
    assert "out of range" in result.stderr and "unexpected" not in result.stderr
    with closing(sqlite3.connect(tmp_path / "fresh" / DB_NAME)) as connection:
        assert connection.execute("SELECT subject FROM ticket").fetchall() == [("ticket 2",)]
        assert connection.execute("SELECT count(*) FROM customer").fetchone() == (1,)


def test_a_slow_source_closes_its_chunk_after_a_few_seconds_and_moves_the_progress_bar(
    cli: CLI, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are big (500 tickets) for speed; records that arrive slowly (Request Tracker, a
    pipe) close their chunk once its first record is ``CHUNK_SECONDS`` old, so the import writes,
    and the progress bar moves, at least that often. The objects frozen out of the collector
    between chunks (a speed-up) are back in its care after the import."""
    records = [json.loads(line) for line in cli("export").stdout.splitlines()][:7]
    for index, record in enumerate(records):
        record["id"] = _id(1, index)
        for position, message in enumerate(record["messages"]):
            message["id"] = _id(2, index * 100 + position)
    now = [0.0]
    monkeypatch.setattr(transfer, "_seconds", lambda: now[0])

    def slowly() -> Any:
        for record in records:
            now[0] += 0.75  # a record every ¾ s: a chunk is closed by the third one after its first
            yield record

    from supportdesk.cli.progress import Progress
    from supportdesk.cli.session import Session

    done: list[tuple[int, int | None]] = []
    monkeypatch.setattr(Progress, "update", lambda _self, _stage, count, total: done.append((count, total)))
    run = transfer._import_records(Session(workspace_flag=str(ws.root)), slowly(), dry_run=False, total=len(records))
    assert (run.imported, run.refused) == (7, 0)
    assert done == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert gc.get_freeze_count() == 0  # what each chunk froze is back in the collector's care
    with closing(sqlite3.connect(ws.root / DB_NAME)) as connection:
        chunks = connection.execute("SELECT args FROM outbox WHERE name = 'ticket.import_many' ORDER BY id").fetchall()
    assert [len(json.loads(args)["tickets"]) for (args,) in chunks] == [3, 3, 1]


def test_the_collector_is_paused_for_a_chunk_and_back_on_after_it_even_when_it_fails() -> None:
    """A chunk runs without Python's cycle collector (a speed-up); the collector must be back on
    after it, whatever happened — and left off when the caller had turned it off."""

    assert gc.isenabled()
    with transfer._collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), transfer._collector_paused():
        raise RuntimeError("a chunk failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with transfer._collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_cycles_left_before_a_chunk_is_frozen_are_still_collected_during_the_import(
    cli: CLI, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a chunk leaves unreachable in cycles (its collector paused) must not be frozen with
    what is alive after it: frozen garbage is out of every collection until the import ends, so
    a long import held every chunk's cycles at once."""
    import weakref

    monkeypatch.setattr(transfer, "IMPORT_CHUNK", 2)
    records = [json.loads(line) for line in cli("export").stdout.splitlines()][:6]
    for index, record in enumerate(records):
        record["id"] = _id(1, index)
        for position, message in enumerate(record["messages"]):
            message["id"] = _id(2, index * 100 + position)
    garbage: list[weakref.ref[_Node]] = []
    alive_later: list[bool] = []
    from supportdesk.cli.session import Session

    def source() -> Any:
        for index, record in enumerate(records):
            if index == 2:  # the first chunk is written when this record arrives
                gc.disable()  # so that no collection runs before that chunk's end (as when it made it)
                garbage.append(weakref.ref(_Node()))
            if index == 4:  # read two chunks later: a collection must free it
                gc.enable()
                gc.collect()
                alive_later.append(garbage[0]() is not None)
            yield record

    was_on = gc.isenabled()
    try:
        run = transfer._import_records(Session(workspace_flag=str(ws.root)), source(), dry_run=False, total=6)
    finally:
        if was_on:
            gc.enable()
    assert (run.imported, run.refused) == (6, 0)
    assert alive_later == [False]
