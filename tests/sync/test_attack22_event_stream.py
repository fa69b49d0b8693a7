"""attack22: the event stream's 1 MiB bound (attack21, 2cb1441) against a line sent a byte at a
time.

The bound kept the console's memory to about 1 MiB, but every chunk of an unfinished line was
joined to all that came before and the whole of it split again: a line trickled one character
per chunk cost work quadratic in its length — about 8 s of CPU for the first 80,000 characters
and some twenty minutes for the 1 MiB the bound lets through, on the console's sync thread,
holding the interpreter the screen draws with. A hostile server or proxy could send that after
every reconnect. Now each chunk is looked at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from supportdesk.sync.client import EVENT_MAX, ServerClient, _lines
from supportdesk.sync.errors import SyncError

#: CPU seconds the whole trickled megabyte may take (linear work: a second or two; before: ~25 min)
BUDGET = 60.0


def trickled(head: str, count: int, started: float) -> Iterator[str]:
    yield head
    for index in range(count):
        if index % 4096 == 0 and time.process_time() - started > BUDGET:
            raise AssertionError(f"{index:,} one-character chunks took more than {BUDGET:.0f} s of CPU")
        yield "x"


def test_attack22_a_line_sent_a_character_at_a_time_is_refused_in_linear_time() -> None:
    started = time.process_time()
    with pytest.raises(SyncError, match="larger than"):
        for _line in _lines(trickled("event: poke\ndata: ", EVENT_MAX + 10, started), "http://hostile.example"):
            pass


def test_attack22_lines_split_anywhere_read_as_before() -> None:
    text = "event: a\r\ndata: 1\r\rdata: 2\n\n: k\r\n\r\nlast"
    for size in (1, 2, 3, 5, len(text)):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        assert list(_lines(iter(chunks), "u")) == ["event: a", "data: 1", "", "data: 2", "", ": k", "", "last"], size
    assert list(_lines(iter(["a\r", "", "\nb\r"]), "u")) == ["a", "b"]


def test_attack22_an_event_trickled_through_the_client_still_arrives() -> None:
    body = [bytes([b]) for b in b'event: poke\ndata: {"seq": 3}\n\n']

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(body))

    client = ServerClient("http://hostile.example", "token", transport=httpx.MockTransport(answer))
    with client:
        events = list(client.events(records=True))
    assert ("poke", {"seq": 3}) in events
