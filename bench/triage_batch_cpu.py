"""The server's triage CPU per ticket, in process: ``ServerTriage.triage_many`` over batches.

Usage: python bench/triage_batch_cpu.py [--tickets 640] [--batch 32] [--profile]

Creates ``--tickets`` tickets (five texts in four languages, a new requester each, as
``rest_creates.py`` does) in a fresh SQLite server database, then triages them in batches of
``--batch`` the way the server's worker does — read the texts, run the models, write
``ticket.triage`` in one transaction — and prints the CPU (user + system, every thread of the
process) and the wall time per ticket. The models are loaded before the clock starts. On a
machine shared with other work, compare the CPU figure turn about with another tree
(``PYTHONPATH=/tmp/other/src``); ``--profile`` prints cProfile's cumulative table instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from supportdesk.domain.context import SYSTEM
from supportdesk.server import assist
from supportdesk.server.app import create_app
from supportdesk.server.db import open_database

SUBJECTS = ["Payment failed for order", "Doppelte Abbuchung", "Export question", "Cannot log in", "Remboursement"]
BODIES = [
    "The card was declined.",
    "Sie haben mir den Betrag zweimal abgebucht!",
    "How do I export a report to CSV?",
    "I reset my password and still cannot log in, this is awful",
    "Je voudrais un remboursement de ma commande.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=640)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(str(Path(folder) / "server.db"))
        try:
            state = create_app(database).state.server
            triage = assist.install(state)
            triage.current().triage("warm up", ["load every model now"])
            ids = []
            for n in range(options.tickets):
                args = {
                    "subject": f"{SUBJECTS[n % 5]} {n}",
                    "body": BODIES[n % 5],
                    "requester": {"value": f"c{n}@bench.test"},
                }
                ids.append(str(state.apply_as(SYSTEM, "ticket.create", args)[0]["ticket_id"]))
            batches = [ids[start : start + options.batch] for start in range(0, len(ids), options.batch)]
            profile = cProfile.Profile() if options.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profile is not None:
                profile.enable()
            for batch in batches:
                triage.triage_many(batch)
            if profile is not None:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
                return
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            database.dispose()
    per = 1000 / options.tickets
    print(f"triage_many: {cpu * per:.3f} ms CPU a ticket, {wall * per:.3f} ms wall; batches of {options.batch}")


if __name__ == "__main__":
    main()
