"""attack21: ``server compact --wait`` against transactions that hold erased row versions, and
wait values that are not a number of seconds.

A transaction that has *written* (it has an xid) keeps PostgreSQL's removal horizon at its xid
even between two statements of READ COMMITTED, when ``pg_stat_activity.backend_xmin`` is NULL:
``VACUUM FULL`` then copies an erased row version into the new file as "recently dead". The
compact must wait for such a transaction as for a snapshot, and name it when it stays.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from supportdesk.server.db import ServerDatabase
from supportdesk.server.erasure import compact
from tests.cli.conftest import run_in_process
from tests.server.test_pg_search_erasure import CONTROL, NEEDLES, data_files, holding
from tests.server.test_pg_ticket_search import customer, ticket


@pytest.mark.integration
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_attack21_compact_waits_for_an_older_writing_transaction_between_statements(database: ServerDatabase) -> None:
    with database.engine.begin() as connection:
        person = customer(connection, "Zyrafina Quonkwright", "zq@example.com")
        erased = ticket(connection, "Move", person, "Ship to 17 Wobblecombe Lane")
        control = customer(connection, "Keepmecontrol Person", "keep@example.com")
        ticket(connection, "Stay", control, "Keepmecontrol writes")
    url = database.url.replace("+psycopg", "")
    with psycopg.connect(url, application_name="slow-import") as writer:
        # a write in progress (READ COMMITTED, idle between its statements): an xid, no snapshot
        assert writer.execute("SELECT txid_current()").fetchone() is not None
        holder = writer.info.backend_pid
        with database.engine.begin() as connection:  # the erasure commits while it is open
            connection.execute(text("UPDATE customer SET name = '(erased)' WHERE id = :id"), {"id": person})
            connection.execute(text("DELETE FROM identity WHERE customer_id = :id"), {"id": person})
            connection.execute(text("UPDATE message SET body = '(erased)' WHERE ticket_id = :id"), {"id": erased})
        kept = compact(database, wait=0.2)
        assert holding(data_files(url), ("quonkwright",)), "the writer's xid kept the old row version"
        assert [entry.split()[0] for entry in kept.held_by] == [str(holder)]
        writer.rollback()
    done = compact(database, wait=30)
    assert done.held_by == ()
    files = data_files(url)
    assert holding(files, (CONTROL,)), "the scan reads the right files"
    assert holding(files, NEEDLES) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1e12", "-1", "abc"])
@pytest.mark.parametrize("source", ["flag", "env"])
def test_attack21_compact_refuses_a_wait_that_is_not_a_time(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    source: str,
) -> None:
    """nan never reaches the deadline (``now >= nan`` is false) and inf never comes: with one
    transaction that never ends, the compact waited for ever. One readable line, exit 2."""
    args = ["server", "compact", "--db", str(tmp_path / "server.db")]
    if source == "flag":
        args.append(f"--wait={value}")
    else:
        monkeypatch.setenv("SUPPORTDESK_COMPACT_WAIT", value)
    result = run_in_process(capsys, monkeypatch, tuple(args), "")
    assert result.code == 2, result
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "--wait" in lines[0] and "Compacted" not in lines[0], lines


def test_attack21_compact_refuses_a_wait_that_is_not_a_time_in_code() -> None:
    """The library refuses it too (a caller other than the CLI: a scheduled job)."""
    from supportdesk.server.erasure import checked_wait

    for bad in (float("nan"), float("inf"), -1.0, 1e12):
        with pytest.raises(ValueError):
            checked_wait(bad)
    assert checked_wait(0) == 0.0 and checked_wait(60) == 60.0
