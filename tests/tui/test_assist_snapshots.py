"""Screenshots of the console's assist: the macro panel with the macros that fit first, the
summary atop a long ticket, the similar-tickets panel, the triage columns and the trends screen —
at a wide size and at 80×24 (``--snapshot-update`` rewrites them; review the SVGs first)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from supportdesk.store.workspace import Workspace
from supportdesk.tui.screens.trends import TrendsScreen
from supportdesk.tui.widgets.side_panels import MacroPanel
from supportdesk.tui.widgets.similar_panel import SimilarPanel
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_assist_console import MODEL_WAIT, _open_number, _similar_setup
from tests.tui.test_snapshots import _all_open

pytestmark = pytest.mark.calendar

WIDE = (150, 42)
SMALL = (80, 24)


def _hide_cursor(widget: object) -> None:
    """A focused search field's blinking cursor, held hidden (see test_snapshots.test_kb_panel)."""
    widget.cursor_blink = False  # type: ignore[attr-defined]
    widget._cursor_visible = False  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["wide", "80x24"])
def test_similar_panel(snap_compare, make_app: AppFactory, console_workspace: Workspace, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    _similar_setup(console_workspace)

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await _open_number(pilot, pilot.app, 99001)
        await pilot.press("f")
        panel = screen.query_one(SimilarPanel)
        await until(pilot, lambda: bool(panel.items), timeout=MODEL_WAIT)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_summary_80x24(snap_compare, make_app: AppFactory, console_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    """On a short terminal the summary starts folded to its next step (u opens it)."""
    _similar_setup(console_workspace)

    async def run_before(pilot: Pilot[None]) -> None:
        await _open_number(pilot, pilot.app, 99001)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)


def test_summary_unfolded_80x24(snap_compare, make_app: AppFactory, console_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    _similar_setup(console_workspace)

    async def run_before(pilot: Pilot[None]) -> None:
        await _open_number(pilot, pilot.app, 99001)
        await pilot.press("u")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["wide", "80x24"])
def test_macro_panel_suggested(
    snap_compare, make_app: AppFactory, console_workspace: Workspace, size: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    _similar_setup(console_workspace)

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await _open_number(pilot, pilot.app, 99001)
        await pilot.press("m")
        panel = screen.query_one(MacroPanel)
        await until(pilot, lambda: panel.suggested is not None, timeout=MODEL_WAIT)
        await until(pilot, lambda: "Changes" in str(screen.query_one("#macro-preview").render()))
        _hide_cursor(screen.query_one("#macro-search"))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_queue_with_triage_columns(snap_compare, make_app: AppFactory, console_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    with console_workspace.connect() as connection:
        connection.execute(
            "UPDATE ticket SET language = 'de', language_confidence = 0.9, sentiment = 'negative', "
            "sentiment_score = -0.5, sentiment_confidence = 0.8, intent = 'refund', intent_confidence = 0.7 "
            "WHERE number % 3 = 0"
        )
        connection.execute(
            "UPDATE ticket SET language = 'en', sentiment = 'neutral', intent = 'login_help' WHERE number % 3 = 1"
        )

    async def run_before(pilot: Pilot[None]) -> None:
        await _all_open(pilot)
        await pilot.press("b", "I")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["wide", "80x24"])
def test_trends_screen(snap_compare, make_app: AppFactory, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(pilot.app.screen, TrendsScreen))
        screen = pilot.app.screen
        assert isinstance(screen, TrendsScreen)
        await until(pilot, lambda: bool(screen.trends), timeout=MODEL_WAIT)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
