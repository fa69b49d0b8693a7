"""The demo workspace: deterministic, realistic in shape, hostile where it should be."""

from __future__ import annotations

import shutil
from contextlib import closing
from pathlib import Path

from supportdesk.demo.generator import build_demo
from supportdesk.store import fts
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.conftest import DEMO_NOW


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
