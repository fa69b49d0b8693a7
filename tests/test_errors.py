"""One error root: the user's mistakes derive from SupportdeskError; anything else is our bug,
shown at the CLI edge as one line (with its traceback only under SUPPORTDESK_DEBUG=1)."""

from __future__ import annotations

import pytest

from supportdesk.errors import SupportdeskError


@pytest.mark.parametrize(
    "name",
    [
        "supportdesk.domain.errors:DomainError",
        "supportdesk.domain.errors:NeedsConfirmation",
        "supportdesk.domain.sandbox:LimitExceeded",
        "supportdesk.domain.business_hours:CalendarError",
        "supportdesk.store.query:QueryError",
        "supportdesk.config:ConfigError",
        "supportdesk.store.workspace:WorkspaceError",
        "supportdesk.channels.errors:ChannelError",
        "supportdesk.channels.errors:SignatureError",
        "supportdesk.cli.errors:CLIError",
        "supportdesk.sync.client:SyncError",
        "supportdesk.sync.profiles:ProfileError",
    ],
)
def test_every_user_error_derives_from_the_one_root(name: str) -> None:
    import importlib

    module, _, attribute = name.partition(":")
    assert issubclass(getattr(importlib.import_module(module), attribute), SupportdeskError)


def test_a_query_error_is_still_a_value_error() -> None:
    from supportdesk.store.query import QueryError, parse

    with pytest.raises(ValueError):
        parse("status:bogus")
    assert issubclass(QueryError, ValueError)


def test_the_cli_shows_a_user_error_as_its_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    from supportdesk.cli.errors import USAGE, report
    from supportdesk.store.query import QueryError

    assert report(QueryError("'bogus' is not a status", 7)) == USAGE
    assert capsys.readouterr().err == "supportdesk: error: 'bogus' is not a status at position 8\n"


def test_the_cli_shows_our_bug_as_one_line_that_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportdesk.cli.errors import SERVER, report

    monkeypatch.delenv("SUPPORTDESK_DEBUG", raising=False)
    try:
        raise KeyError("ticket_id")
    except KeyError as error:
        assert report(error) == SERVER
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unexpected KeyError: 'ticket_id' (a bug in supportdesk" in err
    assert "SUPPORTDESK_DEBUG=1 shows the traceback" in err
    assert "Traceback" not in err


def test_supportdesk_debug_shows_the_traceback_of_our_bug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportdesk.cli.errors import report

    monkeypatch.setenv("SUPPORTDESK_DEBUG", "1")
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        report(error)
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "raise RuntimeError" in err
    assert (
        err.rstrip().splitlines()[-1]
        == "supportdesk: error: unexpected RuntimeError: boom (a bug in supportdesk, please report it)"
    )


def test_a_debug_flag_never_shows_a_traceback_for_a_user_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportdesk.cli.errors import report
    from supportdesk.domain.errors import NotFound

    monkeypatch.setenv("SUPPORTDESK_DEBUG", "1")
    report(NotFound("no ticket #9"))
    assert capsys.readouterr().err == "supportdesk: error: no ticket #9\n"
