"""The CLI's edge, end to end: a user's mistake is its sentence, our bug one line that says so."""

from __future__ import annotations

import pytest

from tests.cli.conftest import CLI


def test_a_bug_inside_a_command_is_one_line_and_exit_4(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    import supportdesk.store.reads

    def broken(*_args: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'id'")

    monkeypatch.setattr(supportdesk.store.reads, "resolve_ticket", broken)
    monkeypatch.delenv("SUPPORTDESK_DEBUG", raising=False)
    result = cli("tickets", "show", "1")
    assert result.code == 4
    assert result.stderr.count("\n") == 1
    assert "unexpected AttributeError" in result.stderr and "a bug in supportdesk" in result.stderr
    monkeypatch.setenv("SUPPORTDESK_DEBUG", "1")
    debug = cli("tickets", "show", "1")
    assert "Traceback (most recent call last)" in debug.stderr


def test_a_user_mistake_is_its_sentence(cli: CLI) -> None:
    result = cli("tickets", "list", "-q", "status:bogus")
    assert result.code == 2
    assert result.stderr.startswith("supportdesk: error: 'bogus' is not a status")
    assert "bug" not in result.stderr
