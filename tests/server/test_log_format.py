"""Text from outside in a log record cannot forge another record or reach the terminal."""

from __future__ import annotations

import io
import logging
import pydoc
import re
from collections.abc import Iterator

import pytest

from supportdesk.server import hook_failures
from supportdesk.server.log_format import CONTINUATION
from supportdesk.server.request_log import log_config

RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ supportdesk\.")
FORGED = "done\n2026-12-07 10:00:00,000 INFO supportdesk.server.requests: forged\r\x1b[2Jwiped\x1b]52;c;Zm9v\x07"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The formatter the server's log configuration names, on a handler writing to a string,
    attached to our loggers for the test only (the process's logging is left as it was)."""
    spec = dict(log_config("info")["formatters"]["supportdesk"])
    factory = pydoc.locate(spec.pop("()"))
    assert isinstance(factory, type)
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(factory(**spec))
    ours = logging.getLogger("supportdesk")
    level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield written
    finally:
        ours.removeHandler(handler)
        ours.setLevel(level)


def _records(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(CONTINUATION)]


def test_a_failed_after_commit_step_quoting_a_client_cannot_forge_a_record(stream: io.StringIO) -> None:
    def notify(*_args: object) -> None:
        raise RuntimeError(FORGED)

    try:
        notify()
    except RuntimeError as error:
        hook_failures.report(notify, "api:req1:t", error)
    text = stream.getvalue()
    records = _records(text)
    assert len(records) == 1 and RECORD_START.match(records[0]), text
    assert "after-commit step" in records[0] and "forged" not in records[0]
    assert "Traceback" in text  # the traceback is kept, each of its lines marked as a continuation
    assert f"{CONTINUATION}2026-12-07 10:00:00,000 INFO supportdesk.server.requests: forged" in text
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "⟨U+001B⟩[2J" in text and "⟨U+0007⟩" in text


def test_an_ordinary_record_is_one_line_as_before(stream: io.StringIO) -> None:
    logging.getLogger("supportdesk.server.mail").info("mail accepted from %s", "ana@example.com")
    (line,) = stream.getvalue().splitlines()
    assert RECORD_START.match(line) and line.endswith("mail accepted from ana@example.com")
