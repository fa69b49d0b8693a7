"""The dashboard shows exactly what ``build_report`` computes; the rules screen lists the rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from supportdesk.domain.metrics import build_report, series
from supportdesk.store.routing import routing_rules
from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.dashboard import CHARTS, DashboardScreen, figure
from supportdesk.tui.screens.rules import RulesScreen
from supportdesk.tui.widgets.bar_chart import BarChart
from supportdesk.tui.widgets.row_list import RowList
from tests.conftest import DEMO_NOW
from tests.tui.conftest import AppFactory, settle, until

#: Ages, countdowns and charts depend on the date: CI runs these a year ahead too.
pytestmark = pytest.mark.calendar


async def test_the_dashboard_shows_the_report(make_app: AppFactory, console_workspace: Workspace) -> None:
    since = DEMO_NOW - timedelta(days=30)
    with console_workspace.reading() as connection:
        by_day = build_report(connection, since=since, until=DEMO_NOW, by="day")
        overall = build_report(connection, since=since, until=DEMO_NOW).rows[0]
        by_agent = build_report(connection, since=since, until=DEMO_NOW, by="agent")
        by_channel = build_report(connection, since=since, until=DEMO_NOW, by="channel")
    assert overall["created"] > 20 and len(by_day.rows) > 20  # enough history for the test to mean something

    app = make_app()
    async with app.run_test(size=(150, 50)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: screen.trend is not None and screen.table is not None)
        await settle(pilot)

        for chart in CHARTS:
            drawn = screen.query_one(f"#chart-{chart.metric}", BarChart).points
            assert drawn == series(by_day, chart.metric), chart.metric
        headline = str(screen.query_one("#dash-headline").render())
        for name, key in (("created", "created"), ("solved", "solved"), ("backlog", "backlog")):
            assert f"{name} {figure(overall[key])}" in headline
        assert f"SLA met {figure(overall['sla_attainment_pct'])}%" in headline
        assert f"{figure(overall['created'])} in all" in str(screen.query_one("#caption-created").render())

        table = str(screen.query_one("#dash-table").render()).splitlines()
        assert table[0].split()[:4] == ["agent", "created", "solved", "backlog"]
        assert len(table) == len(by_agent.rows) + 1
        for line, row in zip(table[1:], by_agent.rows, strict=True):
            name = row["agent"][:22]
            assert line.startswith(name)
            cells = line[len(name) :].split()
            assert cells[:4] == [
                figure(row["created"]),
                figure(row["solved"]),
                figure(row["backlog"]),
                figure(row["first_reply_median_m"]),
            ]

        await pilot.press("c")
        await until(pilot, lambda: screen.by == "channel" and screen.table is not None and screen.table.by == "channel")
        await settle(pilot)
        table = str(screen.query_one("#dash-table").render()).splitlines()
        assert [line.split()[0] for line in table[1:]] == [row["channel"] for row in by_channel.rows]

        await pilot.press("escape")
        assert not isinstance(app.screen, DashboardScreen)


async def test_the_dashboard_is_in_the_command_palette(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"dashboard")
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_the_rules_screen_lists_every_rule_in_order(make_app: AppFactory, console_workspace: Workspace) -> None:
    with console_workspace.reading() as connection:
        rules = routing_rules(connection)
    assert len(rules) >= 3
    app = make_app()
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        screen = app.screen
        assert isinstance(screen, RulesScreen)
        await settle(pilot)
        listed = [str(row) for row in screen.query_one(RowList).rows]
        assert len(listed) == len(rules)
        for row, rule in zip(listed, rules, strict=True):
            assert row.split()[0] == str(rule["position"])
            assert rule["name"] in row
        await pilot.press("down")
        await settle(pilot)
        detail = str(screen.query_one("#rule-detail").render())
        second = rules[1]
        assert detail.splitlines()[0] == second["name"]
        for action in second["actions"]:
            for name in action:
                assert f"  {name}" in detail
        await pilot.press("escape")
        assert not isinstance(app.screen, RulesScreen)
