"""The demo workspace: deterministic, realistic in shape, hostile where it should be."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportdesk.demo import generator
from supportdesk.demo.generator import DEMO_EPOCH, build_demo
from supportdesk.domain import timing
from supportdesk.store import fts, times
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.conftest import DEMO_NOW, TestClock


def dump(workspace: Workspace) -> list[tuple[object, ...]]:
    with workspace.reading() as connection:
        rows: list[tuple[object, ...]] = []
        for table in ("ticket", "message", "customer", "identity", "ticket_tag", "macro", "kb_article", "saved_view"):
            rows += [(table, *r) for r in connection.execute(f"SELECT * FROM {table} ORDER BY rowid")]
        return rows


def fresh(template_workspace: Path, where: Path) -> Workspace:
    where.mkdir()
    shutil.copy(template_workspace / DB_NAME, where / DB_NAME)
    return Workspace.open(where)


def test_same_seed_same_workspace(template_workspace: Path, tmp_path: Path) -> None:
    first = fresh(template_workspace, tmp_path / "a")
    second = fresh(template_workspace, tmp_path / "b")
    other = fresh(template_workspace, tmp_path / "c")
    build_demo(first, tickets=120, seed=5, now=DEMO_NOW)
    build_demo(second, tickets=120, seed=5, now=DEMO_NOW)
    build_demo(other, tickets=120, seed=6, now=DEMO_NOW)
    assert dump(first) == dump(second)
    assert dump(first) != dump(other)


def fingerprint(workspace: Workspace) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows in a fixed order: the workspace's content.
    ``demo_clock`` (when it was built, so its clock can age) is the one thing left out."""
    result: dict[str, tuple[int, str]] = {}
    with closing(workspace.connect()) as connection:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            where = " WHERE key <> 'demo_clock'" if table == "workspace_setting" else ""
            digest = hashlib.sha256()
            count = 0
            for line in sorted(repr(tuple(row)) for row in connection.execute(f"SELECT * FROM {table}{where}")):
                digest.update(line.encode())
                count += 1
            result[table] = (count, digest.hexdigest())
    return result


def test_the_same_seed_gives_the_same_workspace_whatever_the_wall_clock(
    template_workspace: Path, tmp_path: Path, clock: TestClock
) -> None:
    """Issue 19: ``demo --seed 7`` built twice 40 minutes apart differed (50,949 vs 50,901
    messages): the history was anchored at the wall clock's hour, and business-hours SLA breaches,
    and the surveys drawn from them, depend on the weekday and hour it lands on."""
    first = fresh(template_workspace, tmp_path / "a")
    clock.freeze(DEMO_NOW + timedelta(minutes=40))
    build_demo(first, tickets=300, seed=7)
    later = fresh(template_workspace, tmp_path / "b")
    clock.freeze(DEMO_NOW + timedelta(days=3, hours=17, minutes=13))
    build_demo(later, tickets=300, seed=7)
    a, b = fingerprint(first), fingerprint(later)
    assert a["ticket"][0] == 300 + 6 and a["message"][0] > 300  # the demo and its hostile tickets
    assert a == b
    # and the anchor does matter when asked for: another --now moves the whole history
    moved = fresh(template_workspace, tmp_path / "c")
    build_demo(moved, tickets=300, seed=7, now=DEMO_EPOCH + timedelta(days=3, hours=5))
    assert fingerprint(moved)["ticket"] != a["ticket"]


