"""What keeping SLA clocks, rules and surveys costs a write: ``python bench/sla_write.py -w PATH``.

Copies the workspace aside, then times ``ticket.reply`` on open tickets through the one write
path, with the after-mutation automation (the demo's rules, surveys) and with it switched off;
the SLA clocks are kept in both (they are part of running every mutator).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from itertools import cycle
from pathlib import Path

from _timing import measure, summary
from supportdesk.domain import automation, write
from supportdesk.store.workspace import DB_NAME, Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-w", "--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        root.mkdir()
        shutil.copy(args.workspace / DB_NAME, root / DB_NAME)
        workspace = Workspace.open(root)
        with workspace.reading() as connection:
            tickets = [
                r[0]
                for r in connection.execute(
                    "SELECT id FROM ticket WHERE status IN ('open', 'pending') LIMIT ?", (2 * args.repeat + 4,)
                )
            ]
        actor = write.workspace_actor(workspace)
        queue = cycle(tickets)

        def reply() -> None:
            write.apply(workspace, "ticket.reply", {"ticket_id": next(queue), "body": "Any news?"}, actor=actor)

        print(f"ticket.reply with clocks, rules and surveys {summary(measure(reply, repeat=args.repeat))}")
        hook = automation.after_mutation
        automation.after_mutation = lambda tx: None
        try:
            print(f"ticket.reply with clocks only              {summary(measure(reply, repeat=args.repeat))}")
        finally:
            automation.after_mutation = hook
        workspace.close()


if __name__ == "__main__":
    main()
