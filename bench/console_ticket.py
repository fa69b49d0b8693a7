"""Opening a ticket with 200 messages: key to the frame that shows its timeline.

    .venv/bin/python bench/console_ticket.py --source /work/bench-data/1m --copy /tmp/bench-tui-1m

The benchmark writes (200 messages into one open ticket, and the console marks tickets seen),
so it works on a copy of the workspace (made once with SQLite's backup API, then reused). The
messages are inserted with sqlite3 — the documented bulk exception — with bodies of 2–40 lines
and quoted email history, the shapes the timeline folds.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from console_pty import Console, percentile
from supportdesk.store.ids import uuid7
from supportdesk.store.times import to_db, utcnow
from supportdesk.store.workspace import DB_NAME, Workspace

MESSAGES = 200


def copy_workspace(source: Path, target: Path) -> None:
    if (target / DB_NAME).exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    (target / "attachments").mkdir(exist_ok=True)
    started = time.perf_counter()
    with sqlite3.connect(source / DB_NAME) as src, sqlite3.connect(target / DB_NAME) as dst:
        src.backup(dst, pages=65536)
    print(f"copied {source} to {target} in {time.perf_counter() - started:.0f} s")


def long_ticket(workspace: Workspace) -> tuple[int, int]:
    """An open ticket holding at least MESSAGES messages (adding them the first time)."""
    connection = workspace.connect()
    try:
        row = connection.execute(
            "SELECT t.number, count(m.id) FROM ticket t JOIN message m ON m.ticket_id = t.id "
            "WHERE t.number = (SELECT max(number) FROM ticket WHERE status = 'open' AND channel = 'email') "
            "GROUP BY t.id"
        ).fetchone()
        number, count = row
        if count >= MESSAGES:
            return number, count
        ticket_id, requester = connection.execute(
            "SELECT id, requester_id FROM ticket WHERE number = ?", (number,)
        ).fetchone()
        rng = random.Random(3)
        start = utcnow().timestamp() - MESSAGES * 600
        rows = []
        for index in range(MESSAGES):
            customer = index % 2 == 0
            lines = [
                f"Line {n} of message {index}: the export still stops at row {rng.randint(1, 9999)}."
                for n in range(rng.randint(2, 40))
            ]
            if customer and index > 0:
                lines += ["", "On Mon, 3 Nov 2026 at 10:00, Support wrote:"] + [f"> quoted {n}" for n in range(20)]
            when = to_db(utcnow().fromtimestamp(start + index * 600, tz=utcnow().tzinfo))
            rows.append(
                (
                    uuid7(),
                    ticket_id,
                    "email",
                    "inbound" if customer else "outbound",
                    1 if customer or index % 5 else 0,
                    "customer" if customer else "agent",
                    requester if customer else None,
                    "\n".join(lines),
                    "{}",
                    when,
                )
            )
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_customer_id, body, "
            "meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
        return number, count + MESSAGES
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/work/bench-data/1m"))
    parser.add_argument("--copy", type=Path, default=Path(tempfile.gettempdir()) / "bench-tui-1m")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    copy_workspace(args.source, args.copy)
    number, count = long_ticket(Workspace(args.copy))
    print(f"ticket #{number} has {count} messages")
    opened: list[float] = []
    config = Path(tempfile.mkdtemp()) / "config.toml"
    config.write_text('[console]\nstart_view = "All open"\n')
    with Console(args.copy, env={"SUPPORTDESK_CONFIG": str(config)}) as console:
        console.drain(2.0, most=10)
        console.open_filter(f"number:{number}")
        console.send("enter")
        console.wait_for(f"{number} ", timeout=30)
        console.drain(0.5)
        for run in range(args.runs):
            sent = console.send("enter")
            at = console.wait_for(f"{count} messages", timeout=30)
            opened.append(at - sent)
            print(f"  run {run + 1}: {opened[-1] * 1000:.1f} ms")
            console.drain(0.5)
            console.send("escape")
            console.drain(0.5)
    ms = [v * 1000 for v in opened]
    print(
        f"open a ticket with {count} messages, {len(ms)} times: p50 {percentile(ms, 50):.1f} ms, "
        f"p95 {percentile(ms, 95):.1f} ms, max {max(ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
