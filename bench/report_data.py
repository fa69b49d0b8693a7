"""A workspace holding only what reports read, at demo scale: ``python bench/report_data.py PATH -n 1000000``.

``supportdesk demo --tickets 1000000`` takes 12 minutes of CPU (messages, search index, audit
trail); ``supportdesk report`` reads none of that, only ``ticket_timing``, ``survey``,
``handle_time``, ``time_entry`` and the agent and group names. This writes those tables directly,
shaped like the demo's (three years of tickets, 5 groups, 24 agents, 5 channels, ~9 % unsolved
with running clocks, 1 handle-time record per ticket, a survey answer for a quarter of them,
lognormal first-reply and resolution times), then builds the rollup as a bulk load does. Its
"now" is 2026-11-25 12:00 UTC: time it with ``bench/report.py --now 2026-11-25T12:00:00Z``. The
``ticket`` rows themselves are left out (foreign keys are off while loading): figures measured
here are the report's reading cost, not the demo's.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supportdesk.domain.timing import INSERT_TIMING
from supportdesk.store.bulk import bulk_load
from supportdesk.store.times import to_db
from supportdesk.store.workspace import Workspace

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNELS = ("email", "web", "chat", "phone", "social")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("-n", "--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tickets = args.tickets
    rng = random.Random(args.seed)
    Workspace.open(args.path).close()
    connection = sqlite3.connect(args.path / "supportdesk.db", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("BEGIN IMMEDIATE")
    groups = [(str(uuid.UUID(int=rng.getrandbits(128))), f"Group {n}") for n in range(5)]
    agents = [(str(uuid.UUID(int=rng.getrandbits(128))), f"Agent {n}") for n in range(24)]
    stamp = to_db(NOW)
    connection.executemany(
        "INSERT INTO groups (id, name, email, description, created_at, updated_at) VALUES (?, ?, NULL, '', ?, ?)",
        [(g, name, stamp, stamp) for g, name in groups],
    )
    connection.executemany(
        "INSERT INTO agent (id, name, email, role, active, created_at, updated_at) VALUES (?, ?, ?, 'agent', 1, ?, ?)",
        [(a, name, f"{a}@example.com", stamp, stamp) for a, name in agents],
    )
    with bulk_load(connection, ("ticket_timing", "handle_time", "survey")):
        _fill(connection, rng, tickets, groups, agents)
    connection.execute("COMMIT")
    print(f"{tickets:,} tickets' report rows in {args.path}")


def _fill(
    connection: sqlite3.Connection,
    rng: random.Random,
    tickets: int,
    groups: list[tuple[str, str]],
    agents: list[tuple[str, str]],
) -> None:
    span = 3 * 365 * 86400
    timings, handles, surveys = [], [], []
    for number in range(tickets):
        ticket_id = str(uuid.UUID(int=rng.getrandbits(128)))
        created = NOW - timedelta(seconds=span * (1 - (number / tickets) ** 0.7))
        group = rng.choice(groups)[0]
        assignee = rng.choice(agents)[0] if rng.random() < 0.97 else None
        first = int(rng.lognormvariate(7.5, 1.2)) if rng.random() < 0.95 else None
        unsolved = (created > NOW - timedelta(days=60) and rng.random() < 0.3) or rng.random() < 0.01
        resolution = None if unsolved else int(rng.lognormvariate(10.5, 1.3))
        solved_at = None if resolution is None else min(created + timedelta(seconds=resolution), NOW)
        replies = rng.choice((1, 1, 1, 2, 2, 3, 4))
        reopens = 1 if rng.random() < 0.08 else 0
        due = created + timedelta(hours=rng.choice((1, 4, 8, 24))) if unsolved else None
        timings.append(
            (
                ticket_id,
                to_db(created),
                to_db(solved_at) if solved_at else None,
                to_db(solved_at) if solved_at else None,
                rng.choice(CHANNELS),
                group,
                assignee,
                None,
                to_db(due) if due else "9999-12-31 00:00:00.000000",
                None,
                0,
                to_db(due) if due and first is None else None,
                None,
                to_db(due + timedelta(days=2)) if due else None,
                rng.choice((0, 1, 2, 2, 2)),
                rng.choice((0, 0, 0, 1)),
                first,
                replies,
                rng.randrange(0, 7200) if replies > 1 else 0,
                replies - 1,
                None if solved_at is None else int((solved_at - created).total_seconds()),
                reopens,
                0,
                json.dumps([]),
                json.dumps([]),
            )
        )
        handled = created + timedelta(seconds=rng.randrange(60, 86400))
        handles.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128))),
                ticket_id,
                assignee or agents[0][0],
                rng.randrange(30, 1800),
                to_db(min(handled, NOW)),
            )
        )
        if solved_at and rng.random() < 0.25:
            answered = min(solved_at + timedelta(hours=rng.randrange(1, 72)), NOW)
            surveys.append(
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    ticket_id,
                    to_db(solved_at),
                    to_db(answered),
                    rng.choice(("good", "good", "good", "bad")),
                    "",
                    rng.randrange(1, 8),
                    rng.randrange(0, 11),
                )
            )
        if len(timings) == 50_000:
            _flush(connection, timings, handles, surveys)
    _flush(connection, timings, handles, surveys)


def _flush(connection: sqlite3.Connection, timings: list, handles: list, surveys: list) -> None:  # type: ignore[type-arg]
    connection.executemany(INSERT_TIMING, timings)
    connection.executemany(
        "INSERT INTO handle_time (id, ticket_id, agent_id, seconds, at) VALUES (?, ?, ?, ?, ?)", handles
    )
    connection.executemany(
        "INSERT INTO survey (id, ticket_id, issued_at, answered_at, csat, comment, ces, nps) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        surveys,
    )
    timings.clear()
    handles.clear()
    surveys.clear()


if __name__ == "__main__":
    main()
