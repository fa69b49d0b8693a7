"""attack21: the console's event stream against a server (or a proxy in between) that sends
more than any event holds.

The server's pokes carry at most 16 KB of records (``RECORDS_BYTES_MAX``) and presence a few
hundred bytes, but the client read a line, and gathered an event's ``data:`` lines, for as long
as the stream gave them: one line with no end, or ``data:`` lines with no blank line between,
grew in the console's memory until it ran out. Now a line or an event past
:data:`supportdesk.sync.client.EVENT_MAX` ends the stream with an error (the console reconnects
after its backoff), having read little more than that.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from supportdesk.sync.client import EVENT_MAX, ServerClient
from supportdesk.sync.errors import SyncError

CHUNK = 64 * 1024
CHUNKS = 1024  # 64 MB offered


class Offered:
    """A response body made of chunks, counting how many the client took."""

    def __init__(self, head: bytes, chunk: bytes, chunks: int = CHUNKS) -> None:
        self.head, self.chunk, self.chunks, self.taken = head, chunk, chunks, 0

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        for _ in range(self.chunks):
            self.taken += 1
            yield self.chunk


def client_for(body: Offered | list[bytes]) -> ServerClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(body))

    return ServerClient("http://hostile.example", "token", transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param((b"event: poke\ndata: ", b"x" * CHUNK), id="one line with no end"),
        pytest.param((b"event: poke\n", b"data: " + b"x" * (CHUNK - 7) + b"\n"), id="data lines with no blank line"),
        pytest.param((b": keep", b"-alive" * (CHUNK // 6)), id="a comment with no end"),
    ],
)
def test_attack21_an_endless_event_ends_the_stream_after_little_more_than_its_limit(shape: tuple[bytes, bytes]) -> None:
    offered = Offered(*shape)
    client = client_for(offered)
    with client, pytest.raises(SyncError, match="larger than"):
        for _event in client.events(records=True):
            pass
    assert offered.taken * CHUNK <= 2 * EVENT_MAX + CHUNK, f"read {offered.taken * CHUNK:,} bytes"


def test_attack21_events_within_the_limit_still_arrive_whatever_the_chunks() -> None:
    """\\r\\n split between two chunks, a lone \\r, a poke near the limit: parsed as before."""
    poke = {
        "from": 1,
        "seq": 2,
        "scope": "s",
        "changes": [
            {"seq": 2, "entity": "ticket", "op": "upsert", "data": {"id": "t", "subject": "y" * (EVENT_MAX // 2)}}
        ],
    }
    chunks = [
        b"event: hello\r",
        b"\ndata: {}\r\n\r",
        b"\n: keep-alive\r\n\r\n",
        b"event: poke\rdata: " + orjson.dumps(poke)[:100],
        orjson.dumps(poke)[100:] + b"\n\n",
        b'event: presence\ndata: {"a":\ndata: 1}\n\n',
    ]
    client = client_for(chunks)
    with client:
        got = list(client.events(records=True))
    assert got == [("hello", {}), ("keep-alive", {}), ("poke", poke), ("presence", {"a": 1})]
