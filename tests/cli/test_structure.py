"""The command line's modules import each other in one direction only."""

from __future__ import annotations

from tests.import_graph import circles, import_graph


def test_no_import_circle_in_the_cli() -> None:
    assert circles("supportdesk.cli") == []


def test_the_circles_issue_18_named_stay_open() -> None:
    graph = import_graph("supportdesk.cli")
    assert "supportdesk.cli.main" not in graph["supportdesk.cli.fast_console"]
    assert "supportdesk.cli.tickets" not in graph["supportdesk.cli.ticket_writes"]
    assert "supportdesk.cli.tickets" not in graph["supportdesk.cli.ticket_bulk"]


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    """A circle hidden in a function or under TYPE_CHECKING is a circle still (this one is real)."""
    graph = import_graph("supportdesk.cli")
    assert "supportdesk.cli.refs" in graph["supportdesk.cli.ticket_writes"]  # imported inside the commands
    assert "supportdesk.cli.session" in graph["supportdesk.cli.refs"]  # under TYPE_CHECKING
