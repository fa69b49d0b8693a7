"""The offline assist in the console: macros that fit the ticket first, the summary at the top of
a long ticket, the similar-tickets panel, the triage fields in the header and the queue, and this
week's trends from the dashboard — every model call in a worker (strict reads: a read on the UI
thread fails the test), every customer word drawn literally."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import timedelta

from textual.widgets import Static

from supportdesk import assist
from supportdesk.assist.similar import SimilarTicket
from supportdesk.store.ids import uuid7
from supportdesk.store.times import to_db
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.dashboard import DashboardScreen
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.screens.trends import TrendsScreen
from supportdesk.tui.widgets.queue_columns import layout
from supportdesk.tui.widgets.side_panels import MacroPanel
from supportdesk.tui.widgets.similar_panel import SimilarPanel
from supportdesk.tui.widgets.ticket_summary import TicketSummary
from tests.conftest import DEMO_NOW
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first
from tests.tui.test_hostile import filter_queue, no_terminal_bytes, queue_text, screen_text

#: The models may load first in the worker, on a loaded machine.
MODEL_WAIT = 120

HOSTILE_ASK = "Could you refund [bold red]the duplicate[/] charge \x1b[31mplease?"
HOSTILE_REPLY = "[@click=app.quit]Refunded[/] the duplicate charge \x1b[2J\x1b]52;c;ZXZpbA==\x07 today."
HOSTILE_LABEL = "\x1b[31m[@click=app.quit]Export stuck at 99%[/]"


def _agent_and_groups(workspace: Workspace) -> tuple[str, str, str]:
    """A plain agent, one of their groups, and a group they are not in."""
    with workspace.reading() as connection:
        agent, mine = connection.execute(
            "SELECT a.id, ag.group_id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id "
            "WHERE a.role = 'agent' AND a.active ORDER BY a.email LIMIT 1"
        ).fetchone()
        other = connection.execute(
            "SELECT id FROM groups WHERE id NOT IN (SELECT group_id FROM agent_group WHERE agent_id = ?) "
            "ORDER BY name LIMIT 1",
            (agent,),
        ).fetchone()[0]
    return agent, mine, other


def _insert_ticket(
    workspace: Workspace,
    *,
    number: int,
    subject: str,
    group: str,
    status: str,
    messages: list[tuple[str, str]],
    days_ago: float = 1.0,
) -> str:
    """A ticket written straight into the file (bypassing ingest: the console must be safe at
    display time too); ``messages`` are (author kind, body) pairs, oldest first."""
    ticket, customer = uuid7(), uuid7()
    created = DEMO_NOW - timedelta(days=days_ago)
    with closing(workspace.connect()) as connection:
        agent = connection.execute("SELECT id FROM agent ORDER BY email LIMIT 1").fetchone()[0]
        connection.execute(
            "INSERT INTO customer (id, name, notes, locale, created_at, updated_at) VALUES (?, ?, '', 'en', ?, ?)",
            (customer, f"Customer {number}", to_db(created), to_db(created)),
        )
        connection.execute(
            "INSERT INTO ticket (id, number, subject, status, priority, type, channel, group_id, requester_id, "
            "fields, created_at, updated_at) VALUES (?, ?, ?, ?, 'normal', 'question', 'email', ?, ?, '{}', ?, ?)",
            (ticket, number, subject, status, group, customer, to_db(created), to_db(created)),
        )
        for index, (kind, body) in enumerate(messages):
            at = to_db(created + timedelta(minutes=10 * index))
            if kind == "customer":
                connection.execute(
                    "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, "
                    "author_customer_id, body, meta, created_at) VALUES (?, ?, 'email', 'inbound', 1, 'customer', "
                    "?, ?, ?, ?)",
                    (uuid7(), ticket, customer, body, json.dumps({}), at),
                )
            else:
                connection.execute(
                    "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_agent_id, "
                    "body, meta, created_at) VALUES (?, ?, 'email', 'outbound', 1, 'agent', ?, ?, ?, ?)",
                    (uuid7(), ticket, agent, body, json.dumps({}), at),
                )
        connection.commit()
    return ticket


DOUBLE_CHARGE = "I was charged twice for my March invoice, the money was taken two times from my card."


def _similar_setup(workspace: Workspace) -> dict[str, str]:
    """The open ticket (four messages, a hostile ask), a solved twin in the agent's group with a
    hostile reply, an open twin there, and a solved twin in another group."""
    agent, mine, other = _agent_and_groups(workspace)
    workspace.set_setting("me", agent)
    subject = "Charged twice for my March invoice"
    return {
        "open": _insert_ticket(
            workspace,
            number=99001,
            subject=subject,
            group=mine,
            status="open",
            messages=[
                ("customer", f"{DOUBLE_CHARGE} {HOSTILE_ASK}"),
                ("agent", "Sorry about that. I have checked the payment log and see two charges."),
                ("customer", "I tried my banking app and it still shows both charges."),
                ("agent", "Thank you, we are looking into it."),
            ],
        ),
        "solved": _insert_ticket(
            workspace,
            number=99002,
            subject=subject,
            group=mine,
            status="solved",
            messages=[("customer", DOUBLE_CHARGE), ("agent", HOSTILE_REPLY)],
            days_ago=20,
        ),
        "pending": _insert_ticket(
            workspace,
            number=99003,
            subject="Charged twice for the March invoice",
            group=mine,
            status="open",
            messages=[("customer", DOUBLE_CHARGE)],
            days_ago=2,
        ),
        "hidden": _insert_ticket(
            workspace,
            number=99004,
            subject="Charged twice for my March invoice (secret group)",
            group=other,
            status="solved",
            messages=[("customer", DOUBLE_CHARGE), ("agent", "The secret group's answer.")],
            days_ago=10,
        ),
    }


async def _open_number(pilot, app, number: int) -> TicketScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    app.screen.show_view(None)
    await filter_queue(pilot, app, f"number:{number}")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, TicketScreen)
    return screen


# --- macros ----------------------------------------------------------------------------------


async def test_the_macro_panel_puts_the_macros_that_fit_first(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        with closing(console_workspace.connect()) as connection:
            expected = [item.id for item in assist.macros_for(connection, ticket_id, limit=3)]
        assert expected
        await pilot.press("m")
        panel = screen.query_one(MacroPanel)
        await until(pilot, lambda: panel.suggested is not None, timeout=MODEL_WAIT)
        await settle(pilot)
        assert [m["id"] for m in panel.shown[: len(expected)]] == expected
        rest = [m["name"] for m in panel.shown[len(expected) :]]
        assert rest == sorted(rest, key=lambda name: [m["name"] for m in panel.macros].index(name))
        assert len(panel.shown) == len(panel.macros)
        assert "suggested for this ticket" in str(panel.query_one("#macro-subtitle", Static).render())
        rows = [panel.row_list.render_line(y).text for y in range(len(expected) + 1)]
        assert all(row.lstrip().startswith("★") for row in rows[: len(expected)]) and "★" not in rows[-1]
        # a search narrows by name, whatever fits
        await pilot.press(*"refund")
        await settle(pilot)
        assert all("refund" in m["name"].lower() for m in panel.shown)
        assert "★" not in panel.row_list.render_line(0).text


# --- summary ---------------------------------------------------------------------------------


async def test_a_long_ticket_shows_its_summary_and_it_folds(make_app: AppFactory, console_workspace: Workspace) -> None:
    tickets = _similar_setup(console_workspace)
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen = await _open_number(pilot, app, 99001)
        summary = screen.query_one(TicketSummary)
        await until(pilot, lambda: summary.summary is not None)
        assert summary.display and summary.ticket_id == tickets["open"]
        text = str(summary.render())
        assert text.startswith("Summary") and "Asks:" in text and "Next step:" in text
        # the customer's sentence is quoted as the engine cleaned it (escape sequences and style
        # tags dropped), and what is left of the markup is drawn as text, never run
        assert "“Could you refund the duplicate[/] charge please?” (customer)" in text
        assert no_terminal_bytes(text) and no_terminal_bytes(screen_text(app))
        await pilot.press("u")
        assert summary.folded and "\n" not in str(summary.render()) and "Next step:" in str(summary.render())
        await pilot.press("u")
        assert not summary.folded and "Asks:" in str(summary.render())
        # a ticket of one message has none
        await pilot.press("escape")
        screen = await _open_number(pilot, app, 99003)
        await settle(pilot)
        assert not screen.query_one(TicketSummary).display
        await pilot.press("u")
        await until(pilot, lambda: any("no summary" in str(n.message) for n in app._notifications))


# --- similar tickets -------------------------------------------------------------------------


async def test_similar_tickets_solved_first_open_with_enter_and_never_another_groups(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    tickets = _similar_setup(console_workspace)
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen = await _open_number(pilot, app, 99001)
        await pilot.press("f")
        panel = screen.query_one(SimilarPanel)
        await until(pilot, lambda: bool(panel.items), timeout=MODEL_WAIT)
        await settle(pilot)
        ids = [item.ticket_id for item in panel.items]
        assert ids[0] == tickets["solved"]  # its twin, solved: first
        assert tickets["hidden"] not in ids and tickets["open"] not in ids
        solved = [item.status in ("solved", "closed") for item in panel.items]
        assert solved == sorted(solved, reverse=True)  # solved ones first
        text = screen_text(app)
        assert "secret group" not in text and "#99004" not in text
        # the solved twin's reply as the engine cleaned it (escape sequences and style tags
        # dropped); what is left of the markup is drawn as text, never run
        panel.row_list.cursor = ids.index(tickets["solved"])
        await settle(pilot)
        preview = str(panel.query_one("#similar-preview", Static).render())
        assert "How it was solved" in preview and "Refunded[/] the duplicate charge today." in preview
        assert no_terminal_bytes(screen_text(app))
        svg = app.export_screenshot()
        assert "\x1b" not in svg
        await pilot.press("enter")
        await until(pilot, lambda: screen.ticket_id == tickets["solved"] and screen.data is not None)
        assert app.is_running and app.return_code is None


def _similar_past_40_twins(workspace: Workspace, limit: int) -> tuple[dict[str, str], list[SimilarTicket]]:
    """The agent's similar tickets for the open one of :func:`_similar_setup`, after another
    group gained 40 solved twins of it, newer than the agent's and word for word the same (so
    nearer): the tickets of the setup, and what the console's panel gets."""
    from supportdesk.domain.write import load_actor
    from supportdesk.tui.db import ConsoleDB

    tickets = _similar_setup(workspace)
    agent, _mine, other = _agent_and_groups(workspace)
    for index in range(40):
        _insert_ticket(
            workspace,
            number=99500 + index,
            subject="Charged twice for my March invoice",
            group=other,
            status="solved",
            messages=[("customer", DOUBLE_CHARGE), ("agent", HOSTILE_REPLY)],
            days_ago=5,
        )
    with closing(workspace.connect(readonly=True)) as reader:
        actor = load_actor(reader, agent)
    db = ConsoleDB(workspace)
    try:
        db.update_vectors()
        return tickets, db.similar_tickets(tickets["open"], actor, limit=limit)
    finally:
        db.close()


