"""The console shows an agent only what the write path lets them see, in a standalone workspace too.

A workspace that follows no server holds every group's tickets. Run as an agent (``config set
me``), the console must keep to the README's rule — the domain's ``can_access_ticket``: their
groups' tickets, ungrouped ones and their own — in the queue (rows, counts, the views' counts,
free-text search), in the ticket pane (its customer's other tickets) and wherever a ticket is
found by number; another group's ticket reads exactly like one that does not exist. An admin, or
a workspace acting as nobody, sees every ticket. Expected rows come from the admin's listing
filtered through the domain's rule, so the tests hold the console to the rule, not to its own SQL.
"""

from __future__ import annotations

import asyncio
import sqlite3

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.domain.rules import can_access_ticket
from supportdesk.domain.write import load_actor
from supportdesk.store import reads
from supportdesk.store.workspace import Workspace
from supportdesk.tui.app import SupportDeskApp
from supportdesk.tui.db import Interrupts
from supportdesk.tui.screens.forms import PromptScreen
from supportdesk.tui.screens.queue import QueueScreen
from supportdesk.tui.screens.ticket import TicketScreen
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import rows, type_text

EVERY_STATUS = "status:new,open,pending,on_hold,solved,closed"


def _as_agent(workspace: Workspace) -> tuple[str, str, str]:
    """Make the workspace act as an agent of some groups, with one ungrouped ticket and one of
    another group assigned to them; returns (agent id, a hidden ticket's id, an assigned one's id)."""
    with workspace.writing() as connection:
        agent = str(
            connection.execute(
                "SELECT a.id FROM agent a WHERE a.role = 'agent' "
                "AND EXISTS (SELECT 1 FROM agent_group g WHERE g.agent_id = a.id) ORDER BY a.email LIMIT 1"
            ).fetchone()[0]
        )
        others = "group_id NOT IN (SELECT group_id FROM agent_group WHERE agent_id = :me)"
        hidden = connection.execute(
            f"SELECT id FROM ticket WHERE {others} AND coalesce(assignee_id, '') != :me ORDER BY number",
            {"me": agent},
        ).fetchall()
        assert len(hidden) >= 3, "the demo files tickets in more than one group"
        connection.execute("UPDATE ticket SET group_id = NULL WHERE id = ?", (hidden[0][0],))
        connection.execute("UPDATE ticket SET assignee_id = ? WHERE id = ?", (agent, hidden[1][0]))
    workspace.set_setting("me", agent)
    return agent, str(hidden[2][0]), str(hidden[1][0])


def _actor(connection: sqlite3.Connection, me: str | None) -> Actor:
    return SYSTEM if me is None else load_actor(connection, me)


def _expected(workspace: Workspace, query: str, me: str | None, sort: str | None) -> list[str]:
    """The admin's whole listing of ``query``, page by page, filtered by the domain's rule."""
    with workspace.reading() as connection:
        actor = _actor(connection, me)
        plan = reads.plan_queue(query, me=me, sort=sort)
        ids: list[str] = []
        after = None
        while True:
            page = reads.queue_page(connection, plan, after=after, limit=200)
            ids.extend(row.id for row in page.rows)
            after = page.next_cursor
            if after is None:
                break
        marks = ",".join("?" * len(ids))
        found = {
            r[0]: {"group_id": r[1], "assignee_id": r[2]}
            for r in connection.execute(f"SELECT id, group_id, assignee_id FROM ticket WHERE id IN ({marks})", ids)
        }
    return [i for i in ids if can_access_ticket(actor, found[i])]


def _console_rows(app: SupportDeskApp, screen: QueueScreen) -> list[str]:
    """Every row the console's queue reads for its plan, through the console's own door (in a
    worker thread, as the queue reads them)."""
    plan = screen.queue.model.plan  # type: ignore[union-attr]
    ids: list[str] = []
    after = None
    while True:
        page, _ = app.db.queue_page(plan, after=after, limit=200, reverse=False, interrupts=Interrupts(), generation=0)
        ids.extend(row.id for row in page.rows)
        after = page.next_cursor
        if after is None:
            return ids


