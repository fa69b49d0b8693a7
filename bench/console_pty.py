"""Run the real console in a pseudo-terminal and time what reaches the terminal.

The benchmarks of issue #3 measure from outside, the way an agent sees it: a key's bytes are
written to the terminal at time T, and the frame Textual draws in answer is read back from the
terminal; the figure is the time until the last byte of that frame (a burst of output with no
2 ms gap). Pilot's ``press``/``pause`` sleep in steps and cannot measure this.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# a benchmark stopped from outside still ends the console it started
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
KEYS = {
    "enter": b"\r",
    "escape": b"\x1b",
    "pagedown": b"\x1b[6~",
    "pageup": b"\x1b[5~",
    "down": b"\x1b[B",
    "up": b"\x1b[A",
    "ctrl+u": b"\x15",
}


def plain(data: bytes) -> str:
    """The text of terminal output, escape sequences removed."""
    return _ANSI.sub(b"", data).decode("utf-8", "replace")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Console:
    workspace: Path
    columns: int = 160
    rows: int = 48
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    master: int = -1
    started: float = 0.0

    def start(self) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", **self.env}
        env.pop("TEXTUAL", None)
        command = [sys.executable, "-m", "supportdesk", "--workspace", str(self.workspace.resolve())]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
        )
        os.close(slave)
        self.master = master

    def read_burst(self, timeout: float, gap: float = 0.002) -> tuple[bytes, float]:
        """Output until a quiet ``gap``; returns it and the time its last byte arrived."""
        data = b""
        last = time.perf_counter()
        deadline = last + timeout
        while True:
            wait = gap if data else max(deadline - time.perf_counter(), 0)
            ready, _, _ = select.select([self.master], [], [], wait)
            if not ready:
                return data, last
            try:
                chunk = os.read(self.master, 1 << 20)
            except OSError:
                return data, last
            if not chunk:
                return data, last
            data += chunk
            last = time.perf_counter()

    def drain(self, quiet: float = 0.3, most: float = 5.0) -> bytes:
        """Read until the console is quiet for ``quiet`` seconds (a blinking cursor never is:
        give up after ``most``)."""
        data = b""
        until = time.perf_counter() + most
        while time.perf_counter() < until:
            chunk, _ = self.read_burst(quiet)
            if not chunk:
                return data
            data += chunk
        return data

    def wait_for(self, text: str, timeout: float = 30.0, *, since: float | None = None) -> float:
        """Read frames until their text contains ``text``; the time the frame with it ended."""
        seen = ""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            chunk, at = self.read_burst(deadline - time.perf_counter())
            if not chunk:
                continue
            seen = (seen + plain(chunk))[-200_000:]
            if text in seen:
                return at
        tail = " ".join(seen[-1500:].split())
        raise TimeoutError(f"{text!r} did not appear within {timeout}s; the last output read: {tail}")

    def send(self, key: str) -> float:
        data = KEYS.get(key, key.encode())
        at = time.perf_counter()
        os.write(self.master, data)
        return at

    def type(self, text: str, pause: float = 0.005) -> None:
        for char in text:
            self.send(char)
            time.sleep(pause)

    def open_filter(self, query: str, *, previous: str = "") -> None:
        """``/``, erase ``previous``, type ``query`` (not yet entered). Focus moves a moment
        after ``/``, so wait before typing, as a person does, or the first letters would reach
        the queue."""
        self.send("/")
        time.sleep(0.15)
        for _ in range(len(previous) + 2):
            self.send("\x7f")
            time.sleep(0.01)
        time.sleep(0.05)
        self.type(query, pause=0.015)

    def key_to_frame(self, key: str, timeout: float = 5.0) -> float:
        """Seconds from writing ``key`` to the end of the frame drawn in answer."""
        self.drain(0.05)
        sent = self.send(key)
        data, at = self.read_burst(timeout)
        if not data:
            raise TimeoutError(f"no frame after {key!r}")
        return at - sent

    def cpu_seconds(self) -> float:
        """User + system CPU time the console has used so far (load on the machine does not
        inflate it the way it inflates wall-clock latency)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
        return kb / 1024

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.write(self.master, b"\x11")  # ctrl+q
            until = time.perf_counter() + 30
            while self.process.poll() is None and time.perf_counter() < until:
                self.read_burst(0.1)  # keep reading: a full terminal buffer would block its exit
            self.process.wait(timeout=1)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        os.close(self.master)
        self.process = None

    def __enter__(self) -> Console:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def first_row_marker(number: int | None, subject: str) -> str:
    """Text that appears when a queue row is drawn: its number and the start of its subject."""
    from supportdesk.tui.text import safe_line

    return f"{number if number is not None else '—'} {safe_line(subject)[:12]}"
