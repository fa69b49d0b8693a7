"""A TCP proxy between sync clients and team servers that loses, cuts and delays traffic.

It stands where a load balancer would: each connection goes to one of the live upstream
servers (a dead one is skipped, as a health-checking balancer would), so two server processes on
one database serve one team. What happens to each request is drawn from a seeded generator:

- ``pass``: forwarded as it is;
- ``delay``: the request held for a while (10–400 ms by default) before it goes on;
- ``slow``: the answer held as long (a slow answer lets a round that started later finish first);
- ``stall``: both, the request held half as long as its answer;
- ``refuse``: the connection is reset before the server sees the request;
- ``lose``: the server gets the request and answers, the answer is thrown away and the
  connection reset (the server committed, the client never hears: the classic lost
  acknowledgement);
- ``cut``: the answer is cut after a few bytes (headers half sent, a body cut short).

A "request" is a chunk of bytes from the client; HTTP/1.1 requests of the sync protocol are small
enough to arrive in one. The proxy never looks inside them.
"""

from __future__ import annotations

import contextlib
import random
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

FAULTS = ("delay", "slow", "stall", "refuse", "lose", "cut")


@dataclass
class Weather:
    """How often each fault strikes (the rest passes)."""

    delay: float = 0.0
    slow: float = 0.0
    stall: float = 0.0
    refuse: float = 0.0
    lose: float = 0.0
    cut: float = 0.0

    @classmethod
    def calm(cls) -> Weather:
        return cls()

    @classmethod
    def stormy(cls, rng: random.Random) -> Weather:
        return cls(
            delay=rng.uniform(0.02, 0.15),
            slow=rng.uniform(0.02, 0.15),
            refuse=rng.uniform(0.0, 0.08),
            lose=rng.uniform(0.0, 0.12),
            cut=rng.uniform(0.0, 0.08),
        )

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        for name in FAULTS:
            roll -= getattr(self, name)
            if roll < 0:
                return name
        return "pass"


def _reset(sock: socket.socket) -> None:
    """Close with a RST, as a crashed peer or a dropped NAT entry would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultyProxy:
    """Listens on 127.0.0.1; ``url`` is what clients are given instead of a server's."""

    def __init__(
        self,
        upstreams: Sequence[int],
        seed: int,
        *,
        delays: tuple[float, float] = (0.01, 0.4),
        only: bytes | None = None,
    ) -> None:
        """``only``: strike only requests starting with these bytes (``b"GET /v1/pull"``)."""
        self.upstreams = list(upstreams)
        self.delays = delays
        self.only = only
        self.rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.weather = Weather.calm()
        self.counts: Counter[str] = Counter()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="faulty-proxy", daemon=True)
        self._thread.start()

    def reseed(self, seed: int) -> None:
        with self._rng_lock:
            self.rng = random.Random(seed)
            self.counts = Counter()

    def _draw(self) -> tuple[str, float, int]:
        with self._rng_lock:
            fault = self.weather.draw(self.rng)
            self.counts[fault] += 1
            return fault, self.rng.uniform(*self.delays), self.rng.randrange(1, 200)

    def cut_all(self) -> None:
        """Reset every open connection (the balancer restarted)."""
        with self._lock:
            open_now = list(self._connections)
        for sock in open_now:
            _reset(sock)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut_all()

    # --- plumbing ------------------------------------------------------------------------------

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), name="faulty-proxy-conn", daemon=True).start()

    def _connect_upstream(self) -> socket.socket | None:
        with self._rng_lock:
            order = self.upstreams[:]
            self.rng.shuffle(order)
        for port in order:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect_upstream()
        if upstream is None:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._connections.update((client, upstream))
        try:
            self._pump(client, upstream)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(client)
                self._connections.discard(upstream)
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, "up")
        selector.register(upstream, selectors.EVENT_READ, "down")
        answer = "pass"  # what happens to the answer of the last request
        allowance, delay = 0, 0.0
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.5):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if key.data == "up":
                        fault, delay, allowance = self._draw()
                        if self.only is not None and not data.startswith(self.only):
                            fault = "pass"
                        if fault == "refuse":
                            _reset(client)
                            _reset(upstream)
                            return
                        if fault in ("delay", "stall"):
                            time.sleep(delay / 2 if fault == "stall" else delay)
                        answer = fault
                        upstream.sendall(data)
                    elif answer == "lose":
                        _reset(client)
                        _reset(upstream)
                        return
                    elif answer == "cut":
                        client.sendall(data[:allowance])
                        _reset(client)
                        _reset(upstream)
                        return
                    else:
                        if answer in ("slow", "stall"):
                            time.sleep(delay)
                            answer = "pass"
                        client.sendall(data)
        finally:
            selector.close()
