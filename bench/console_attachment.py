"""Opening a cached attachment from the console: the key ``o`` to the viewer process starting.

    .venv/bin/python bench/console_attachment.py [--runs 20] [--tickets 2000]

The real console in a pseudo-terminal (:mod:`console_pty`) on a fresh demo workspace, one open
ticket whose latest message carries a PNG already in the workspace's cache. ``[console] opener``
is a shell that writes the wall-clock time it started (``date +%s.%N``) to a log — a real
process spawn, as ``xdg-open`` would be. The figure is that time minus the time the key's byte
was written to the terminal: the console reads the key, finds the file in the cache, makes the
viewer's copy (named by hash and sniffed type) and spawns the viewer from a thread worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import tempfile
import time
from pathlib import Path

from console_pty import Console, percentile
from supportdesk.demo.generator import build_demo
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.file_types import sniff
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import store_of

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def prepare(root: Path, tickets: int) -> tuple[int, str]:
    workspace = Workspace.open(root)
    try:
        build_demo(workspace, tickets=tickets, seed=5)
        with workspace.reading() as connection:
            ticket_id, number, subject = connection.execute(
                "SELECT id, number, subject FROM ticket WHERE number = "
                "(SELECT max(number) FROM ticket WHERE status = 'open' AND channel = 'email')"
            ).fetchone()
        data = PNG + os.urandom(512 * 1024)  # a half-megabyte screenshot
        stored = store_of(workspace).put_bytes(data)
        attachment = {
            "sha256": stored.sha256,
            "filename": "screenshot.png",
            "size": len(data),
            "content_type": "image/png",
            "sniffed_type": sniff(data[:8192], "image/png", "screenshot.png"),
        }
        write.apply(
            workspace,
            "ticket.receive",
            {"ticket_id": ticket_id, "body": "Screenshot attached.", "attachments": [attachment]},
            actor=SYSTEM,
        )
        return int(number), str(subject)
    finally:
        workspace.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-attach-"))
    number, subject = prepare(tmp / "ws", args.tickets)
    log = tmp / "viewer.log"
    opener = f"sh -c {shlex.quote(f'date +%s.%N >> {log}')} viewer"
    config = tmp / "config.toml"
    config.write_text(f'[console]\nstart_view = "All open"\nopener = {json.dumps(opener)}\n')
    spawned: list[float] = []
    with Console(tmp / "ws", env={"SUPPORTDESK_CONFIG": str(config)}) as console:
        console.drain(2.0, most=10)
        query = f"number:{number}"
        for _ in range(5):  # a loaded machine may drop a typed letter: type again until the query is whole
            console.send("/")
            time.sleep(0.3)
            for _ in range(len(query) + 4):
                console.send("\x7f")
                time.sleep(0.01)
            console.type(query, pause=0.05)
            try:
                console.wait_for(query, timeout=3)
                break
            except TimeoutError:
                console.send("escape")
        console.send("enter")
        console.wait_for(subject[:20], timeout=30)
        console.drain(1.0)
        console.send("enter")
        console.wait_for("Screenshot attached.", timeout=30)
        console.drain(0.5)
        for run in range(args.runs):
            before = len(log.read_text().split()) if log.exists() else 0
            wall = time.time()
            console.send("o")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                lines = log.read_text().split() if log.exists() else []
                if len(lines) > before:
                    break
                time.sleep(0.002)
            else:
                raise TimeoutError("the viewer was not started within 10 s")
            spawned.append((float(lines[-1]) - wall) * 1000)
            print(f"  run {run + 1}: {spawned[-1]:.1f} ms")
            console.drain(0.3)
    print(
        f"key o to the viewer process started, {len(spawned)} times: p50 {percentile(spawned, 50):.1f} ms, "
        f"p95 {percentile(spawned, 95):.1f} ms, max {max(spawned):.1f} ms (first {spawned[0]:.1f} ms)"
    )


if __name__ == "__main__":
    main()
