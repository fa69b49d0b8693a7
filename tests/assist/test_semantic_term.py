"""``~"…"`` answered by the real assist engine: tickets by meaning, combined with other terms,
new tickets embedded before the term is answered (issue 15, phase 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from supportdesk.assist import query, similar
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store import reads, semantic
from supportdesk.store.workspace import Workspace


@pytest.fixture
def registered() -> Iterator[None]:
    saved = list(semantic._resolver)
    query.register()
    yield
    semantic._resolver[:] = saved


def _ids(workspace: Workspace, text: str) -> list[str]:
    with workspace.reading() as connection:
        page = reads.queue_page(connection, reads.plan_queue(text), limit=500)
    return [row.id for row in page.rows]


def test_a_semantic_term_finds_tickets_by_meaning_and_combines(registered: None, writable_demo: Workspace) -> None:
    with closing(writable_demo.connect()) as connection:
        rowids = query.resolve(connection, "money taken twice")
        marks = ",".join("?" * len(rowids))
        expected = {r[0] for r in connection.execute(f"SELECT id FROM ticket WHERE rowid IN ({marks})", rowids)}
        best = similar.semantic_search(connection, "money taken twice", limit=3)
        statuses = dict(connection.execute("SELECT id, status FROM ticket").fetchall())
    assert all(m.rowid in rowids for m in best)  # the term keeps the closest matches
    found = _ids(writable_demo, '~"money taken twice"')
    assert found and set(found) == expected
    status = statuses[found[0]]
    narrowed = _ids(writable_demo, f'~"money taken twice" status:{status}')
    assert narrowed and set(narrowed) == {t for t in expected if statuses[t] == status}
    assert _ids(writable_demo, '~"money taken twice" number:1') == []
    others = _ids(writable_demo, '-~"money taken twice"')
    assert others and not set(others) & expected
    with writable_demo.reading() as connection:
        count = reads.queue_count(connection, reads.plan_queue('-~"money taken twice"'))
    assert count == len(statuses) - len(expected)


def test_a_new_ticket_is_embedded_before_the_term_is_answered(registered: None, writable_demo: Workspace) -> None:
    created = write.apply(
        writable_demo,
        "ticket.create",
        {
            "subject": "Abgebucht zweimal <b>x</b>\x1b[2J",
            "body": "You took the money from my card two times for one order, please give one payment back",
            "requester": {"value": "new@example.com"},
        },
        actor=SYSTEM,
    ).result
    assert created["ticket_id"] in _ids(writable_demo, '~"took the money from my card two times"')


def test_another_groups_tickets_do_not_change_what_an_agent_finds(registered: None, writable_demo: Workspace) -> None:
    """A term matches near its best match: for an agent of a standalone workspace (which holds
    every group's tickets) that best match is among the tickets they may see. Another group's
    ticket saying the words exactly neither hides the agent's own matches nor tells them it exists."""
    from supportdesk.store.viewer import workspace_viewer

    text = "money taken twice"
    with writable_demo.reading() as connection:
        agent, mine = connection.execute(
            "SELECT a.id, ag.group_id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id "
            "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
        ).fetchone()
        other = connection.execute(
            "SELECT id FROM groups WHERE id NOT IN (SELECT group_id FROM agent_group WHERE agent_id = ?) LIMIT 1",
            (agent,),
        ).fetchone()[0]
    writable_demo.set_setting("me", agent)

    def found() -> list[str]:
        with writable_demo.reading() as connection:
            plan = reads.plan_queue(f'~"{text}"', me=agent, viewer=workspace_viewer(connection))
            return [row.id for row in reads.queue_page(connection, plan, limit=500).rows]

    before = found()
    assert before  # the agent has tickets about double charges
    write.apply(
        writable_demo,
        "ticket.create",
        {"subject": text, "body": f"{text}, {text}", "requester": {"value": "x@example.com"}, "group_id": other},
        actor=SYSTEM,
    )
    assert mine != other
    assert found() == before


def test_an_agents_term_looks_past_another_groups_nearest(
    registered: None, writable_demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A term matches up to ``LIMIT`` tickets: for an agent, the ``LIMIT`` best of theirs. When
    another group's tickets fill every place among the team's nearest, the term looks further
    rather than answering with what is left of them (nothing, here)."""
    from supportdesk.assist import index
    from supportdesk.store.viewer import workspace_viewer

    text = "money taken twice"
    with writable_demo.reading() as connection:
        agent = connection.execute(
            "SELECT a.id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id WHERE a.role = 'agent' "
            "ORDER BY a.email LIMIT 1"
        ).fetchone()[0]
        other = connection.execute(
            "SELECT id FROM groups WHERE id NOT IN (SELECT group_id FROM agent_group WHERE agent_id = ?) LIMIT 1",
            (agent,),
        ).fetchone()[0]
    for n in range(6):  # nearer than any of the agent's: the term's own words, in another group
        write.apply(
            writable_demo,
            "ticket.create",
            {"subject": text, "body": f"{text} ({n})", "requester": {"value": f"x{n}@example.com"}, "group_id": other},
            actor=SYSTEM,
        )
    with closing(writable_demo.connect()) as connection:
        index.build(connection)
    writable_demo.set_setting("me", agent)
    monkeypatch.setattr(query, "LIMIT", 3)

    with writable_demo.reading() as connection:
        viewer = workspace_viewer(connection)
        seen, params = viewer.condition("t")
        visible = {row[0] for row in connection.execute(f"SELECT t.rowid FROM ticket t WHERE {seen}", params)}
        every = similar.semantic_search(connection, text, limit=1_000_000, min_score=query.FLOOR)
        embedded: list[str] = []
        plain = similar.query_vector
        monkeypatch.setattr(similar, "query_vector", lambda text: embedded.append(text) or plain(text))
        found = query.resolve(connection, text)
    assert embedded == [text]  # once, however often the search widened
    assert [m.rowid for m in every[:3]] and not {m.rowid for m in every[:3]} & visible  # the crowd
    theirs = [m for m in every if m.rowid in visible]
    bar = max(query.FLOOR, theirs[0].score * query.RELATIVE)
    assert found and found == [m.rowid for m in theirs[:3] if m.score >= bar]
