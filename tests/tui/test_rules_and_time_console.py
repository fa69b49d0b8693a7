"""The rules screen edits rules (on/off, YAML with checks, new automations, run now); ``W`` logs time."""

from __future__ import annotations

from textual.widgets import TextArea

from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.forms import PromptScreen
from supportdesk.tui.screens.rule_editor import NEW_RULE, RuleEditor
from supportdesk.tui.screens.rules import RulesScreen
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.ticket_header import TicketHeader
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import open_first, rows, type_text


def _messages(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


def _rule(workspace: Workspace, name: str) -> tuple[object, ...] | None:
    found = rows(workspace, "SELECT active, events, conditions FROM trigger_rule WHERE name = ?", name)
    return tuple(found[0]) if found else None


async def test_w_logs_time_in_the_pane_and_a_bad_time_keeps_what_was_typed(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        assert isinstance(screen, TicketScreen)
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "15x oops")
        await pilot.press("enter")
        await until(pilot, lambda: any("is not a time to log" in m for m in _messages(app)))
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert app.screen.query_one("#prompt-input").value == "15x oops"  # type: ignore[attr-defined]
        app.screen.query_one("#prompt-input").value = ""  # type: ignore[attr-defined]
        await type_text(pilot, "1h 30m called the customer")
        await pilot.press("enter")
        await until(pilot, lambda: rows(console_workspace, "SELECT count(*) FROM time_entry")[0][0] == 1)
        entry = rows(console_workspace, "SELECT ticket_id, seconds, note FROM time_entry")[0]
        assert tuple(entry) == (ticket_id, 5400, "called the customer")
        await until(pilot, lambda: any("logged 1h 30m on #" in m for m in _messages(app)))
        await until(pilot, lambda: "1h 30m logged" in str(screen.query_one(TicketHeader).render()))


async def test_rules_screen_writes_a_new_automation_and_keeps_a_refused_draft(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, RulesScreen))
        await pilot.press("N")
        await until(pilot, lambda: isinstance(app.screen, RuleEditor))
        editor = app.screen
        assert editor.query_one(TextArea).text == NEW_RULE
        # broken YAML: a notification, the editor stays with the draft
        broken = NEW_RULE.replace("query: status:solved updated>4d", "query: [status:solved")
        editor.query_one(TextArea).load_text(broken)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("not valid YAML" in m for m in _messages(app)))
        assert app.screen is editor and editor.query_one(TextArea).text == broken
        # a rule the domain refuses (no time in the query): refused, still kept
        refused = NEW_RULE.replace("updated>4d", "-tag:vip")
        editor.query_one(TextArea).load_text(refused)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("no condition on time" in m for m in _messages(app)))
        await settle(pilot)
        assert app.screen is editor and editor.query_one(TextArea).text == refused
        assert _rule(console_workspace, "Close solved tickets") is None
        # escape keeps the draft for the next N
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RulesScreen))
        await pilot.press("N")
        await until(pilot, lambda: isinstance(app.screen, RuleEditor))
        assert app.screen.query_one(TextArea).text == refused
        app.screen.query_one(TextArea).load_text(NEW_RULE)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RulesScreen))
        await until(pilot, lambda: _rule(console_workspace, "Close solved tickets") is not None)
        rules = app.screen
        assert isinstance(rules, RulesScreen)
        await until(pilot, lambda: any(r["name"] == "Close solved tickets" for r in rules.rules))


async def test_rules_screen_turns_a_rule_off_edits_it_and_runs_automations(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, RulesScreen))
        rules = app.screen
        assert isinstance(rules, RulesScreen)
        await pilot.press("N")
        await until(pilot, lambda: isinstance(app.screen, RuleEditor))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any(r["name"] == "Close solved tickets" for r in rules.rules))
        index = next(i for i, r in enumerate(rules.rules) if r["name"] == "Close solved tickets")
        from supportdesk.tui.widgets.row_list import RowList

        rules.query_one(RowList).cursor = index
        await settle(pilot)
        solved = rows(console_workspace, "SELECT count(*) FROM ticket WHERE status = 'solved'")[0][0]
        await pilot.press("R")
        await until(pilot, lambda: any("automations fired on" in m for m in _messages(app)))
        closed_now = rows(console_workspace, "SELECT count(*) FROM ticket WHERE status = 'solved'")[0][0]
        assert closed_now < solved  # the demo has tickets solved more than four days ago
        await pilot.press("x")
        await until(pilot, lambda: (_rule(console_workspace, "Close solved tickets") or (1,))[0] == 0)
        await until(pilot, lambda: any("is off" in m for m in _messages(app)))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, RuleEditor))
        text = app.screen.query_one(TextArea).text
        assert "active: false" in text and "status:solved updated>4d" in text
        app.screen.query_one(TextArea).load_text(text.replace("updated>4d", "updated>7d"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "updated>7d" in str(_rule(console_workspace, "Close solved tickets")))


async def test_a_console_on_a_workspace_of_its_own_runs_the_automations(
    make_app: AppFactory, console_workspace: Workspace
) -> None:
    from supportdesk.domain import write
    from supportdesk.domain.context import SYSTEM

    write.apply(
        console_workspace,
        "rule.create",
        {
            "definition": {
                "name": "Close solved tickets",
                "when": ["scheduled"],
                "conditions": {"query": "status:solved updated>4d"},
                "actions": [{"set_status": "closed"}],
            }
        },
        actor=SYSTEM,
    )
    solved = rows(console_workspace, "SELECT count(*) FROM ticket WHERE status = 'solved'")[0][0]
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert app.sync_status.local
        app.run_automations()  # what the console's timer calls every few minutes
        await until(pilot, lambda: rows(console_workspace, "SELECT count(*) FROM ticket WHERE status = 'solved'")[0][0]
                    < solved)  # fmt: skip
        app.run_automations()
        await settle(pilot)
        await until(pilot, lambda: not [w for w in app.workers if w.group in ("automations", "write") and w.is_running])
        twice = rows(
            console_workspace,
            "SELECT count(*) FROM (SELECT entity_id FROM audit_event WHERE field = 'automation.fired' "
            "GROUP BY entity_id HAVING count(*) > 1)",
        )[0][0]
        assert twice == 0  # each ticket fired on once


def test_the_rule_editor_refuses_aliases_huge_drafts_and_non_rules() -> None:
    import pytest

    from supportdesk.tui.screens.rule_editor import parse_rule_yaml, rule_yaml

    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nname: *b\n"
    with pytest.raises(ValueError, match="aliases"):
        parse_rule_yaml(bomb)
    with pytest.raises(ValueError, match="longer than"):
        parse_rule_yaml("name: " + "x" * 200_000)
    with pytest.raises(ValueError, match="a rule is a mapping"):
        parse_rule_yaml("- just\n- a list\n")
    with pytest.raises(ValueError, match=r"not valid YAML \(line 2, column 1\)"):
        parse_rule_yaml("name: [unclosed\n")
    rule = {"id": "x", "name": "R", "when": ["created"], "conditions": {}, "actions": [{"auto_reply": "a\nb"}]}
    assert parse_rule_yaml(rule_yaml(rule)) == {k: v for k, v in rule.items() if k != "id"}
