"""What the console needs from Textual beyond its public API — the reason for the version range
in pyproject.toml. A Textual release that drops it fails here, not on an agent's screen."""

from __future__ import annotations

import inspect

from textual.scroll_view import ScrollView

from supportdesk.tui.widgets.queue_view import QueueView


def test_the_queue_can_take_textuals_own_step_for_a_new_virtual_size() -> None:
    step = getattr(ScrollView, "_scroll_update", None)
    assert callable(step), "Textual no longer has ScrollView._scroll_update (see queue_view.py)"
    assert list(inspect.signature(step).parameters) == ["self", "virtual_size"]
    assert issubclass(QueueView, ScrollView)
