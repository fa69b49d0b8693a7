"""PostgreSQL: writer A takes its seq, writer B commits, A commits late — no puller skips A's change.

The seq comes from the counter row locked as the last step of the write transaction, so B cannot
even take its seq (let alone commit) until A has committed: seq order is commit order. The two
writers touch different tickets, so the counter row is the only thing they share.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Connection, text

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as, run_mutation
from supportdesk.server.changes import take_seq, write_records
from supportdesk.server.db import ServerDatabase
from tests.live import LOADED_MACHINE_TIMEOUT, Deployment


def waiting_on_lock(db: ServerDatabase, holder: Connection) -> list[int]:
    """The backends PostgreSQL says are blocked by ``holder`` — polled until one is, not slept for."""
    holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
    deadline = time.monotonic() + LOADED_MACHINE_TIMEOUT
    with db.engine.connect() as watcher:
        while time.monotonic() < deadline:
            blocked = (
                watcher.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"),
                    {"holder": holder_pid},
                )
                .scalars()
                .all()
            )
            watcher.rollback()
            if blocked:
                return list(blocked)
            time.sleep(0.05)
    return []


def test_a_late_committing_writer_is_never_skipped_by_a_puller(pg_deployment: Deployment) -> None:
    db = pg_deployment.team.db
    tickets = [
        apply_as(db, SYSTEM, "ticket.create", {"subject": f"T{n}", "body": "x", "requester": {"value": f"{n}@x.test"}})[
            0
        ]["ticket_id"]
        for n in (1, 2)
    ]
    with pg_deployment.api("sam") as client:
        start = client.get("/v1/pull", params={"cursor": 0, "limit": 5000}).json()["cursor"]
        b_done: list[float] = []
        with db.engine.connect() as writer_a:
            transaction = writer_a.begin()
            applied = run_mutation(writer_a, SYSTEM, "ticket.note", {"ticket_id": tickets[0], "body": "A"}, "test:a")
            assert applied.error is None
            a_seq = take_seq(writer_a, len(applied.records))
            write_records(writer_a, applied.records, a_seq)

            def writer_b() -> None:
                apply_as(db, SYSTEM, "ticket.note", {"ticket_id": tickets[1], "body": "B"})
                b_done.append(time.monotonic())

            thread = threading.Thread(target=writer_b)
            thread.start()
            blocked_by = waiting_on_lock(db, writer_a)
            assert thread.is_alive() and blocked_by, "writer B must wait for A's lock on the counter row"
            assert client.get("/v1/pull", params={"cursor": start}).json()["changes"] == []
            a_committed = time.monotonic()
            transaction.commit()
        thread.join(30)
        assert b_done and b_done[0] > a_committed
        page = client.get("/v1/pull", params={"cursor": start}).json()
    seqs = [change["seq"] for change in page["changes"]]
    bodies = [c["data"]["body"] for c in page["changes"] if c["entity"] == "message"]
    assert bodies == ["A", "B"]
    assert seqs == list(range(start + 1, start + 1 + len(seqs)))
    assert seqs[len(applied.records) - 1] == a_seq
