"""A client that sends a request's headers or body too slowly is cut off after the configured
seconds (``--header-timeout``, ``--body-timeout``), tested with raw sockets against a real
uvicorn; answers that take long (an event stream) are not."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import Deployment, deploy

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 2.0


@pytest.fixture
def strict_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    # the body deadline comes from the environment, the header deadline from the flag
    monkeypatch.setenv("SUPPORTDESK_BODY_TIMEOUT", str(BODY_TIMEOUT))
    with deploy("sqlite", tmp_path, extra=["--header-timeout", str(HEADER_TIMEOUT)], keepalive=0.5) as running:
        yield running


def connect(deployment: Deployment) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", deployment.server.port), timeout=30)
    return sock


def read_until_closed(sock: socket.socket, limit: float = 30.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    received = b""
    sock.settimeout(limit)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received, time.monotonic() - started
        received += chunk


def error_of(answer: bytes) -> dict[str, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    return dict(json.loads(body)["error"])


def test_headers_that_never_finish_are_cut_after_the_header_timeout(strict_server: Deployment) -> None:
    with connect(strict_server) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer, waited = read_until_closed(sock)
    assert error_of(answer) == {
        "code": "timeout",
        "message": f"the request's headers did not arrive within {HEADER_TIMEOUT:g} s",
        "field": "headers",
    }
    assert waited >= HEADER_TIMEOUT - 0.2


def test_a_connection_that_sends_nothing_is_cut_too(strict_server: Deployment) -> None:
    with connect(strict_server) as sock:
        answer, waited = read_until_closed(sock)
    assert error_of(answer)["field"] == "headers"
    assert waited >= HEADER_TIMEOUT - 0.2


def test_a_trickling_body_is_cut_after_the_body_timeout(strict_server: Deployment) -> None:
    token = strict_server.team.tokens["sam"]
    with connect(strict_server) as sock:
        sock.sendall(
            b"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n".encode()
        )
        sent_at = time.monotonic()
        cut = False
        # one byte every 0.3 s: each arrives well within any per-read timeout, the whole never does
        while time.monotonic() - sent_at < 30:
            try:
                sock.sendall(b" ")
            except OSError:
                cut = True
                break
            sock.settimeout(0.3)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            cut = True
            answer = chunk + read_until_closed(sock)[0]
            assert error_of(answer)["field"] == "body"
            break
        assert cut, "the server kept reading the body"
        assert time.monotonic() - sent_at >= BODY_TIMEOUT - 0.2


def test_a_prompt_client_and_a_long_event_stream_are_not_cut(strict_server: Deployment) -> None:
    token = strict_server.team.tokens["sam"]
    with connect(strict_server) as sock:
        sock.sendall(f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        sock.settimeout(30)
        received = b""
        started = time.monotonic()
        # keep-alives every 0.5 s: the stream lives on well past both deadlines
        while time.monotonic() - started < HEADER_TIMEOUT + BODY_TIMEOUT + 1:
            chunk = sock.recv(65536)
            assert chunk, "the server closed a healthy event stream"
            received += chunk
        assert received.startswith(b"HTTP/1.1 200")
        assert received.count(b": keep-alive") >= 3
    with strict_server.api("sam") as client:
        assert client.get("/v1/me").status_code == 200
