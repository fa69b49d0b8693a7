"""No two actions answer one key in one place, unless declared — the table, a user's keys, and
the console's live binding chains on every screen and every focusable widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from supportdesk.config import load_settings
from supportdesk.store.workspace import Workspace
from supportdesk.tui.actions import ACTIONS, BY_ID, CONTEXTS, SHARED, shared
from supportdesk.tui.keymap import clashes, load_user_keys
from supportdesk.tui.screens.ticket import TicketScreen
from tests.tui.conftest import AppFactory, settle, until

#: A remap and macro keys that clash with nothing, so the walk sees a user's keymap applied.
USER_CONFIG = """
[keys]
"queue.solve" = "x"
"ticket.solve" = "x"
"composer.send" = "ctrl+enter,ctrl+s"

[macro_keys]
"f5" = "Refund issued"
"f6" = "Password reset: first answer"
"""


def test_the_shipped_keymap_has_no_clash_and_every_declaration_is_used() -> None:
    assert clashes({}, {}) == []
    ids = set(BY_ID) | {"help.close"}
    for inner, outer in SHARED:
        assert inner in ids and outer in ids, (inner, outer)
    scopes = {action.scope for action in ACTIONS}
    for context in CONTEXTS:
        assert set(context.scopes) <= scopes, context


@pytest.mark.parametrize(
    ("keys", "macro_keys", "expected"),
    [
        ({"queue.solve": "a"}, {}, "a answers both queue.assign_me (Queue: Take) and queue.solve (Queue: Solve)"),
        ({}, {"s": "Refund issued"}, "s answers both ticket.solve (Ticket: Solve) and [macro_keys] s"),
        ({"composer.send": "ctrl+k"}, {}, "ctrl+k answers both composer.send"),
        ({"ticket.reply": "escape"}, {}, "escape answers both ticket.back (Ticket: Back) and ticket.reply"),
    ],
)
def test_a_users_clash_is_named_with_both_actions_and_where(
    keys: dict[str, str], macro_keys: dict[str, str], expected: str
) -> None:
    problems = load_user_keys(keys, macro_keys).problems
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_printable_key_is_no_clash_where_a_text_field_takes_it() -> None:
    """``x`` for solving is typed as a letter in the filter bar and the composer, not a clash there;
    a command key there is."""
    assert clashes({"queue.solve": "x", "ticket.solve": "x"}, {}) == []
    assert clashes({"filter.clear": "ctrl+u"}, {}) == [
        "ctrl+u answers both filter.clear (Filter bar: Clear) and queue.clear_tags (Queue: Untag all) in the "
        "filter bar: give one of them another key in [keys] or [macro_keys]"
    ]


async def test_a_clashing_user_keymap_is_reported_when_the_console_opens(
    make_app: AppFactory, console_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"queue.solve" = "a"\n')
    monkeypatch.setenv("SUPPORTDESK_CONFIG", str(config))
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        said = [str(n.message) for n in app._notifications]
        assert any(m.startswith("a answers both queue.assign_me") for m in said), said


def _ours(binding_id: str | None, action: str) -> bool:
    """A binding of our keymap: one with an id (the table's or a form's), or a macro key."""
    return binding_id is not None or action.startswith("macro_key(")


def _chain_problems(screen: Screen[None], where: str) -> list[str]:
    """Two of our actions answering one key in the focus chain, unless declared in SHARED; and a
    chain of the table's scopes that CONTEXTS does not declare."""
    problems: list[str] = []
    answering: dict[str, list[tuple[str, str]]] = {}
    scopes: list[str] = []
    for _node, bindings in screen._binding_chain:
        for key, found in bindings.key_to_bindings.items():
            for binding in found:
                if not _ours(binding.id, binding.action):
                    continue
                name = binding.id or f"macro key {key}"
                answering.setdefault(key, []).append((name, binding.action))
                action = BY_ID.get(binding.id or "")
                if action is not None and action.scope not in scopes:
                    scopes.append(action.scope)
    for key, actions in answering.items():
        for index, (inner, inner_action) in enumerate(actions):
            for outer, outer_action in actions[index + 1 :]:
                if inner_action != outer_action and not shared(inner, outer):
                    problems.append(f"{where}: {key} answers {inner} ({inner_action}) and {outer} ({outer_action})")
    declared = [set(context.scopes) for context in CONTEXTS]
    if len(scopes) > 1 and not isinstance(screen, _MODALS) and set(scopes) not in declared:
        problems.append(f"{where}: the scopes {scopes} answer together, and no Context declares them")
    return problems


async def _walk(pilot: Pilot[None], label: str) -> list[str]:
    """Focus every focusable widget of the current screen in turn and check each chain."""
    screen = pilot.app.screen
    problems = _chain_problems(screen, f"{label} (nothing focused)")
    for widget in [w for w in screen.query("*") if w.focusable and w.display]:
        widget.focus()
        await pilot.pause()
        problems += _chain_problems(screen, f"{label}, {type(widget).__name__}#{widget.id}")
    return problems


async def test_every_screen_and_widget_answers_each_key_with_one_action(
    make_app: AppFactory, console_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_CONFIG)
    monkeypatch.setenv("SUPPORTDESK_CONFIG", str(config))
    assert load_user_keys(load_settings(console_workspace.root).keys, {}).problems == []
    app = make_app()
    problems: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.user_keys.problems == []
        problems += await _walk(pilot, "queue")
        for key, label in (("w", "save-view prompt"), ("o", "sort picker"), ("c", "call form")):
            await pilot.press(key)
            await settle(pilot)
            problems += await _walk(pilot, label)
            await pilot.press("escape")
            await settle(pilot)
        app.screen.query_one("QueueView").focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
        await settle(pilot)
        problems += await _walk(pilot, "ticket")
        for key, label in (("m", "ticket with macros"), ("k", "ticket with the KB"), ("f", "ticket with similar")):
            app.screen.query_one("Timeline").focus()
            await pilot.press(key)
            await settle(pilot)
            problems += await _walk(pilot, label)
        app.screen.query_one("Timeline").focus()
        await pilot.press("r")
        await settle(pilot)
        problems += await _walk(pilot, "ticket with the composer")
        await pilot.press("escape")
        for key, label in (("e", "edit menu"), ("t", "tag prompt")):
            app.screen.query_one("Timeline").focus()
            await pilot.press(key)
            await settle(pilot)
            problems += await _walk(pilot, label)
            await pilot.press("escape")
            await settle(pilot)
        app.screen.query_one("Timeline").focus()
        await pilot.press("escape")
        await settle(pilot)
        for key, label in (("f2", "dashboard"), ("f3", "routing rules"), ("question_mark", "help")):
            await pilot.press(key)
            await settle(pilot)
            problems += await _walk(pilot, label)
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("f2")
        await pilot.press("t")
        await settle(pilot)
        problems += await _walk(pilot, "trends")
    assert problems == []


def _modal_types() -> tuple[type, ...]:
    from textual.screen import ModalScreen

    return (ModalScreen,)


_MODALS = _modal_types()
