"""``supportdesk`` commands as real processes, forked from one that has already imported them.

The fault harness starts dozens of ``supportdesk sync`` processes per seed and SIGKILLs some; on
a loaded two-core machine each fresh interpreter spent over a second importing before it did
anything. This process imports the CLI and the sync layer once (and nothing else: no thread, no
connection, no clock read), then for each request forks a child that runs the very entry point
of the ``supportdesk`` command with the given arguments, environment and log file. Children are
ordinary processes: they can be signalled, and their exit codes are reported.

Protocol (JSON lines): the harness writes ``{"argv": [...], "env": {...}, "log": PATH}``, the
zygote answers ``{"pid": N}``, and later ``{"exit": N, "code": C}`` (C negative: killed by -C).
``{"kill": N, "signal": S}`` signals child N — sent by the zygote, which knows whether N is still
its unreaped child, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, TextIO


def _child(request: dict[str, Any]) -> None:
    os.environ.update(request.get("env") or {})
    from supportdesk.store import times

    times.set_clock(None)  # read SUPPORTDESK_NOW afresh
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    sys.argv = ["supportdesk", *request["argv"]]
    code = 0
    try:
        from supportdesk.cli.main import run

        run()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)


def _reap(out: TextIO, children: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        out.write(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}) + "\n")
        out.flush()


def serve() -> None:
    import supportdesk.cli.main
    import supportdesk.cli.server
    import supportdesk.sync.attach
    import supportdesk.sync.bootstrap
    import supportdesk.sync.engine  # noqa: F401

    # Requests are read from the raw descriptor and split here: with ``sys.stdin.readline()`` two
    # lines written back to back (a kill, then a run) were both pulled into Python's buffer, select
    # saw the descriptor drained, and the second request waited for a third that never came.
    request_fd, out = sys.stdin.fileno(), sys.stdout
    pending = b""
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([request_fd], [], [], 0.05)
        _reap(out, children)
        if not ready:
            continue
        chunk = os.read(request_fd, 65536)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            _handle(json.loads(line), out, children)


def _handle(request: dict[str, Any], out: TextIO, children: set[int]) -> None:
    if "kill" in request:
        if int(request["kill"]) in children:
            os.kill(int(request["kill"]), int(request["signal"]))
        return
    pid = os.fork()
    if pid == 0:
        _child(request)
    children.add(pid)
    out.write(json.dumps({"pid": pid}) + "\n")
    out.flush()


class Zygote:
    """The harness's side: start commands, kill them, wait for them."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        self._lock = threading.Lock()
        self._pids: list[int] = []
        self._exits: dict[int, int] = {}
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="zygote-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            with self._changed:
                if "pid" in message:
                    self._pids.append(int(message["pid"]))
                else:
                    self._exits[int(message["exit"])] = int(message["code"])
                self._changed.notify_all()
        with self._changed:  # the zygote is gone: a waiting run() must not wait out its timeout
            self._closed = True
            self._changed.notify_all()

    def run(self, argv: list[str], env: dict[str, str], log: Path) -> Forked:
        assert self.process.stdin is not None
        with self._lock, self._changed:
            before = len(self._pids)
            self.process.stdin.write(json.dumps({"argv": argv, "env": env, "log": str(log)}) + "\n")
            self.process.stdin.flush()
            # generous: on a two-core machine at load 50 a niced zygote may wait minutes for the CPU
            forked = self._changed.wait_for(lambda: len(self._pids) > before or self._closed, timeout=600)
            if not forked or len(self._pids) == before:
                raise RuntimeError(f"the zygote did not fork (exit code {self.process.poll()})")
            return Forked(self, self._pids[before])

    def signal(self, pid: int, signal_number: int) -> None:
        assert self.process.stdin is not None
        with self._lock:
            self.process.stdin.write(json.dumps({"kill": pid, "signal": signal_number}) + "\n")
            self.process.stdin.flush()

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits, timeout=timeout)
            return self._exits.get(pid)

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Forked:
    """One command forked by the zygote (the parts of ``subprocess.Popen`` the harness uses)."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid

    def poll(self) -> int | None:
        return self.zygote.exit_code(self.pid, 0)

    def wait(self, timeout: float | None = None) -> int:
        code = self.zygote.exit_code(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
        return code

    def send_signal(self, signal_number: int) -> None:
        self.zygote.signal(self.pid, signal_number)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    serve()
