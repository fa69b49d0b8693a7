"""What PostgreSQL's search index costs a write: milliseconds per message INSERT.

Usage: python bench/pg_message_writes.py postgresql://…/db [--rounds 3]

On a database loaded by ``pg_load_demo.py``: 1,000 single-row message inserts into random
tickets, one statement each in one transaction, rolled back after each round (the database is
left as it was). On this branch every insert runs the trigger that appends the message to its
ticket's search document (migration 0027); on main it updates 0021's GIN expression index on
``message.body``. Wall time, so compare the two in turn on one machine.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

BODY = "Thanks for the quick help, the printer works again after the update. Kind regards, Alice"


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with psycopg.connect(options.url) as connection:
        tickets = [row[0] for row in connection.execute("SELECT id FROM ticket ORDER BY random() LIMIT 1000")]
        connection.rollback()
        for _ in range(options.rounds):
            started = time.perf_counter()
            for ticket_id in tickets:
                connection.execute(
                    "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, body, meta, "
                    "created_at) VALUES (%s, %s, 'email', 'inbound', true, 'customer', %s, '{}', now())",
                    (str(uuid.uuid4()), ticket_id, BODY),
                )
            elapsed = time.perf_counter() - started
            connection.rollback()
            print(f"{1000 * elapsed / len(tickets):.2f} ms per message insert; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