def test_an_agents_similar_tickets_are_not_crowded_out_by_another_groups(console_workspace: Workspace) -> None:
    """Similar tickets are ranked among the tickets the agent may see: another group's solved
    twins, however many, never push the agent's own solved twin off the panel."""
    tickets, found = _similar_past_40_twins(console_workspace, limit=5)
    ids = [item.ticket_id for item in found]
    assert ids and ids[0] == tickets["solved"], [item.number for item in found]
    assert not {item.number for item in found if item.number is not None and item.number >= 99500}


def test_an_agents_similar_tickets_are_found_beyond_another_groups_nearest(console_workspace: Workspace) -> None:
    """However many of another group's tickets are nearer than the agent's own (40 twins fill the
    team's nearest 9 for one suggestion), the agent's pool is as deep as an admin's: the search
    looks further instead of answering from what is left."""
    tickets, found = _similar_past_40_twins(console_workspace, limit=1)
    assert [item.ticket_id for item in found] == [tickets["solved"]]


# --- triage fields ---------------------------------------------------------------------------


async def test_triage_fields_in_the_header_and_as_queue_columns(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    with console_workspace.reading() as connection:
        ticket_id, number = connection.execute(
            "SELECT id, number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()
    with closing(console_workspace.connect()) as connection:
        connection.execute(
            "UPDATE ticket SET language = 'de', language_confidence = 0.97, sentiment = 'negative', "
            "sentiment_score = -0.62, sentiment_confidence = 0.8, intent = ?, intent_confidence = 0.84 WHERE id = ?",
            ("[@click=app.quit]refund\x1b[2J", ticket_id),
        )
        connection.commit()
    app = make_app()
    async with app.run_test(size=(200, 44)) as pilot:
        await settle(pilot)
        queue_screen = app.screen
        assert isinstance(queue_screen, QueueScreen)
        queue = await filter_queue(pilot, app, f"number:{number}")
        assert "Sentiment" not in str(queue_screen.query_one("QueueHeader").render_line(0).text)
        await pilot.press("I")
        await settle(pilot)
        assert [c.key for c in queue.columns if c.key in ("language", "sentiment", "intent")] == [
            "language",
            "sentiment",
            "intent",
        ]
        shown = queue_text(queue)
        assert " de " in shown and "negative" in shown and "[@click=app" in shown  # cut to its column
        assert no_terminal_bytes(shown)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        header = str(app.screen.query_one("#ticket-header").render())
        assert "language de 97%" in header and "sentiment negative −0.62 80%" in header
        assert "intent [@click=app.quit]refund⟨U+001B⟩[2J 84%" in header
        # the correction path: the field menu (e) sets it by hand; the header then says so
        await pilot.press("e")
        await settle(pilot)
        await pilot.press(*"sentiment")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*"neutral")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        await until(pilot, lambda: screen.data is not None and screen.data.detail.ticket["sentiment"] == "neutral")
        await settle(pilot)
        assert "sentiment neutral" in str(screen.query_one("#ticket-header").render())
        assert "(by hand)" in str(screen.query_one("#ticket-header").render())
    # at 80 columns the triage columns give way before the status and the subject
    assert {c.key for c in layout(80, triage=True)} >= {"status", "subject", "sla"}


# --- trends ----------------------------------------------------------------------------------


async def test_trends_from_the_dashboard_open_a_cluster_in_the_queue(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    agent, mine, other = _agent_and_groups(console_workspace)
    console_workspace.set_setting("me", agent)
    for index in range(8):
        _insert_ticket(
            console_workspace,
            number=99100 + index,
            subject=HOSTILE_LABEL,
            group=mine,
            status="open",
            messages=[("customer", f"My data export is stuck at 99% and never finishes (attempt {index}).")],
            days_ago=1 + index / 4,
        )
    for index in range(8):  # a cluster of another group's tickets: never shown to this agent
        _insert_ticket(
            console_workspace,
            number=99200 + index,
            subject="Secret vault outage",
            group=other,
            status="open",
            messages=[("customer", f"The secret vault is down again, nobody can open the vault ({index}).")],
            days_ago=1 + index / 4,
        )
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TrendsScreen))
        screen = app.screen
        assert isinstance(screen, TrendsScreen)
        await until(pilot, lambda: bool(screen.trends), timeout=MODEL_WAIT)
        await settle(pilot)
        labels = [t.label for t in screen.trends]
        hostile = next(i for i, label in enumerate(labels) if "Export stuck at 99%" in label)
        text = screen_text(app)
        # the label as the engine cleaned it (escape sequences and style tags dropped); what is
        # left of the markup is drawn as text, never run
        assert no_terminal_bytes(text) and "Export stuck at 99%[/]" in text
        assert "Secret vault" not in text and all("Secret vault" not in label for label in labels)
        screen.row_list.cursor = hostile
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        queue_screen = app.screen
        assert isinstance(queue_screen, QueueScreen)
        assert queue_screen.filter_text.startswith('~"') and queue_screen.filter_text.endswith("created<7d")
        await until(pilot, lambda: (queue_screen.queue.total or 0) > 0, timeout=MODEL_WAIT)
        await settle(pilot)
        assert no_terminal_bytes(queue_text(queue_screen.queue))
        assert app.is_running and app.return_code is None