def test_opening_a_demo_runs_on_its_clock_unless_one_is_pinned(
    template_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = fresh(template_workspace, tmp_path / "demo")
    build_demo(built, tickets=50, seed=3)
    with built.reading() as connection:
        setting = connection.execute("SELECT value FROM workspace_setting WHERE key = 'demo'").fetchone()[0]
    assert '"now": "2026-11-25T12:00:00Z"' in setting and '"seed": 3' in setting
    # pinned (the suite's SUPPORTDESK_NOW): the workspace's clock is not adopted
    previous = times.set_clock(None)
    try:
        Workspace.open(built.root).close()
        assert not times._adopted
        # unpinned, as for a user: the process runs on the demo's clock, from its anchor
        monkeypatch.delenv(times.NOW_VARIABLE)
        times.set_clock(None)
        Workspace.open(built.root).close()
        assert times._adopted
        assert DEMO_EPOCH <= times.utcnow() < DEMO_EPOCH + timedelta(minutes=10)
        # an explicit pin still wins over a workspace opened afterwards
        times.set_clock(times.fixed(DEMO_EPOCH + timedelta(days=400)))
        Workspace.open(built.root).close()
        assert times.utcnow() == DEMO_EPOCH + timedelta(days=400)
    finally:
        times.set_clock(previous)


def test_shape_of_the_default_demo(demo_workspace: Workspace) -> None:
    with closing(demo_workspace.connect()) as connection:
        fts.integrity_check(connection)

        def scalar(sql: str) -> int:
            return int(connection.execute(sql).fetchone()[0])

        assert scalar("SELECT count(*) FROM groups") == 5
        assert scalar("SELECT count(*) FROM agent") == 20
        assert scalar("SELECT count(DISTINCT channel) FROM ticket") == 5
        assert scalar("SELECT count(*) FROM macro") >= 40
        assert scalar("SELECT count(*) FROM kb_article") == 150
        assert scalar("SELECT count(*) FROM message WHERE public = 0") > 0
        assert scalar("SELECT count(*) FROM ticket WHERE merged_into_id IS NOT NULL") > 0
        assert scalar("SELECT count(*) FROM ticket WHERE problem_id IS NOT NULL") > 0
        assert scalar("SELECT count(DISTINCT kind) FROM identity") == 4
        assert scalar("SELECT count(*) FROM saved_view") >= 11
        assert scalar("SELECT value FROM counter WHERE name = 'ticket_number'") == scalar(
            "SELECT max(number) FROM ticket"
        )
        messages_per_ticket = scalar("SELECT count(*) FROM message") / scalar("SELECT count(*) FROM ticket")
        assert 3 < messages_per_ticket < 7
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_hostile_tickets_keep_markup_but_lose_escape_sequences(demo_workspace: Workspace) -> None:
    with demo_workspace.reading() as connection:
        subjects = [
            r[0]
            for r in connection.execute(
                "SELECT subject FROM ticket t JOIN identity i ON i.customer_id = t.requester_id "
                "WHERE i.value = 'mallory@evil.example' ORDER BY number"
            )
        ]
        bodies = [
            r[0]
            for r in connection.execute(
                "SELECT body FROM message m JOIN identity i ON i.customer_id = m.author_customer_id "
                "WHERE i.value = 'mallory@evil.example'"
            )
        ]
    assert "[@click=app.quit]Click here for your refund[/]" in subjects
    assert any("⟨U+001B⟩]52;c;" in s for s in subjects)
    everything = "".join(subjects + bodies)
    assert "\x1b" not in everything and "\x9b" not in everything and "\u202e" not in everything
    assert any(b.endswith("characters not stored⟩") for b in bodies)


def test_the_demo_has_slas_rules_surveys_and_history(demo_workspace: Workspace) -> None:
    with closing(demo_workspace.connect()) as connection:

        def scalar(sql: str) -> int:
            return int(connection.execute(sql).fetchone()[0])

        assert scalar("SELECT count(*) FROM sla_policy") == 5
        assert scalar("SELECT count(*) FROM sla_calendar") == 1
        assert scalar("SELECT count(*) FROM trigger_rule") >= 5
        assert scalar("SELECT count(*) FROM ticket_timing") == scalar("SELECT count(*) FROM ticket")
        assert scalar("SELECT count(*) FROM ticket_timing WHERE reopens > 0") > 0
        assert scalar("SELECT count(*) FROM ticket_timing WHERE paused") > 0
        assert scalar("SELECT count(*) FROM ticket_timing WHERE sla_met > 0") > 0
        assert scalar("SELECT count(*) FROM ticket_timing WHERE sla_missed > 0") > 0
        assert scalar("SELECT count(*) FROM survey WHERE answered_at IS NOT NULL") > 0
        assert scalar("SELECT count(DISTINCT csat) FROM survey WHERE csat IS NOT NULL") == 2
        assert scalar("SELECT count(*) FROM handle_time") > 0
        # months of history for trends
        assert scalar("SELECT count(DISTINCT substr(created_at, 1, 7)) FROM ticket") >= 6


def journal_mode(workspace: Workspace) -> str:
    """As the file says, not as a connection would set it (``connect`` asks for WAL itself):
    bytes 18 and 19 of the header are 2 in WAL mode, 1 with a rollback journal."""
    header = workspace.db_path.read_bytes()[:20]
    return {(2, 2): "wal", (1, 1): "rollback"}[(header[18], header[19])]


def test_the_build_leaves_the_workspace_in_wal_mode_and_a_failed_build_leaves_it_empty(
    template_workspace: Path, tmp_path: Path
) -> None:
    """Issue 19: the build runs under a rollback journal (the WAL wrote every page twice); the
    workspace must come back in WAL mode, and a build that fails must roll back to nothing."""
    built = fresh(template_workspace, tmp_path / "built")
    build_demo(built, tickets=50, seed=3, now=DEMO_NOW)
    assert journal_mode(built) == "wal"

    def fail_while_indexing(stage: str, _done: int, _total: int) -> None:
        if stage == "indexing":
            raise KeyboardInterrupt

    failed = fresh(template_workspace, tmp_path / "failed")
    with pytest.raises(KeyboardInterrupt):
        build_demo(failed, tickets=50, seed=3, now=DEMO_NOW, progress=fail_while_indexing)
    assert journal_mode(failed) == "wal"
    with closing(failed.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM customer").fetchone()[0] == 0
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # and the workspace can take the demo afterwards
    build_demo(failed, tickets=50, seed=3, now=DEMO_NOW)
    assert journal_mode(failed) == "wal"


def test_the_demo_timing_rows_are_what_the_write_path_computes(template_workspace: Path, tmp_path: Path) -> None:
    """The generator writes each ticket's SLA row itself (times formatted from milliseconds, the
    JSON written directly); rebuilding every row from the audit log, as ``sla rebuild`` does,
    must give the same rows, text for text."""
    built = fresh(template_workspace, tmp_path / "demo")
    build_demo(built, tickets=300, seed=7, now=DEMO_NOW)
    query = "SELECT * FROM ticket_timing ORDER BY ticket_id"
    with closing(built.connect()) as connection:
        written = [tuple(row) for row in connection.execute(query)]
        connection.execute("BEGIN IMMEDIATE")
        timing.rebuild(connection)
        rebuilt = [tuple(row) for row in connection.execute(query)]
        connection.execute("ROLLBACK")
    assert len(written) == 306
    assert written == rebuilt
    for row in written:
        for text in row[-2:]:
            assert text == json.dumps(json.loads(text))


def test_times_and_json_written_directly_match_the_library() -> None:
    """The generator's shortcuts for ``to_db``, ``isoformat`` and ``json.dumps``."""
    rng = random.Random(19)
    instants = [0, 1, 999, 86_399_999, 951_782_400_000, 4_102_444_799_999, -86_400_001]
    instants += [rng.randrange(-(10**12), 5 * 10**12) for _ in range(20_000)]
    for ms in instants:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        assert generator._db_time(ms) == times.to_db(moment)
        assert generator._iso(ms) == moment.isoformat()
    values = [
        [[1764072000.123, "created", "new"], [1e16, "reply", None], [0.1 + 0.2, "status", "open"]],
        [{"metric": "first_reply", "target": 1800.0, "elapsed": 12, "since": None, "ok": True}],
        [],
    ]
    for value in values:
        assert generator._plain_json(value) == json.dumps(value)


def test_the_demo_builds_while_another_connection_has_the_workspace_open(
    template_workspace: Path, tmp_path: Path
) -> None:
    """The journal mode cannot leave WAL while someone else has the file open: the build goes
    on in WAL rather than fail."""
    built = fresh(template_workspace, tmp_path / "shared")
    with built.reading() as other:
        other.execute("SELECT count(*) FROM ticket").fetchone()
        summary = build_demo(built, tickets=50, seed=3, now=DEMO_NOW)
        assert other.execute("SELECT count(*) FROM ticket").fetchone()[0] == summary.tickets
    assert journal_mode(built) == "wal"


def test_a_reader_that_arrives_as_the_build_ends_does_not_fail_a_committed_build(
    template_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its COMMIT the build switches the file back to WAL, which needs the file to itself.
    A reader that opened the workspace in between (a console started just then) keeps the switch
    from happening: the build is committed and must be reported as built, and the workspace's
    next connection sets WAL again. The reader is let in exactly then through the build
    connection's statement trace, and the connection waits 0.2 s for it instead of a minute."""
    built = fresh(template_workspace, tmp_path / "late_reader")
    readers: list[sqlite3.Connection] = []
    open_the_file = built.connect

    def connect_and_let_a_reader_in(*, readonly: bool = False) -> sqlite3.Connection:
        connection = open_the_file(readonly=readonly)
        connection.execute("PRAGMA busy_timeout=200")

        def on_statement(sql: str) -> None:
            if sql.startswith("PRAGMA journal_mode=wal") and not readers:
                reader = sqlite3.connect(built.db_path, isolation_level=None)
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM ticket").fetchone()  # holds a shared lock
                readers.append(reader)

        connection.set_trace_callback(on_statement)
        return connection

    monkeypatch.setattr(built, "connect", connect_and_let_a_reader_in)
    summary = build_demo(built, tickets=50, seed=3, now=DEMO_NOW)
    monkeypatch.undo()

    assert len(readers) == 1, "the build never switched back to WAL"
    assert journal_mode(built) == "rollback"  # the reader kept the switch from happening
    assert readers[0].execute("SELECT count(*) FROM ticket").fetchone()[0] == summary.tickets
    readers[0].close()
    with closing(built.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == summary.tickets
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert journal_mode(built) == "wal"
