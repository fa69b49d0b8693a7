"""The whole assist feature with the network refused, in a fresh process (so every model is
loaded there, not borrowed from an earlier test), with an empty home and cache folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = r"""
import os, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args)
    raise OSError("network access is blocked in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from contextlib import closing
from pathlib import Path
from supportdesk import assist
from supportdesk.assist import library
from supportdesk.demo.generator import build_demo
from supportdesk.store.times import parse_instant
from supportdesk.store.workspace import Workspace

root = Path(sys.argv[1])
workspace = Workspace.open(root / "ws")
build_demo(workspace, tickets=300, seed=3, now=parse_instant("2026-11-25T12:00:00Z"))
with closing(workspace.connect()) as connection:
    print("loaded", sorted(assist.warm_up(("de", "en", "fr"))))
    assert assist.build_index(connection).embedded > 300
    ticket_id = connection.execute("SELECT id FROM ticket ORDER BY rowid DESC LIMIT 1").fetchone()[0]
    triage = assist.triager(connection, languages=("de", "en", "fr")).triage_ticket(connection, ticket_id)
    found = assist.suggestions(connection, ticket_id)
    assert found.articles and found.macros
    assist.find_duplicates(connection, ticket_id)
    assist.semantic_search(connection, "money taken twice")
    long = connection.execute(
        "SELECT ticket_id FROM message GROUP BY ticket_id HAVING count(*) >= 4 LIMIT 1"
    ).fetchone()[0]
    assert assist.summarize(connection, long) is not None
    assist.trends(connection, now=parse_instant("2026-11-25T12:00:00Z"))
    # phase 2: triage written as ticket fields, and ~"…" in the query language
    from supportdesk.assist import arrival, query
    from supportdesk.domain.context import SYSTEM
    from supportdesk.store import reads
    chosen = assist.triager(connection, languages=("de", "en", "fr"))
    assert arrival.triage_new(workspace, [ticket_id], actor=SYSTEM, chosen=chosen)
    assert connection.execute("SELECT sentiment FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    query.register()
    with workspace.reading() as reading:
        assert reads.queue_page(reading, reads.plan_queue('~"money taken twice" -status:closed')).rows is not None
    assist.forget_tickets(connection, [ticket_id])
    print("triage", triage.fields())
print("attempts", len(attempts))
"""


def test_everything_runs_with_the_network_blocked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "HF_HOME": str(home / ".cache" / "huggingface"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "NO_PROXY": "*",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "attempts 0" in result.stdout
    assert "'language': 'en'" in result.stdout
    # nothing was fetched into a cache either
    assert not any(home.rglob("*")), sorted(str(p) for p in home.rglob("*"))