def test_an_agents_trend_counts_none_of_another_groups_tickets(console_workspace: Workspace) -> None:
    """The trends screen's figures as an agent: a topic of their group this week that another
    group wrote about for the 4 weeks before is not a "steady" trend counting that group's
    tickets — its 'in the 4 weeks before' and its ratio are of the agent's tickets alone."""
    from supportdesk.domain.write import load_actor
    from supportdesk.tui.db import ConsoleDB

    agent, mine, other = _agent_and_groups(console_workspace)
    console_workspace.set_setting("me", agent)
    topic = "The flux capacitor of my hoverboard overheats after ten minutes"
    numbers = [99300 + index for index in range(8)]
    for index, number in enumerate(numbers):
        _insert_ticket(
            console_workspace,
            number=number,
            subject="Hoverboard flux capacitor overheats",
            group=mine,
            status="open",
            messages=[("customer", f"{topic} (board {index}).")],
            days_ago=1 + index / 4,
        )
    for index in range(12):  # the same topic, another group's, in the 4 weeks before
        _insert_ticket(
            console_workspace,
            number=99400 + index,
            subject="Hoverboard flux capacitor overheats",
            group=other,
            status="open",
            messages=[("customer", f"{topic} (older board {index}).")],
            days_ago=9 + index,
        )
    with closing(console_workspace.connect(readonly=True)) as reader:
        actor = load_actor(reader, agent)
    db = ConsoleDB(console_workspace)
    try:
        db.update_vectors()
        found = db.trends(actor, limit=40)
    finally:
        db.close()
    (flux,) = [trend for trend in found if set(numbers) & set(trend.numbers)]
    assert set(flux.numbers) >= set(numbers) and not {n for n in flux.numbers if n >= 99400}
    # the other group's twelve, word for word the cluster's topic, would all count here (a
    # demo ticket of the agent's own may still fall nearest to it)
    assert flux.before < 12, f"{flux.before} tickets of the 4 weeks before counted, 12 of another group's"
    assert flux.spike


# --- launch ----------------------------------------------------------------------------------


def test_no_model_is_imported_with_the_console() -> None:
    """Every console module imported in a fresh process pulls in no model library: the models
    load in workers on first use, so launch stays as fast as before (bench/console_launch.py)."""
    import subprocess
    import sys

    code = (
        "import pkgutil, importlib, sys, supportdesk.tui as tui\n"
        "for module in pkgutil.walk_packages(tui.__path__, 'supportdesk.tui.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(' '.join(sorted(m for m in ('numpy', 'wordllama', 'lingua', 'vaderSentiment') if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
