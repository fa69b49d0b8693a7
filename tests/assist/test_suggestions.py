"""Suggestions for an open ticket, duplicates on arrival, summaries and trends."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta

from supportdesk.assist import duplicates, index, library, similar, suggest, summary, trending
from supportdesk.assist.tickets import compose, ticket_texts
from supportdesk.store.workspace import Workspace
from tests.conftest import Team, TestClock


def _ticket(workspace: Workspace, subject_like: str) -> str:
    with workspace.reading() as connection:
        return str(
            connection.execute(
                "SELECT id FROM ticket WHERE subject LIKE ? AND merged_into_id IS NULL ORDER BY rowid LIMIT 1",
                (f"%{subject_like}%",),
            ).fetchone()[0]
        )


def test_articles_macros_and_similar_tickets_for_a_double_charge(indexed_demo: Workspace) -> None:
    ticket_id = _ticket(indexed_demo, "twice")
    with closing(indexed_demo.connect()) as connection:
        found = suggest.suggestions(connection, ticket_id)
        # the same answer is not suggested twice (an article and its "(admins)" copy)
        families = [a.title.split(" (")[0] for a in found.articles]
        assert len(families) == len(set(families))
        assert "Understanding authorisation holds" in families[:3]
        assert found.macros and all(m.score > 0 for m in found.macros)
        assert found.similar and ticket_id not in [s.ticket_id for s in found.similar]
        statuses = [s.status in ("solved", "closed") for s in found.similar]
        assert statuses == sorted(statuses, reverse=True)  # solved ones first
        assert all(s.solution for s in found.similar if s.status in ("solved", "closed"))
        assert suggest.suggestions(connection, ticket_id) == found  # deterministic
        assert suggest.suggestions(connection, "no-such-ticket") == suggest.Suggestions([], [], [])


def test_hybrid_beats_bm25_on_words_the_article_does_not_use(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        text = compose("", ["Where do I get a PDF of last month's bill for our accountant?"])
        titles = [a.title for a in library.suggest_articles(connection, text, limit=3)]
        assert any(t.startswith("Downloading invoices") for t in titles)


def test_hostile_ticket_text_in_suggestions(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        for text in ['" OR 1=1 --', "NEAR(a b) AND * ^", "\x1b[2J" * 1000, "", "x" * 1_000_000]:
            library.suggest_articles(connection, text)
            library.suggest_macros(connection, text)
            assert isinstance(similar.semantic_search(connection, text), list)


def test_semantic_search_finds_tickets_by_meaning(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        found = similar.semantic_search(connection, "money taken twice", limit=20, min_score=0.2)
        assert found
        texts = ticket_texts(connection, [m.ticket_id for m in found[:5]])
        assert any("twice" in t.lower() or "two" in t.lower() for t in texts.values())
        assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
        within = [found[-1].rowid]
        restricted = similar.semantic_search(connection, "money taken twice", within=within, min_score=-1)
        assert [m.rowid for m in restricted] == within
        assert similar.semantic_search(connection, "   ") == []


def test_a_repeat_from_the_same_requester_is_a_possible_duplicate(team: Team) -> None:
    def create(subject: str, body: str, email: str) -> str:
        outcome = team.as_(
            team.agent, "ticket.create", {"subject": subject, "body": body, "requester": {"value": email}}
        )
        return str(outcome.result["ticket_id"])

    first = create("Charged twice", "My card was charged twice for the March invoice.", "ana@example.com")
    other = create("Slack", "Slack notifications are posted twice in our channel.", "ana@example.com")
    repeat = create("Still charged twice", "I still see two payments for March on my statement.", "ana@example.com")
    stranger = create("Charged twice", "My card was charged twice for the March invoice.", "bo@example.com")
    with closing(team.workspace.connect()) as connection:
        found = duplicates.find(connection, repeat)
        assert [c.ticket_id for c in found] == [first]
        assert found[0].score >= duplicates.THRESHOLD
        assert duplicates.find(connection, stranger) == []
        assert duplicates.find(connection, first) == []  # nothing earlier
        assert other not in [c.ticket_id for c in duplicates.find(connection, repeat)]
    team.as_(team.agent, "ticket.set_status", {"ticket_id": first, "status": "solved"})
    with closing(team.workspace.connect()) as connection:
        assert duplicates.find(connection, repeat) == []  # only open tickets count


def test_summary_quotes_the_ticket_and_templates_the_rest(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        long_id, short_id = (
            connection.execute(
                f"SELECT ticket_id FROM message GROUP BY ticket_id HAVING count(*) {op} ORDER BY ticket_id LIMIT 1"
            ).fetchone()[0]
            for op in (">= 5", "< 4")
        )
        assert summary.summarize(connection, short_id) is None
        found = summary.summarize(connection, long_id)
        assert found is not None and found.asks
        bodies = (
            " ".join(r[0] for r in connection.execute("SELECT body FROM message WHERE ticket_id = ?", (long_id,)))
            + " "
            + str(connection.execute("SELECT subject FROM ticket WHERE id = ?", (long_id,)).fetchone()[0])
        )
        flat = " ".join(bodies.split())
        for line in [*found.asks, *found.tried]:
            assert line.text.rstrip("…") in flat or line.text.rstrip("…")[:100] in flat
        assert found.state.source == found.next_step.source == "fields"
        assert found.next_step.text.startswith("Next step:")
        assert summary.summarize(connection, long_id) == found


def test_trends_find_this_weeks_spike(team: Team, clock: TestClock) -> None:
    start = clock()
    clock.freeze(start - timedelta(days=30))
    for day in range(24):
        clock.freeze(start - timedelta(days=30 - day))
        team.as_(team.agent, "ticket.create", {
            "subject": "Invoice copy", "body": f"Please send the invoice for month {day}.",
            "requester": {"value": f"c{day}@example.com"},
        })  # fmt: skip
    for n in range(12):
        clock.freeze(start - timedelta(hours=5 * n + 1))
        team.as_(team.agent, "ticket.create", {
            "subject": "Export stuck", "body": f"The CSV export has been stuck for hours ({n}).",
            "requester": {"value": f"x{n}@example.com"},
        })  # fmt: skip
    clock.freeze(start - timedelta(hours=2))
    team.as_(team.agent, "ticket.create", {
        "subject": "Invoice copy", "body": "Please send the invoice for this month.",
        "requester": {"value": "late@example.com"},
    })  # fmt: skip
    clock.freeze(start)
    with closing(team.workspace.connect()) as connection:
        index.build(connection)
        found = trending.trends(connection)
        assert found[0].label == "Export stuck"
        assert found[0].recent == 12 and found[0].spike
        assert found[0].headline().startswith("spike: 'Export stuck', 12 tickets, ×")
        assert found[0].term == '~"Export stuck"'
        assert len(found[0].ticket_ids) == 12
        assert trending.trends(connection) == found
        assert trending.trends(connection, now=start - timedelta(days=400)) == []


def test_summary_and_triage_of_a_hostile_ticket(team: Team) -> None:
    hostile = "[@click=app.quit]Refund[/] \x1b[2J\x1b]52;c;cm0=\x07 please? \u202egnp.exe" + "x" * 300_000
    created = team.as_(team.agent, "ticket.create", {
        "subject": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "body": hostile,
        "requester": {"value": "mallory@example.com"},
    }).result  # fmt: skip
    ticket_id = str(created["ticket_id"])
    for n in range(3):
        team.as_(team.agent, "ticket.reply", {"ticket_id": ticket_id, "body": f"I have checked \x9b31m it ({n})."})
    with closing(team.workspace.connect()) as connection:
        found = summary.summarize(connection, ticket_id)
        assert found is not None
        text = found.text()
        assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text and "[@click" not in text
        assert all(len(line.text) <= summary.SENTENCE_CHARS for line in [*found.asks, *found.tried])
        index.build(connection)
        assert suggest.suggestions(connection, ticket_id).articles is not None