def _shown(screen: QueueScreen) -> list[str]:
    model = screen.queue.model
    assert model is not None
    found = [model.row(index) for index in range(model.height)]
    return [row.id for row in found if row is not None]


async def _queue_as_expected(pilot, app: SupportDeskApp, workspace: Workspace, me: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    await until(pilot, lambda: screen.queue.total == 0 or bool(_shown(screen)))
    expected = _expected(workspace, screen.query_text(), me, screen._effective_sort())
    assert screen.queue.total == len(expected)
    shown = _shown(screen)
    assert shown == expected[: len(shown)]  # the rows on the screen, in order
    assert await asyncio.to_thread(_console_rows, app, screen) == expected  # and every page after them
    return expected


async def test_an_agent_s_queue_and_counts_are_the_rule_row_for_row(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    me, hidden, assigned = _as_agent(console_workspace)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        seen_anywhere: set[str] = set()
        for view in screen.views:
            screen.show_view(view)
            await settle(pilot)
            seen_anywhere.update(await _queue_as_expected(pilot, app, console_workspace, me))
        assert hidden not in seen_anywhere
        await until(pilot, lambda: len(screen.sidebar.counts) == len(screen.views))
        for view in screen.views:
            expected = _expected(console_workspace, view.query, me, view.sort)
            assert screen.sidebar.counts[view.id] == len(expected), view.name
        # a filter with no view: every ticket the agent may see, the assigned one of another group too
        screen.show_filter(EVERY_STATUS)
        await settle(pilot)
        everything = await _queue_as_expected(pilot, app, console_workspace, me)
        assert assigned in everything and hidden not in everything


async def test_an_agent_s_sorts_and_last_row_are_the_rule(make_app: AppFactory, console_workspace: Workspace) -> None:
    """Every sort the column titles offer (the SLA one walks its own index), and ``G``: the last
    row, reached by the queue's anchors and a page read backwards, is the agent's last ticket."""
    me, hidden, _ = _as_agent(console_workspace)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        screen.show_filter(EVERY_STATUS)
        await settle(pilot)
        for key in ("updated", "priority", "sla", "subject", "requester", "group", "number"):
            for descending in (False, True):
                screen.set_sort(key, descending)
                await settle(pilot)
                found = await _queue_as_expected(pilot, app, console_workspace, me)
                assert hidden not in found, key
        screen.queue.focus()
        await pilot.press("G")
        await settle(pilot)
        await until(pilot, lambda: screen.queue.current_row is not None and screen.queue.current_row.id == found[-1])


async def test_search_does_not_reveal_another_group_s_tickets(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    me, hidden, _ = _as_agent(console_workspace)
    number, subject = rows(console_workspace, "SELECT number, subject FROM ticket WHERE id = ?", hidden)[0]
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        screen.show_filter(f"number:{number}")
        await settle(pilot)
        await until(pilot, lambda: screen.queue.total is not None)
        assert screen.queue.total == 0 and _shown(screen) == []
        # its subject's words, as free text: what the agent may see of the matches, row for row
        screen.show_filter(" ".join([word for word in subject.split() if word.isalpha()][:3]))
        await settle(pilot)
        found = await _queue_as_expected(pilot, app, console_workspace, me)
        assert hidden not in found
        assert all(row.id != hidden for row in _rows_of(screen))


async def test_a_search_by_meaning_keeps_to_the_agent_s_tickets(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """``~"…"`` (the assist engine's resolver, registered as the console's start does): the
    best matches by meaning, of the tickets the agent may see only."""
    from supportdesk.assist.query import register
    from supportdesk.store import semantic
    from tests.tui.test_assist_console import MODEL_WAIT, _agent_and_groups, _insert_ticket

    agent, mine, other = _agent_and_groups(console_workspace)
    body = "The secret vault is down again, nobody can open the vault"
    theirs, ours = (
        {
            _insert_ticket(
                console_workspace,
                number=base + index,
                subject="Secret vault outage",
                group=group,
                status="open",
                messages=[("customer", f"{body} ({base + index}).")],
            )
            for index in range(4)
        }
        for base, group in ((99300, other), (99400, mine))
    )
    register()
    try:
        for me in (None, agent):
            console_workspace.set_setting("me", me)
            app = make_app()
            async with app.run_test(size=(140, 40)) as pilot:
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, QueueScreen)
                screen.show_filter('~"secret vault outage"')
                await until(pilot, lambda s=screen: (s.queue.total or 0) > 0, timeout=MODEL_WAIT)
                await settle(pilot)
                found = set(await asyncio.to_thread(_console_rows, app, screen))
                assert ours & found, me  # the search found the agent's vault tickets
                if me is None:
                    assert theirs & found  # and, for whoever sees all, the other group's
                else:
                    assert not theirs & found and theirs.isdisjoint(_shown(screen))
    finally:
        semantic.set_resolver(None)


async def test_another_group_s_number_is_no_ticket_to_merge_into(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    _, hidden, _ = _as_agent(console_workspace)
    number = rows(console_workspace, "SELECT number FROM ticket WHERE id = ?", hidden)[0][0]
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        screen.show_filter(EVERY_STATUS)
        await settle(pilot)
        await until(pilot, lambda: screen.queue.current_row is not None)
        assert screen.queue.current_row is not None
        source = screen.queue.current_row.id
        for key in ("M", "L"):  # merge into it, link to it as the problem: "no ticket N" both
            app.clear_notifications()
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, PromptScreen))
            await type_text(pilot, str(number))
            await pilot.press("enter")
            await settle(pilot)
            said = [str(n.message) for n in app._notifications]
            assert said == [f"no ticket {number}"], key
            assert isinstance(app.screen, QueueScreen)  # no question about requesters
        merged, problem = rows(console_workspace, "SELECT merged_into_id, problem_id FROM ticket WHERE id = ?", source)[
            0
        ]
        assert merged is None and problem is None


async def test_the_pane_on_another_group_s_ticket_is_a_notification_and_no_content(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    _, hidden, _ = _as_agent(console_workspace)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.push_screen(app.ticket_screen(hidden))  # a stale link, a typed id: as for a missing one
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert [str(n.message) for n in app._notifications] == ["this ticket no longer exists"]
        pane = app._ticket_screen
        assert isinstance(pane, TicketScreen) and pane.data is None


def _rows_of(screen: QueueScreen) -> list[reads.QueueRow]:
    model = screen.queue.model
    assert model is not None
    return [row for row in (model.row(index) for index in range(model.height)) if row is not None]


async def test_a_ticket_moved_to_another_group_while_open_leaves_the_pane(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    """Someone (or a sync) moves the open ticket to a group the agent is not in: the pane says so
    and closes — it does not go on showing a ticket the agent may no longer see."""
    me, hidden, _ = _as_agent(console_workspace)
    other = rows(console_workspace, "SELECT group_id FROM ticket WHERE id = ?", hidden)[0][0]
    with console_workspace.reading() as connection:
        actor = load_actor(connection, me)
        ticket_id, number = next(
            (r[0], r[1])
            for r in connection.execute(
                "SELECT id, number, group_id, assignee_id FROM ticket WHERE group_id IS NOT NULL "
                "AND assignee_id IS NULL ORDER BY number"
            )
            if can_access_ticket(actor, {"group_id": r[2], "assignee_id": r[3]})
        )
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.push_screen(app.ticket_screen(ticket_id))
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        write.apply(
            console_workspace,
            "ticket.assign",
            {"ticket_id": ticket_id, "group_id": other, "assignee_id": None},
            actor=SYSTEM,
        )
        assert app.check_store()
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        said = [str(n.message) for n in app._notifications]
        assert said == [f"#{number} is out of your view now: moved to a group you are not in, or erased"]


async def test_the_customer_s_other_tickets_leave_out_another_group_s(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    me, hidden, _ = _as_agent(console_workspace)
    with console_workspace.writing() as connection:
        # a visible ticket of the hidden ticket's requester: their history crosses groups
        requester = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (hidden,)).fetchone()[0]
        actor = load_actor(connection, me)
        visible = next(
            r[0]
            for r in connection.execute("SELECT id, group_id, assignee_id FROM ticket WHERE id != ?", (hidden,))
            if can_access_ticket(actor, {"group_id": r[1], "assignee_id": r[2]})
        )
        connection.execute("UPDATE ticket SET requester_id = ? WHERE id = ?", (requester, visible))
        theirs = {r[0] for r in connection.execute("SELECT id FROM ticket WHERE requester_id = ?", (requester,))}
        allowed = {
            r[0]
            for r in connection.execute(
                "SELECT id, group_id, assignee_id FROM ticket WHERE requester_id = ?", (requester,)
            )
            if can_access_ticket(actor, {"group_id": r[1], "assignee_id": r[2]})
        }
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        app.push_screen(app.ticket_screen(visible))
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        pane = app.screen
        assert isinstance(pane, TicketScreen) and pane.data is not None and pane.data.customer is not None
        listed = {str(t["id"]) for t in pane.data.customer.tickets}
        assert hidden in theirs and listed == allowed and hidden not in listed


async def test_an_admin_and_nobody_see_every_row(make_app: AppFactory, console_workspace: Workspace) -> None:
    _, hidden, _ = _as_agent(console_workspace)
    admin = rows(console_workspace, "SELECT id FROM agent WHERE role = 'admin' ORDER BY email LIMIT 1")[0][0]
    number = rows(console_workspace, "SELECT number FROM ticket WHERE id = ?", hidden)[0][0]
    total = rows(console_workspace, "SELECT count(*) FROM ticket")[0][0]
    for me in (admin, None):
        console_workspace.set_setting("me", me)
        app = make_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, QueueScreen)
            screen.show_filter(EVERY_STATUS)
            await settle(pilot)
            everything = await _queue_as_expected(pilot, app, console_workspace, me)
            assert len(everything) == total and hidden in everything
            screen.show_filter(f"number:{number}")
            await settle(pilot)
            assert screen.queue.total == 1


def test_the_customer_picker_counts_only_the_agent_s_tickets(console_workspace: Workspace) -> None:
    """The merge picker lists customers by name with their ticket count: an agent's count is of
    the tickets they may see, as the customer's panel lists them (another group's tickets of that
    customer are not theirs to count)."""
    from supportdesk.tui.db import ConsoleDB

    me, hidden, _ = _as_agent(console_workspace)
    with console_workspace.writing() as connection:
        requester = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (hidden,)).fetchone()[0]
        connection.execute("UPDATE customer SET name = 'Zebulon Quartermaine' WHERE id = ?", (requester,))
        actor = load_actor(connection, me)
        visible = next(
            r[0]
            for r in connection.execute("SELECT id, group_id, assignee_id FROM ticket WHERE id != ?", (hidden,))
            if can_access_ticket(actor, {"group_id": r[1], "assignee_id": r[2]})
        )
        connection.execute("UPDATE ticket SET requester_id = ? WHERE id = ?", (requester, visible))
        theirs = connection.execute("SELECT id, group_id, assignee_id FROM ticket WHERE requester_id = ?", (requester,))
        allowed = [r[0] for r in theirs if can_access_ticket(actor, {"group_id": r[1], "assignee_id": r[2]})]
    db = ConsoleDB(console_workspace)
    try:
        (hit,) = db.search_customers("zebulon quart", limit=30, exclude=None)
    finally:
        db.close()
    assert hit.id == requester and hidden not in allowed
    assert hit.tickets == len(allowed), "another group's tickets of the customer were counted"
