"""What the console's assist workers cost on a workspace: ``python bench/console_assist.py -w PATH``.

Times the calls the console's thread workers make (``ConsoleDB``): the first vector-index build
(the similar panel's and the trends screen's first use; skipped when the index is complete) and
an incremental one, then per ticket over a sample of tickets with four or more messages: the
summary, the macros that fit, similar tickets for a plain agent (their groups only), and the
week's trends once. Model load is included in the first call of each and reported apart.
"""

from __future__ import annotations

import argparse
import threading
import time
from contextlib import closing
from pathlib import Path

from _timing import summary
from supportdesk.domain.write import load_actor
from supportdesk.store.workspace import Workspace
from supportdesk.tui.db import ConsoleDB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--tickets", type=int, default=50)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace)
    db = ConsoleDB(workspace)
    with closing(workspace.connect(readonly=True)) as connection:
        agent = connection.execute(
            "SELECT a.id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id WHERE a.role = 'agent' LIMIT 1"
        ).fetchone()[0]
        actor = load_actor(connection, agent)
        sample = [
            row[0]
            for row in connection.execute(
                "SELECT t.id FROM ticket t WHERE (SELECT count(*) FROM message m WHERE m.ticket_id = t.id) >= 4 "
                "ORDER BY t.rowid DESC LIMIT ?",
                (args.tickets,),
            )
        ]
    results: dict[str, object] = {}

    def run() -> None:  # the console's reads must run off the main thread (worker_only)
        started = time.perf_counter()
        db.update_vectors(lambda done, total: None)
        results["index build (first use)"] = time.perf_counter() - started
        started = time.perf_counter()
        db.update_vectors(None)
        results["index build (incremental, nothing new)"] = time.perf_counter() - started
        for name, call in (
            ("summary", lambda t: db.summary(t)),
            ("macros that fit", lambda t: db.suggest_macros(t, limit=3)),
            ("similar tickets (agent)", lambda t: db.similar_tickets(t, actor, limit=8)),
        ):
            started = time.perf_counter()
            call(sample[0])
            results[f"{name}: first call"] = time.perf_counter() - started
            samples = []
            for ticket_id in sample:
                started = time.perf_counter()
                call(ticket_id)
                samples.append((time.perf_counter() - started) * 1000)
            results[name] = samples
        started = time.perf_counter()
        found = db.trends(actor, limit=10)
        results[f"trends ({len(found)} clusters, agent)"] = time.perf_counter() - started

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    print(f"workspace {args.workspace}, {len(sample)} tickets of four or more messages")
    for name, value in results.items():
        text = summary(value) if isinstance(value, list) else f"{value * 1000:.0f} ms"  # type: ignore[operator]
        print(f"  {name}: {text}")


if __name__ == "__main__":
    main()
